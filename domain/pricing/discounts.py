"""Limited-time discounts: staff set them up, the engine asks which one prices a SKU, checkout enforces the limit.

An SKU is in at most one live discount at any moment: two discounts that are not ended and whose windows overlap
may not share an SKU (refused as DUPLICATE). A discount ended by staff (`ended_at`) no longer prices anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from domain.catalog.models import Sku
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.orders.models import OrderLine, OrderStatus
from domain.pagination import Page
from domain.pricing.models import Discount, DiscountItem, DiscountKind
from domain.pricing.windows import (
    Window,
    changeable,
    clashing_skus,
    newest_first,
    next_change,
    set_up_errors,
    sku_item_errors,
    utc,
    window,
)
from domain.remembered import changed, remembered_each

DISCOUNT_SOURCE = "DISCOUNT"
"""The price source kind (`engine.PriceSource.kind`, `OrderLine.price_source`) of a limited-time discount."""

MAX_ITEMS = 200


class DiscountStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True)
class ItemDraft:
    sku_id: int
    kind: DiscountKind
    value: int


@dataclass(frozen=True)
class DiscountDraft:
    name: str
    starts_at: datetime
    ends_at: datetime
    per_customer_limit: int | None
    items: list[ItemDraft]


def status(discount: Discount, at: datetime) -> DiscountStatus:
    return DiscountStatus(window(discount, at))


def _check_fields(draft: DiscountDraft) -> list[DomainError]:
    errors = set_up_errors(draft.name.strip(), draft.starts_at, draft.ends_at)
    if draft.per_customer_limit is not None and draft.per_customer_limit < 1:
        errors.append(Invalid("perCustomerLimit must be at least 1 (or null for none)", ["perCustomerLimit"]))
    errors += sku_item_errors([item.sku_id for item in draft.items], "discount", MAX_ITEMS)
    for index, item in enumerate(draft.items):
        where = ["items", str(index)]
        if item.kind is DiscountKind.PERCENT and not 1 <= item.value <= 99:
            errors.append(Invalid("a percentage off is 1 to 99", [*where, "value"]))
        if item.kind is DiscountKind.FIXED_PRICE and item.value < 0:
            errors.append(Invalid("a fixed price is at least 0 fen", [*where, "value"]))
    return errors


async def _check_skus(draft: DiscountDraft, exclude_id: int | None) -> None:
    """Inside the writing transaction: the SKUs exist, and none is in another live discount of an overlapping window.

    The SKU rows are locked (in id order) so two concurrent set-ups cannot both claim one SKU for the same time.
    """
    sku_ids = sorted({item.sku_id for item in draft.items})
    found = {sku.id for sku in await Sku.filter(id__in=sku_ids, deleted_at__isnull=True).order_by("id")
             .select_for_update()}
    taken = await clashing_skus(DiscountItem, "discount", sku_ids, draft.starts_at, draft.ends_at, exclude_id)
    errors: list[DomainError] = []
    for index, item in enumerate(draft.items):
        field = ["items", str(index), "skuId"]
        if item.sku_id not in found:
            errors.append(NotFound("SKU", field))
        elif item.sku_id in taken:
            errors.append(DomainError(ErrorCode.DUPLICATE, "this SKU is in another discount at that time", field))
    if errors:
        raise DomainErrors(errors)


async def _write_items(discount: Discount, items: Sequence[ItemDraft]) -> None:
    await DiscountItem.bulk_create(
        [DiscountItem(discount_id=discount.id, sku_id=i.sku_id, kind=i.kind, value=i.value) for i in items]
    )


async def create_discount(draft: DiscountDraft, now: datetime) -> Discount:
    draft = DiscountDraft(draft.name.strip(), utc(draft.starts_at), utc(draft.ends_at), draft.per_customer_limit,
                          draft.items)
    errors = _check_fields(draft)
    if draft.ends_at <= now:
        errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
    if errors:
        raise DomainErrors(errors)
    async with in_transaction():
        await _check_skus(draft, None)
        discount = await Discount.create(
            name=draft.name,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            per_customer_limit=draft.per_customer_limit,
        )
        await _write_items(discount, draft.items)
    changed()
    return discount


async def _changeable(discount_id: int, now: datetime) -> Discount:
    return await changeable(Discount, discount_id, now, "discount")


@dataclass(frozen=True)
class DiscountChanges:
    """None: leave as is (per_customer_limit uses `clear_limit` to go back to none)."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_customer_limit: int | None = None
    clear_limit: bool = False
    items: list[ItemDraft] | None = None


