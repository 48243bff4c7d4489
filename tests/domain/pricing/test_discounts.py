"""Setting up discounts: the window, the items, and one live discount per SKU at any time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, DomainErrors
from domain.pricing import discounts
from domain.pricing.discounts import DiscountChanges, DiscountDraft, ItemDraft
from domain.pricing.models import Discount, DiscountItem, DiscountKind

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def draft(*sku_ids: int, starts: datetime = NOW + HOUR, ends: datetime = NOW + 3 * HOUR, **kw) -> DiscountDraft:
    items = kw.pop("items", None) or [ItemDraft(i, DiscountKind.PERCENT, 10) for i in sku_ids]
    return DiscountDraft(kw.pop("name", "限时折扣"), starts, ends, kw.pop("limit", None), items)


def codes(exc: DomainErrors) -> list[tuple[str, list[str] | None]]:
    return [(e.code.value, e.field) for e in exc.errors]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ends": NOW + HOUR}, ("INVALID", ["endsAt"])),
        ({"starts": NOW - 3 * HOUR, "ends": NOW - HOUR}, ("INVALID", ["endsAt"])),
        ({"name": "  "}, ("INVALID", ["name"])),
        ({"limit": 0}, ("INVALID", ["perCustomerLimit"])),
        ({"items": [ItemDraft(0, DiscountKind.PERCENT, 100)]}, ("INVALID", ["items", "0", "value"])),
        ({"items": [ItemDraft(0, DiscountKind.FIXED_PRICE, -1)]}, ("INVALID", ["items", "0", "value"])),
    ],
)
async def test_invalid_discounts_are_refused(make_sku, overrides, expected):
    sku = await make_sku()
    if "items" in overrides:
        overrides["items"] = [ItemDraft(sku.id, i.kind, i.value) for i in overrides["items"]]
    with pytest.raises(DomainErrors) as caught:
        await discounts.create_discount(draft(sku.id, **overrides), NOW)
    assert expected in codes(caught.value)
    assert not await Discount.exists()


async def test_items_are_one_per_existing_sku(make_sku):
    sku = await make_sku()
    twice = [ItemDraft(sku.id, DiscountKind.PERCENT, 10), ItemDraft(sku.id, DiscountKind.FIXED_PRICE, 100)]
    with pytest.raises(DomainErrors) as caught:
        await discounts.create_discount(draft(items=twice), NOW)
    assert codes(caught.value) == [("DUPLICATE", ["items", "1", "skuId"])]
    with pytest.raises(DomainErrors) as caught:
        await discounts.create_discount(draft(sku.id, 999_999), NOW)
    assert codes(caught.value) == [("NOT_FOUND", ["items", "1", "skuId"])]
    with pytest.raises(DomainErrors) as caught:
        await discounts.create_discount(draft(items=[]), NOW)
    assert codes(caught.value) == [("INVALID", ["items"])]
    assert not await Discount.exists()


async def test_an_overlapping_discount_on_the_same_sku_is_refused_and_nothing_written(make_sku):
    taken, free = await make_sku(), await make_sku()
    await discounts.create_discount(draft(taken.id), NOW)
    overlapping = draft(free.id, taken.id, starts=NOW + 2 * HOUR, ends=NOW + 5 * HOUR)
    with pytest.raises(DomainErrors) as caught:
        await discounts.create_discount(overlapping, NOW)
    assert codes(caught.value) == [("DUPLICATE", ["items", "1", "skuId"])]
    assert await Discount.all().count() == 1
    assert await DiscountItem.all().count() == 1


async def test_back_to_back_windows_and_ended_discounts_do_not_overlap(make_sku):
    sku = await make_sku()
    first = await discounts.create_discount(draft(sku.id), NOW)
    await discounts.create_discount(draft(sku.id, starts=NOW + 3 * HOUR, ends=NOW + 4 * HOUR), NOW)
    await discounts.end_discount(first.id, NOW)
    await discounts.create_discount(draft(sku.id, starts=NOW + HOUR, ends=NOW + 2 * HOUR), NOW)
    assert await Discount.all().count() == 3


async def test_update_checks_overlap_against_the_others_only(make_sku):
    a, b = await make_sku(), await make_sku()
    mine = await discounts.create_discount(draft(a.id), NOW)
    await discounts.create_discount(draft(b.id, starts=NOW + 4 * HOUR, ends=NOW + 6 * HOUR), NOW)
    moved = await discounts.update_discount(mine.id, DiscountChanges(ends_at=NOW + 4 * HOUR, name="延长"), NOW)
    assert (moved.name, moved.ends_at) == ("延长", NOW + 4 * HOUR)
    clash = DiscountChanges(ends_at=NOW + 5 * HOUR, items=[ItemDraft(b.id, DiscountKind.FIXED_PRICE, 100)])
    with pytest.raises(DomainErrors) as caught:
        await discounts.update_discount(mine.id, clash, NOW)
    assert codes(caught.value) == [("DUPLICATE", ["items", "0", "skuId"])]
    assert await DiscountItem.filter(discount_id=mine.id).values_list("sku_id", flat=True) == [a.id]


async def test_an_ended_discount_cannot_be_changed_or_ended_again(make_sku):
    sku = await make_sku()
    discount = await discounts.create_discount(draft(sku.id), NOW)
    await discounts.end_discount(discount.id, NOW + HOUR)
    for attempt in (
        discounts.update_discount(discount.id, DiscountChanges(name="再来"), NOW + HOUR),
        discounts.end_discount(discount.id, NOW + HOUR),
    ):
        with pytest.raises(DomainError) as caught:
            await attempt
        assert caught.value.code.value == "INVALID_STATE"
    assert (await Discount.get(id=discount.id)).name == "限时折扣"


async def test_a_discount_past_its_window_counts_as_ended(make_sku):
    sku = await make_sku()
    discount = await discounts.create_discount(draft(sku.id), NOW)
    with pytest.raises(DomainError) as caught:
        await discounts.update_discount(discount.id, DiscountChanges(name="晚了"), NOW + 3 * HOUR)
    assert caught.value.code.value == "INVALID_STATE"
