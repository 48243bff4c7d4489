"""Recharging (充值): `walletRecharge` places a RECHARGE order for a package and starts its WeChat Pay payment; when
the money arrives (`RechargePolicy.take_payment`, in the payment's transaction) the package's price is credited to
the principal and its bonus to the bonus, once, however often WeChat Pay says so.

A RECHARGE order holds no stock, ships nothing, takes no promotions, earns no commission and no points; the customer
cannot ask for its refund (refunding a recharge, `rechargeRefund`, is still to come: issue #11 item 4)."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.errors import DomainError, ErrorCode, Invalid
from domain.identity.models import Customer
from domain.orders import limits
from domain.orders.checkout import earlier_tap
from domain.orders.deps import OrderDeps
from domain.orders.kinds import CannotRevive, KindPolicy
from domain.orders.models import Order, OrderKind, OrderStatus
from domain.orders.numbers import order_number
from domain.orders.payment import NewOrder, Placed, cancel_unpayable, first_payment
from domain.wallet import packages
from domain.wallet.account import BONUS, PRINCIPAL, owner
from domain.wallet.models import Recharge, RechargePackage

ATTEMPTS = 3
COUNTED = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.REFUNDED)
"""A package's per-customer limit counts every recharge of it not cancelled (unpaid ones included, so a customer
cannot open more than the limit and pay them all)."""


class RechargePolicy(KindPolicy):
    kind = OrderKind.RECHARGE
    takes_order_promotions = False
    takes_wallet = False

    async def take_payment(self, deps: OrderDeps, order: Order) -> bool:
        await credit(order, deps.clock())
        return True

    async def retake_units(self, order: Order) -> None:
        """A payment for a recharge cancelled meanwhile revives it only if its package could still be bought: on sale,
        and within its per-customer limit (a newer recharge may have taken the place); otherwise the money goes
        back."""
        recharge = await Recharge.get(order_id=order.id)
        # the customer's row, as a new recharge's limit is counted under it: two revivals at once count one by one
        await Customer.filter(id=recharge.customer_id).select_for_update(no_key=True).first()
        package = await RechargePackage.get(id=recharge.package_id)
        now = datetime.now(UTC)
        if package.ended_at is not None or package.starts_at > now or (
                package.ends_at is not None and package.ends_at <= now):
            raise CannotRevive(f"recharge package {package.id} is not on sale")
        if package.per_customer_limit is not None and await Recharge.filter(
                customer_id=recharge.customer_id, package_id=package.id, order__status__in=COUNTED).exclude(
                id=recharge.id).count() >= package.per_customer_limit:
            raise CannotRevive(f"recharge package {package.id}'s per-customer limit is reached")

    async def confirm_sale(self, deps: OrderDeps, order: Order) -> None:
        """Stored value is no sale: no commission, no points."""

    async def after_paid(self, deps: OrderDeps, order: Order, sold: list[int]) -> None:
        """No units to forget."""

    async def after_released(self, deps: OrderDeps, order: Order) -> None:
        """No units to give back."""

    async def check_fulfilment(self, order: Order) -> None:
        raise DomainError(ErrorCode.INVALID_STATE, "a recharge has nothing to ship or hand over", ["orderId"])

    async def check_refund(self, order: Order) -> None:
        raise DomainError(ErrorCode.INVALID_STATE, "a recharge is not refunded on request", ["orderId"])


async def credit(order: Order, at: datetime) -> None:
    """Inside the payment's transaction: the recharge's principal and bonus, once."""
    recharge = await Recharge.get(order_id=order.id)
    account = owner(recharge.customer_id)
    # the bonus row before the principal's: the wallet's lock order (`account.BUCKETS`), or a spend that locked the
    # bonus first waits for this credit in a circle
    if recharge.bonus:
        await balances.move(account, BONUS, recharge.bonus, f"wallet:recharge:{order.id}:bonus",
                            note=f"recharge {order.number} bonus")
    credited = await balances.move(account, PRINCIPAL, recharge.principal, f"wallet:recharge:{order.id}:principal",
                                   note=f"recharge {order.number}")
    if credited:
        await Recharge.filter(id=recharge.id).update(credited_at=at)


async def recharge(deps: OrderDeps, customer_id: int, package_id: int, idempotency_key: str | None,
                   at: datetime) -> Placed:
    """A RECHARGE order for the package and its payment. NOT_FOUND, NOT_STARTED or ENDED for the package,
    LIMIT_EXCEEDED past its per-customer limit or the unpaid-order cap; a repeated key answers the same order."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 64:
        raise Invalid("idempotencyKey is 1 to 64 characters", ["idempotencyKey"])
    package = await packages.buyable(package_id, at)
    for _ in range(ATTEMPTS):
        try:
            order, new = await _write(deps, customer_id, package, idempotency_key, at)
        except IntegrityError:
            if idempotency_key is not None:
                existing = await Order.get_or_none(customer_id=customer_id, idempotency_key=idempotency_key)
                if existing is not None:
                    return await _replay(deps, existing)
            continue  # an order number drawn twice: draw another
        if new is None:
            return await _replay(deps, order)
        try:
            return await first_payment(deps, order, new)
        except DomainError:
            await cancel_unpayable(deps, order)
            raise
    raise RuntimeError(f"no recharge order written in {ATTEMPTS} tries")


async def _replay(deps: OrderDeps, order: Order) -> Placed:
    if order.kind is not OrderKind.RECHARGE:
        raise DomainError(ErrorCode.DUPLICATE, "this idempotencyKey was used for another order", ["idempotencyKey"])
    return await first_payment(deps, order)


async def _write(deps: OrderDeps, customer_id: int, package: RechargePackage, idempotency_key: str | None,
                 at: datetime) -> tuple[Order, NewOrder | None]:
    async with in_transaction():
        openid, existing = await earlier_tap(customer_id, idempotency_key)  # the customer's row locked
        if existing is not None:
            return existing, None
        if package.per_customer_limit is not None:
            bought = await Recharge.filter(customer_id=customer_id, package_id=package.id,
                                           order__status__in=COUNTED).count()
            if bought >= package.per_customer_limit:
                raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {package.per_customer_limit} of this package "
                                  "per customer", ["packageId"])
        await limits.check_pending(customer_id, deps.max_pending_orders)
        order = await Order.create(
            number=order_number(at, prefix="R"), customer_id=customer_id, kind=OrderKind.RECHARGE,
            subtotal=package.price, payable=package.price, delivery={}, idempotency_key=idempotency_key,
            expires_at=at + deps.policy(OrderKind.RECHARGE).payment_window(deps),
        )
        await Recharge.create(order_id=order.id, customer_id=customer_id, package_id=package.id,
                              principal=package.price, bonus=package.bonus, created_at=at)
    return order, NewOrder(openid, [package.name])
