"""Order-level promotions around the engine: load the running spend-and-saves and the customer's coupon, apply them
with `engine.apply_order_promotions`, and keep a record of what an order got."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.errors import DomainError, ErrorCode
from domain.pricing import coupons, engine, spend_and_save
from domain.pricing.engine import Quote, Tier
from domain.pricing.models import CustomerCoupon, OrderPromotion


async def with_promotions(quote: Quote, at: datetime, customer_id: int | None = None,
                          coupon_code: str | None = None) -> Quote:
    """The quote with the best spend-and-save tier reached and, given a code, the customer's coupon.
    COUPON_INVALID if the coupon cannot be used on these lines."""
    tiers = await spend_and_save.running_tiers(at)
    coupon = None
    if coupon_code is not None and coupon_code.strip():  # an empty code: no coupon
        if customer_id is None:
            raise DomainError(ErrorCode.COUPON_INVALID, "no such coupon", ["couponCode"])
        copy = await coupons.usable(customer_id, coupon_code, at)
        covered = await coupons.coverage([copy.coupon], [line.sku for line in quote.lines])
        coupon = coupons.terms(copy, covered[copy.coupon.id])
    return engine.apply_order_promotions(quote, tiers, coupon)


@dataclass(frozen=True)
class CartPricing:
    quote: Quote
    next_tier: Tier | None
    """The next spend-and-save tier the cart could reach (凑单: spend `threshold − subtotal` more)."""


async def for_cart(quote: Quote, at: datetime) -> CartPricing:
    """The cart gets spend-and-save live, no coupon (coupons are chosen at checkout)."""
    tiers = await spend_and_save.running_tiers(at)
    return CartPricing(engine.apply_order_promotions(quote, tiers), engine.next_tier(tiers, quote.total))


@dataclass(frozen=True)
class CouponOption:
    copy: CustomerCoupon
    saving: int


async def coupon_options(quote: Quote, customer_id: int, at: datetime) -> list[CouponOption]:
    """The customer's coupons that checkout would accept for these lines (priced with spend-and-save already) and
    what each would save, the biggest saving first."""
    if not quote.lines:
        return []
    copies = await coupons.usable_copies(customer_id, at)
    covered = await coupons.coverage([copy.coupon for copy in copies], [line.sku for line in quote.lines])
    options = []
    for copy in copies:
        try:
            saving, _ = engine.coupon_saving(coupons.terms(copy, covered[copy.coupon.id]), quote.lines)
        except DomainError:
            continue
        options.append(CouponOption(copy, saving))
    return sorted(options, key=lambda o: (-o.saving, o.copy.valid_until, o.copy.id))


async def record(order_id: int, quote: Quote, at: datetime) -> None:
    """Checkout's call, in the order's transaction: the coupon becomes USED by the order (COUPON_INVALID if another
    checkout got there first), and each promotion is written down with its amount."""
    if quote.customer_coupon_id is not None:
        await coupons.use(quote.customer_coupon_id, order_id, at)
    rows = [
        OrderPromotion(order_id=order_id, source=d.source, amount=d.amount,
                       customer_coupon_id=quote.customer_coupon_id if d.source.startswith("coupon:") else None)
        for d in quote.discounts
    ]
    if rows:
        await OrderPromotion.bulk_create(rows)


async def promotions_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderPromotion]]:
    grouped: dict[int, list[OrderPromotion]] = {}
    for row in await OrderPromotion.filter(order_id__in=list(order_ids)).order_by("id"):
        grouped.setdefault(row.order_id, []).append(row)
    return grouped
