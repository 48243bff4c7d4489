"""Stored value: the live packages, recharging, my wallet and its movements, and staff's packages."""

from __future__ import annotations

from typing import Any

from domain.balances.models import BalanceEntry
from domain.orders import lifecycle
from domain.orders.payment import Placed
from domain.pagination import Page
from domain.wallet import account, packages, recharge, recharge_refund
from domain.wallet.models import RechargePackage
from resolvers.context import Context
from resolvers.orders import RefundResult
from resolvers.outcome import Outcome, attempt, decode_id, given, now
from resolvers.permissions import customer_id_of


async def wallet_of(ctx: Context, customer_id: int) -> account.Wallet | None:
    return await account.wallet_of(customer_id) if ctx.customer_id == customer_id else None


async def wallet_ledger(ctx: Context, customer_id: int, first: int | None,
                        after: str | None) -> Page[BalanceEntry] | None:
    return await account.ledger(customer_id, first, after) if ctx.customer_id == customer_id else None


async def live_packages() -> list[RechargePackage]:
    return await packages.live(now())


async def staff_packages(first: int | None, after: str | None) -> Page[RechargePackage]:
    return await packages.staff_packages(first, after)


async def wallet_recharge(ctx: Context, data: Any) -> Outcome[Placed]:
    async def run() -> Placed:
        deps = ctx.services.orders
        package_id = decode_id(data.package_id, "RechargePackage", "packageId")
        return await recharge.recharge(deps, customer_id_of(ctx), package_id, given(data.idempotency_key),
                                       deps.clock())

    return await attempt(run())


async def refund_recharge(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        deps = ctx.services.orders
        order_id = decode_id(data.order_id, "Order", "orderId")
        refund = await recharge_refund.refund_recharge(deps, order_id, data.reason, ctx.actor, deps.clock())
        return RefundResult(await lifecycle.any_order(refund.order_id), refund)

    return await attempt(run())


def _draft(data: Any) -> packages.PackageDraft:
    return packages.PackageDraft(name=data.name, price=data.price, bonus=data.bonus, starts_at=data.starts_at,
                                 ends_at=given(data.ends_at), per_customer_limit=given(data.per_customer_limit))


async def package_create(data: Any) -> Outcome[RechargePackage]:
    return await attempt(packages.create(_draft(data)))


async def package_update(data: Any) -> Outcome[RechargePackage]:
    async def run() -> RechargePackage:
        return await packages.update(decode_id(data.id, "RechargePackage"), _draft(data))

    return await attempt(run())


async def package_end(data: Any) -> Outcome[RechargePackage]:
    async def run() -> RechargePackage:
        return await packages.end(decode_id(data.id, "RechargePackage"), now())

    return await attempt(run())
