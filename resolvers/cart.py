"""The customer's cart: decode IDs, call the cart domain, and price what it holds with the pricing engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.cart import service
from domain.cart.models import CartItem
from domain.catalog.models import Sku
from domain.errors import DomainError, DomainErrors, NotFound
from domain.pricing import promotions
from domain.pricing.engine import Discount, PricedLine, Quote, Tier, quote
from domain.pricing.promotions import CouponOption
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id
from resolvers.permissions import customer_id_of


@dataclass(frozen=True)
class CartView:
    """The cart as the customer sees it now: live prices, and the lines that can no longer be bought."""

    lines: list[PricedLine]
    unavailable_lines: list[PricedLine]
    """Priced at what they would cost, but left out of the totals."""
    subtotal: int
    discounts: list[Discount]
    """Spend-and-save, spread over `lines`; coupons are chosen at checkout (see `cart_coupons`)."""
    total: int
    customer_id: int = 0
    at: datetime | None = None
    next_tier: Tier | None = None

    @property
    def quantity(self) -> int:
        """Units in the buyable lines (the cart badge)."""
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class SpendMore:
    """The next spend-and-save tier: spend `missing` more fen to save `amount`."""

    threshold: int
    amount: int
    missing: int




async def _priced(pairs: Sequence[tuple[CartItem, Sku]], at: datetime, customer_id: int) -> Quote:
    return await quote([(sku, item.quantity) for item, sku in pairs], at, customer_id)


async def _view(customer_id: int) -> CartView:
    contents = await service.cart_contents(customer_id)
    at = datetime.now(UTC)
    pricing = await promotions.for_cart(await _priced(contents.lines, at, customer_id), at)
    buyable = pricing.quote
    return CartView(
        lines=buyable.lines,
        unavailable_lines=(await _priced(contents.unavailable, at, customer_id)).lines,
        subtotal=buyable.subtotal,
        discounts=buyable.discounts,
        total=buyable.total,
        customer_id=customer_id,
        at=at,
        next_tier=pricing.next_tier,
    )


def spend_more(view: CartView) -> SpendMore | None:
    tier = view.next_tier
    if tier is None:
        return None
    return SpendMore(tier.threshold, tier.amount, tier.threshold - view.subtotal)


async def cart_coupons(view: CartView) -> list[CouponOption]:
    """The customer's coupons checkout would accept for the cart as it is, biggest saving first."""
    at = view.at or datetime.now(UTC)
    return await promotions.coupon_options(Quote(view.lines), view.customer_id, at)


async def cart(ctx: Context) -> CartView:
    return await _view(customer_id_of(ctx))


async def cart_add_item(ctx: Context, data: Any) -> Outcome[CartView]:
    async def run() -> CartView:
        customer_id = customer_id_of(ctx)
        await service.add_item(customer_id, decode_id(data.sku_id, "Sku", "skuId"), data.quantity)
        return await _view(customer_id)

    return await attempt(run())


async def cart_update_item(ctx: Context, data: Any) -> Outcome[CartView]:
    async def run() -> CartView:
        customer_id = customer_id_of(ctx)
        await service.update_item(customer_id, decode_id(data.sku_id, "Sku", "skuId"), data.quantity)
        return await _view(customer_id)

    return await attempt(run())


def _sku_ids(global_ids: Sequence[str]) -> list[int]:
    ids: list[int] = []
    errors: list[DomainError] = []
    for index, global_id in enumerate(global_ids):
        try:
            ids.append(decode_id(global_id, "Sku", "skuIds"))
        except DomainError:
            errors.append(NotFound("SKU", ["skuIds", str(index)]))
    if errors:
        raise DomainErrors(errors)
    return ids


async def cart_remove_items(ctx: Context, data: Any) -> Outcome[CartView]:
    async def run() -> CartView:
        customer_id = customer_id_of(ctx)
        await service.remove_items(customer_id, _sku_ids(data.sku_ids))
        return await _view(customer_id)

    return await attempt(run())
