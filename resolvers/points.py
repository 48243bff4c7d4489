"""Points: the customer's balance and ledger, daily sign-in, coupons bought with points, and the owner's rules."""

from __future__ import annotations

from typing import Any

from domain.balances.models import BalanceEntry
from domain.pagination import Page
from domain.points import account, redeem, rules, sign_in
from domain.points.models import SignIn
from domain.pricing.models import CustomerCoupon
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given
from resolvers.permissions import customer_id_of


async def points(ctx: Context, customer_id: int) -> int | None:
    return await account.points_of(customer_id) if ctx.customer_id == customer_id else None


async def points_ledger(ctx: Context, customer_id: int, first: int | None,
                        after: str | None) -> Page[BalanceEntry] | None:
    return await account.ledger(customer_id, first, after) if ctx.customer_id == customer_id else None


async def signed_in_today(ctx: Context, customer_id: int) -> SignIn | None:
    if ctx.customer_id != customer_id:
        return None
    return await sign_in.today_of(customer_id, ctx.services.orders.clock())


async def sign_in_today(ctx: Context) -> Outcome[SignIn]:
    return await attempt(sign_in.sign_in(customer_id_of(ctx), ctx.services.orders.clock()))


async def points_redeem(ctx: Context, data: Any) -> Outcome[CustomerCoupon]:
    async def run() -> CustomerCoupon:
        coupon_id = decode_id(data.coupon_id, "Coupon", "couponId")
        return await redeem.redeem(customer_id_of(ctx), coupon_id, ctx.services.orders.clock())

    return await attempt(run())


async def points_settings() -> rules.Rules:
    return await rules.current()


async def points_settings_update(data: Any) -> Outcome[rules.Rules]:
    async def run() -> rules.Rules:
        changes: dict[str, Any] = {}
        for name in ("points_per_yuan", "sign_in_points", "streak_days", "streak_bonus"):
            value = given(getattr(data, name))
            if value is not None:
                changes[name] = value
        redeemable = given(data.redeemable)
        if redeemable is not None:
            changes["redeemable"] = tuple(
                rules.Redeemable(decode_id(item.coupon_id, "Coupon", "couponId"), item.points) for item in redeemable)
        return await rules.update(changes)

    return await attempt(run())
