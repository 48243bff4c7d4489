"""The customer's cart: one line per SKU, checked against the shop and its stock whenever it changes.

Lines are not reservations: stock is checked when a line is added or set, and again by checkout. A line whose SKU
was deleted or whose product was unpublished (or deleted) stays in the table, so the customer can see what is gone
(已失效) and remove it; `cart_contents` reports those lines apart from the ones that can be bought. A live line whose
SKU has since sold out stays among the buyable lines: `available(sku)` tells the shopper, checkout refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from domain.cart.models import CartItem
from domain.catalog import queries
from domain.catalog.models import Sku
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.inventory.holds import available

MAX_LINE_QUANTITY = 99
MAX_LINES = 50
"""Distinct lines per cart, unavailable ones included: the customer removes those to make room."""
MAX_REMOVE = 100
ADD_ATTEMPTS = 3


@dataclass(frozen=True)
class CartContents:
    lines: list[tuple[CartItem, Sku]]
    """Lines that can be bought: live SKUs of live, published products, in the order they were added."""
    unavailable: list[tuple[CartItem, Sku]]
    """Lines whose SKU was deleted or whose product is no longer on sale (shown as 已失效)."""


def _check_quantity(quantity: int) -> None:
    if quantity < 1:
        raise Invalid("quantity must be at least 1", ["quantity"])
    if quantity > MAX_LINE_QUANTITY:
        raise _line_limit()


def _line_limit() -> DomainError:
    return DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_LINE_QUANTITY} per line", ["quantity"])


def _check_stock(sku: Sku, wanted: int, in_cart: int = 0) -> None:
    """`wanted` units of the SKU in one line: within the per-line limit and what can be bought right now."""
    free = available(sku)
    if free == 0:
        raise DomainError(ErrorCode.SOLD_OUT, "sold out", ["quantity"])
    if wanted > free:
        already = f"; {in_cart} already in your cart" if in_cart else ""
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"only {free} available{already}", ["quantity"])
    if wanted > MAX_LINE_QUANTITY:
        raise _line_limit()


async def _shoppable_sku(sku_id: int) -> Sku:
    sku = (await queries.skus_by_id([sku_id], shop_only=True)).get(sku_id)
    if sku is None:
        raise NotFound("SKU", ["skuId"])
    return sku


async def add_item(customer_id: int, sku_id: int, quantity: int) -> CartItem:
    """Put `quantity` more units of the SKU in the cart: a new line, or onto the line it already has.

    Race-safe without locking the line: the increment is one conditional UPDATE (never past the limit), and a
    new line is an INSERT that the unique (customer, sku) key lets only one concurrent add win; the others
    then find the line and add onto it.
    """
    _check_quantity(quantity)
    sku = await _shoppable_sku(sku_id)
    _check_stock(sku, quantity)
    ceiling = min(available(sku), MAX_LINE_QUANTITY)
    mine = CartItem.filter(customer_id=customer_id, sku_id=sku.id)
    for _ in range(ADD_ATTEMPTS):
        room = mine.filter(quantity__lte=ceiling - quantity)
        if await room.update(quantity=F("quantity") + quantity, updated_at=now()):
            return await mine.get()
        line = await mine.first()
        if line is not None:
            _check_stock(sku, line.quantity + quantity, in_cart=line.quantity)
            continue  # the line appeared or changed since the update: try the update again
        try:
            return await _new_line(customer_id, sku.id, quantity)
        except IntegrityError:
            continue  # a concurrent add created the line first
    raise DomainError(ErrorCode.INVALID_STATE, "the cart changed while adding; try again", ["skuId"])


async def _new_line(customer_id: int, sku_id: int, quantity: int) -> CartItem:
    async with in_transaction():
        # The customer row serialises new lines of one cart, so concurrent adds of different SKUs
        # cannot both take the last free line. (SQLite transactions are serialised anyway.)
        await Customer.filter(id=customer_id).select_for_update(no_key=True).first()
        if await CartItem.filter(customer_id=customer_id).count() >= MAX_LINES:
            message = f"a cart holds at most {MAX_LINES} different items; remove some first"
            raise DomainError(ErrorCode.LIMIT_EXCEEDED, message, ["skuId"])
        return await CartItem.create(customer_id=customer_id, sku_id=sku_id, quantity=quantity)


async def update_item(customer_id: int, sku_id: int, quantity: int) -> CartItem:
    """Set the quantity of a line already in the cart."""
    _check_quantity(quantity)
    sku = await _shoppable_sku(sku_id)
    _check_stock(sku, quantity)
    mine = CartItem.filter(customer_id=customer_id, sku_id=sku.id)
    if not await mine.update(quantity=quantity, updated_at=now()):
        raise NotFound("cart line", ["skuId"])
    return await mine.get()


async def remove_items(customer_id: int, sku_ids: Sequence[int]) -> int:
    """Drop these SKUs' lines (unavailable ones too); SKUs not in the cart are ignored. Returns lines removed."""
    if len(sku_ids) > MAX_REMOVE:
        raise Invalid(f"at most {MAX_REMOVE} SKUs at once", ["skuIds"])
    return await clear_lines(customer_id, sku_ids)


async def clear_lines(customer_id: int, sku_ids: Sequence[int]) -> int:
    """Checkout's call once the order is placed: the ordered SKUs leave the cart (in the caller's transaction)."""
    if not sku_ids:
        return 0
    return await CartItem.filter(customer_id=customer_id, sku_id__in=list(set(sku_ids))).delete()


async def cart_contents(customer_id: int) -> CartContents:
    """The cart split into buyable and unavailable lines (two queries, however many lines)."""
    items = await CartItem.filter(customer_id=customer_id).select_related("sku")
    shoppable = await queries.skus_by_id([item.sku_id for item in items], shop_only=True)
    lines: list[tuple[CartItem, Sku]] = []
    unavailable: list[tuple[CartItem, Sku]] = []
    for item in items:
        sku = shoppable.get(item.sku_id)
        if sku is None:
            unavailable.append((item, item.sku))
        else:
            lines.append((item, sku))
    return CartContents(lines=lines, unavailable=unavailable)


async def cart_lines(customer_id: int) -> list[tuple[CartItem, Sku]]:
    """The lines that can be bought (what checkout's `fromCart` orders)."""
    return (await cart_contents(customer_id)).lines
