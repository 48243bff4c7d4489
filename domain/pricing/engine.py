"""The one place a price is computed: catalog, cart and checkout all ask this engine.

A unit costs its SKU's list price, or less while a limited-time discount covers the SKU (`discounted`, the one
rule). A line bought through a flash sale costs the lower of the sale price and that (`line_price`): a line gets at
most one of {flash sale, limited-time discount}. Order-level promotions (spend-and-save, one coupon) apply after the
lines are priced, so the price a customer sees is the same number everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.catalog.models import Sku
from domain.pricing.discounts import active_discounts
from domain.pricing.models import DiscountItem, DiscountKind, FlashSaleItem


@dataclass(frozen=True)
class Discount:
    source: str
    """What gave it, e.g. "coupon:12" or "spend-and-save:3"."""
    amount: int


@dataclass(frozen=True)
class PricedLine:
    sku: Sku
    quantity: int
    unit_price: int
    discount: int = 0
    offer: DiscountItem | None = None
    """The limited-time discount item that set `unit_price`, if it is below the list price because of one."""
    flash: FlashSaleItem | None = None
    """The flash sale item that set `unit_price` (then `offer` is None: a line gets at most one of the two)."""

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]
    discounts: list[Discount] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_total


def discounted(list_price: int, offer: DiscountItem | None) -> int:
    """The rule: the lower of the list price and the offer's price, floored to the fen, never below 0."""
    if offer is None:
        return max(list_price, 0)
    if offer.kind == DiscountKind.PERCENT:
        price = list_price * (100 - offer.value) // 100
    else:
        price = offer.value
    return max(min(price, list_price), 0)


def unit_price(sku: Sku, offers: Mapping[int, DiscountItem]) -> int:
    """What one unit of the SKU costs, before order-level promotions, given the live offers (`active_discounts`)."""
    return discounted(sku.price, offers.get(sku.id))


def line_price(sku: Sku, quantity: int, offer: DiscountItem | None, flash: FlashSaleItem | None = None) -> PricedLine:
    """One line: the list price, the discounted price or the flash sale price, whichever is lowest. Only the one
    that set the price is kept as the line's source."""
    price = discounted(sku.price, offer)
    if flash is not None and max(flash.price, 0) < price:
        return PricedLine(sku=sku, quantity=quantity, unit_price=max(flash.price, 0), flash=flash)
    return PricedLine(sku=sku, quantity=quantity, unit_price=price,
                      offer=offer if offer is not None and price < sku.price else None)


async def quote(
    lines: Sequence[tuple[Sku, int]],
    at: datetime,
    customer_id: int | None = None,
    flash: Mapping[int, FlashSaleItem] | None = None,
) -> Quote:
    """Price the lines as of `at` (one query for the live discounts, however many lines). `flash` maps SKU ids to
    the flash sale items they are bought through (flash sale orders only)."""
    offers = await active_discounts([sku.id for sku, _ in lines], at)
    flash = flash or {}
    return Quote(lines=[line_price(sku, quantity, offers.get(sku.id), flash.get(sku.id)) for sku, quantity in lines])
