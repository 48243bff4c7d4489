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
from domain.pricing.engine import Discount, PricedLine, Quote, quote
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id
from resolvers.permissions import unauthenticated


@dataclass(frozen=True)
class CartView:
    """The cart as the customer sees it now: live prices, and the lines that can no longer be bought."""

    lines: list[PricedLine]
    unavailable_lines: list[PricedLine]
    """Priced at what they would cost, but left out of the totals."""
    subtotal: int
    discounts: list[Discount]
    total: int

    @property
    def quantity(self) -> int:
        """Units in the buyable lines (the cart badge)."""
        return sum(line.quantity for line in self.lines)


def _customer_id(ctx: Context) -> int:
    customer_id = ctx.customer_id
    if customer_id is None:  # IsCustomer guards every cart field; this keeps the type honest
        raise unauthenticated()
    return customer_id


async def _priced(pairs: Sequence[tuple[CartItem, Sku]], at: datetime, customer_id: int) -> Quote:
    return await quote([(sku, item.quantity) for item, sku in pairs], at, customer_id)


async def _view(customer_id: int) -> CartView:
    contents = await service.cart_contents(customer_id)
    at = datetime.now(UTC)
    buyable = await _priced(contents.lines, at, customer_id)
    return CartView(
        lines=buyable.lines,
        unavailable_lines=(await _priced(contents.unavailable, at, customer_id)).lines,
        subtotal=buyable.subtotal,
        discounts=buyable.discounts,
        total=buyable.total,
    )


async def cart(ctx: Context) -> CartView:
    return await _view(_customer_id(ctx))


async def cart_add_item(ctx: Context, data: Any) -> Outcome[CartView]:
    async def run() -> CartView:
        customer_id = _customer_id(ctx)
        await service.add_item(customer_id, decode_id(data.sku_id, "Sku", "skuId"), data.quantity)
        return await _view(customer_id)

    return await attempt(run())


async def cart_update_item(ctx: Context, data: Any) -> Outcome[CartView]:
    async def run() -> CartView:
        customer_id = _customer_id(ctx)
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
        customer_id = _customer_id(ctx)
        await service.remove_items(customer_id, _sku_ids(data.sku_ids))
        return await _view(customer_id)

    return await attempt(run())
