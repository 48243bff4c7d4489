"""Stored value (储值): `walletRechargePackages`, `walletRecharge`, `me.wallet`, and staff's
`rechargePackageCreate/Update/End` and `staffRechargePackages`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.permission import BasePermission
from strawberry.types import Info

from domain.balances.models import BalanceEntry
from domain.wallet import account
from domain.wallet import models as wallet_models
from resolvers import wallet as resolve
from resolvers.permissions import CanManageGoods, CanManageMoney, IsCustomer, IsStaff
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload
from schema.orders import Order, PaymentRequest, RefundPayload, placed_payload, refund_payload


@strawberry.type(description="Pay `price`, receive it as principal plus `bonus` as bonus (充值送)")
class RechargePackage(relay.Node):
    id: relay.NodeID[int]
    name: str
    price: Money = money_field("price")
    bonus: Money = money_field("bonus")
    starts_at: datetime
    ends_at: datetime | None
    per_customer_limit: int | None = strawberry.field(description="Recharges of it per customer (null: any)")
    ended_at: datetime | None = strawberry.field(description="Ended early by staff")
    is_type_of = model_node(wallet_models.RechargePackage)


@strawberry.type
class RechargePackageConnection(Connection[RechargePackage]):
    pass


@strawberry.type(description="One movement of my wallet: `bucket` PRINCIPAL (what I paid in) or BONUS (what the "
                 "shop gave)")
class WalletEntry:
    bucket: str
    amount: Money
    note: str
    created_at: datetime


def wallet_entry(row: BalanceEntry) -> WalletEntry:
    return WalletEntry(bucket=row.bucket.upper(), amount=Money(amount=int(row.amount)), note=row.note,
                       created_at=row.created_at)


@strawberry.type
class WalletEntryConnection(Connection[WalletEntry]):
    pass


@strawberry.type(description="My stored value: principal (paid in, refundable) and bonus (given, never paid out)")
class Wallet:
    _customer_id: strawberry.Private[int]
    _held: strawberry.Private[account.Wallet]

    @strawberry.field(description="principal + bonus")
    def balance(self) -> Money:
        return Money(amount=self._held.balance)

    @strawberry.field
    def principal(self) -> Money:
        return Money(amount=self._held.principal)

    @strawberry.field
    def bonus(self) -> Money:
        return Money(amount=self._held.bonus)

    @strawberry.field(description="The same as bonus")
    def bonus_balance(self) -> Money:
        return Money(amount=self._held.bonus)

    @strawberry.field(description="Newest first")
    async def ledger(self, info: Info, first: int | None = 20, after: str | None = None) -> WalletEntryConnection:
        page = await resolve.wallet_ledger(info.context, self._customer_id, first, after)
        assert page is not None  # a Wallet is only built for its owner
        return connection(page.map(wallet_entry), WalletEntryConnection)


async def wallet_view(info: Info, customer_id: int) -> Wallet | None:
    held = await resolve.wallet_of(info.context, customer_id)
    return None if held is None else Wallet(_customer_id=customer_id, _held=held)


@strawberry.input
class WalletRechargeInput:
    package_id: strawberry.ID
    idempotency_key: str | None = strawberry.UNSET


@strawberry.type
class WalletRechargePayload:
    order: Order | None
    payment: PaymentRequest | None = strawberry.field(description="The wx.requestPayment fields")
    errors: list[UserError]


@strawberry.input
class RechargePackageInput:
    name: str
    price: int
    bonus: int
    starts_at: datetime
    ends_at: datetime | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET


@strawberry.input
class RechargePackageUpdateInput(RechargePackageInput):
    id: strawberry.ID


@strawberry.input
class RechargePackageEndInput:
    id: strawberry.ID


@strawberry.input
class RechargeRefundInput:
    order_id: strawberry.ID = strawberry.field(description="The RECHARGE order")
    reason: str = ""


@strawberry.type
class RechargePackagePayload:
    package: RechargePackage | None
    errors: list[UserError]


@strawberry.type
class WalletQuery:
    @strawberry.field(description="Packages on sale now, cheapest first")
    async def wallet_recharge_packages(self) -> list[RechargePackage]:
        return await resolve.live_packages()  # type: ignore[return-value]  # models, resolved by strawberry

    @strawberry.field(permission_classes=[IsStaff], description="Every package, newest first")
    async def staff_recharge_packages(self, first: int | None = 20,
                                      after: str | None = None) -> RechargePackageConnection:
        return connection(await resolve.staff_packages(first, after), RechargePackageConnection)


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class WalletMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="A RECHARGE order and its WeChat Pay payment; "
                         "paid, the price goes to my principal and the bonus to my bonus. NOT_FOUND, NOT_STARTED, "
                         "ENDED, LIMIT_EXCEEDED (the package's per-customer limit or the unpaid-order cap)")
    async def wallet_recharge(self, info: Info, input: WalletRechargeInput) -> WalletRechargePayload:
        return placed_payload(WalletRechargePayload, await resolve.wallet_recharge(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Every bad field is INVALID with its path")
    async def recharge_package_create(self, input: RechargePackageInput) -> RechargePackagePayload:
        return payload(RechargePackagePayload, "package", await resolve.package_create(input))

    @strawberry.mutation(permission_classes=goods, description="New terms for recharges from now on; an ended "
                         "package is INVALID_STATE")
    async def recharge_package_update(self, input: RechargePackageUpdateInput) -> RechargePackagePayload:
        return payload(RechargePackagePayload, "package", await resolve.package_update(input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="Refunds a paid recharge once: the "
                         "principal the wallet still holds of it goes back through WeChat Pay, its bonus leaves the "
                         "wallet in the same proportion, and bonus already spent is paid for out of that principal "
                         "(bonus never leaves as cash: domain/wallet/recharge_refund.py). NOT_FOUND for another kind "
                         "of order; INVALID_STATE when not paid, refunded already, or nothing is left to give back")
    async def recharge_refund(self, info: Info, input: RechargeRefundInput) -> RefundPayload:
        return refund_payload(await resolve.refund_recharge(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Off sale from now (again: no change)")
    async def recharge_package_end(self, input: RechargePackageEndInput) -> RechargePackagePayload:
        return payload(RechargePackagePayload, "package", await resolve.package_end(input))