async def update_discount(discount_id: int, changes: DiscountChanges, now: datetime) -> Discount:
    async with in_transaction():
        discount = await _changeable(discount_id, now)
        items = changes.items
        if items is None:
            rows = await DiscountItem.filter(discount_id=discount.id).order_by("id")
            items = [ItemDraft(r.sku_id, DiscountKind(r.kind), r.value) for r in rows]
        limit = None if changes.clear_limit else changes.per_customer_limit
        draft = DiscountDraft(
            name=(changes.name if changes.name is not None else discount.name).strip(),
            starts_at=utc(changes.starts_at) if changes.starts_at is not None else discount.starts_at,
            ends_at=utc(changes.ends_at) if changes.ends_at is not None else discount.ends_at,
            per_customer_limit=limit if limit is not None or changes.clear_limit else discount.per_customer_limit,
            items=items,
        )
        errors = _check_fields(draft)
        if changes.ends_at is not None and draft.ends_at <= now:
            errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
        if errors:
            raise DomainErrors(errors)
        await _check_skus(draft, discount.id)
        discount.name = draft.name
        discount.starts_at = draft.starts_at
        discount.ends_at = draft.ends_at
        discount.per_customer_limit = draft.per_customer_limit
        await discount.save()
        if changes.items is not None:
            await DiscountItem.filter(discount_id=discount.id).delete()
            await _write_items(discount, draft.items)
    changed()
    return discount


async def end_discount(discount_id: int, now: datetime) -> Discount:
    async with in_transaction():
        discount = await _changeable(discount_id, now)
        discount.ended_at = now
        await discount.save(update_fields=["ended_at"])
    changed()
    return discount


async def active_discounts(sku_ids: Sequence[int], at: datetime) -> dict[int, DiscountItem]:
    """The live discount item of each SKU at that moment, with its discount loaded: the SKUs' items of discounts
    not ended are remembered between staff changes (`domain.remembered`; one query for those not remembered), and
    which of them is live is decided here, at `at`."""
    if not sku_ids:
        return {}
    by_sku = await remembered_each("discount-items", sorted(set(sku_ids)), _items_not_ended)
    return {item.sku_id: item for items in by_sku.values() for item in items
            if window(item.discount, at) is Window.ACTIVE}


async def _items_not_ended(sku_ids: list[int]) -> dict[int, list[DiscountItem]]:
    items = await DiscountItem.filter(sku_id__in=sku_ids, discount__ended_at__isnull=True) \
        .select_related("discount").order_by("id")
    by_sku: dict[int, list[DiscountItem]] = {sku_id: [] for sku_id in sku_ids}
    for item in items:
        by_sku[item.sku_id].append(item)
    return by_sku


async def next_price_change(after: datetime) -> datetime | None:
    """The earliest start or end of a discount that is not ended, strictly after `after`: prices hold until then."""
    return await next_change(Discount, after)


async def staff_discounts(status_filter: DiscountStatus | None, now: datetime, first: int | None,
                          after: str | None) -> Page[Discount]:
    """Newest first, optionally only those SCHEDULED, ACTIVE or ENDED at `now`."""
    return await newest_first(Discount, status_filter, now, first, after)


async def check_limits(customer_id: int, bought: Mapping[int, int]) -> None:
    """Checkout's call, inside its transaction, with the units it prices by each discount (`bought`, by discount id):
    a customer buys at most `per_customer_limit` units of a discount, counting what they ordered before (orders not
    cancelled). The customer row is locked so two checkouts of the same customer are counted one after the other."""
    if not bought:
        return  # no line at a discount price: nothing to count (and no query)
    limits = {
        discount_id: limit
        for discount_id, limit in await Discount.filter(id__in=list(bought), per_customer_limit__isnull=False)
        .values_list("id", "per_customer_limit")
    }
    wanted = {discount_id: units for discount_id, units in bought.items() if discount_id in limits}
    if not wanted:
        return
    await Customer.filter(id=customer_id).select_for_update(no_key=True).first()
    rows = (
        await OrderLine.filter(price_source=DISCOUNT_SOURCE, price_source_id__in=list(wanted),
                               order__customer_id=customer_id)
        .exclude(order__status=OrderStatus.CANCELLED)
        .group_by("price_source_id")
        .annotate(units=Sum("quantity"))
        .values_list("price_source_id", "units")
    )
    before = {discount_id: int(units or 0) for discount_id, units in rows}
    for discount_id, quantity in wanted.items():
        left = limits[discount_id] - before.get(discount_id, 0)
        if quantity > left:
            message = f"at most {limits[discount_id]} per customer at the discount price; {max(left, 0)} left for you"
            raise DomainError(ErrorCode.LIMIT_EXCEEDED, message, ["lines"])


async def items_by_discount(discount_ids: Sequence[int]) -> dict[int, list[DiscountItem]]:
    grouped: dict[int, list[DiscountItem]] = {}
    for item in await DiscountItem.filter(discount_id__in=list(discount_ids)).order_by("id"):
        grouped.setdefault(item.discount_id, []).append(item)
    return grouped


async def discounts_by_id(ids: Sequence[int]) -> dict[int, Discount]:
    return {d.id: d for d in await Discount.filter(id__in=list(ids))}
