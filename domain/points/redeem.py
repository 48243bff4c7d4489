"""Spending points on a coupon (`pointsRedeem`): the coupon's points price (the rules' `redeemable`) leaves the
balance in the transaction that claims the coupon, so either both happen or neither (the coupon's own window and
limits apply)."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.balances.service import Insufficient
from domain.errors import DomainError, ErrorCode, NotFound
from domain.points import rules as points_rules
from domain.points.account import POINTS, owner
from domain.pricing import coupons
from domain.pricing.models import CustomerCoupon


async def redeem(customer_id: int, coupon_id: int, at: datetime) -> CustomerCoupon:
    """NOT_FOUND for a coupon points do not buy; INSUFFICIENT_BALANCE when the points are short; the coupon's own
    NOT_STARTED, ENDED, SOLD_OUT or LIMIT_EXCEEDED otherwise. Nothing changes on any of them."""
    price = (await points_rules.current()).price_of(coupon_id)
    if price is None:
        raise NotFound("coupon for points", ["couponId"])
    try:
        async with in_transaction():
            copy = await coupons.claim(customer_id, coupon_id, at)
            await balances.move(owner(customer_id), POINTS, -price, f"points:redeem:{copy.id}",
                                note=f"coupon {coupon_id}")
    except Insufficient:
        raise DomainError(ErrorCode.INSUFFICIENT_BALANCE, f"this coupon costs {price} points",
                          ["couponId"]) from None
    return copy
