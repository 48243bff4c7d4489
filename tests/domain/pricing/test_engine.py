"""The price rule and the engine's quote: discounts within their window, floored to the fen, never below 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.pricing import discounts, engine
from domain.pricing.discounts import DiscountDraft, ItemDraft
from domain.pricing.models import DiscountItem, DiscountKind

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("list_price", "kind", "value", "expected"),
    [
        (3990, DiscountKind.PERCENT, 20, 3192),
        (999, DiscountKind.PERCENT, 15, 849),  # 849.15 floors to the fen
        (1, DiscountKind.PERCENT, 99, 0),
        (3990, DiscountKind.FIXED_PRICE, 2990, 2990),
        (3990, DiscountKind.FIXED_PRICE, 5000, 3990),  # never above the list price
        (3990, DiscountKind.FIXED_PRICE, 0, 0),
        (0, DiscountKind.PERCENT, 50, 0),
    ],
)
def test_the_rule_floors_to_the_fen_and_stays_between_zero_and_the_list_price(list_price, kind, value, expected):
    assert engine.discounted(list_price, DiscountItem(kind=kind, value=value)) == expected


def test_without_an_offer_the_list_price_stands():
    assert engine.discounted(3990, None) == 3990


async def _discount(sku_id: int, starts: datetime, ends: datetime, kind=DiscountKind.PERCENT, value=20):
    draft = DiscountDraft("双十二", starts, ends, None, [ItemDraft(sku_id, kind, value)])
    return await discounts.create_discount(draft, starts - timedelta(days=1))


async def test_a_quote_prices_only_inside_the_window(make_sku):
    sku = await make_sku(price=3990)
    await _discount(sku.id, NOW, NOW + timedelta(hours=2))
    before = await engine.quote([(sku, 2)], NOW - timedelta(seconds=1))
    during = await engine.quote([(sku, 2)], NOW)
    after = await engine.quote([(sku, 2)], NOW + timedelta(hours=2))
    assert [q.lines[0].unit_price for q in (before, during, after)] == [3990, 3192, 3990]
    assert during.total == 6384
    assert during.lines[0].source is not None and before.lines[0].source is None


async def test_a_discount_ended_early_prices_nothing(make_sku):
    sku = await make_sku(price=3990)
    discount = await _discount(sku.id, NOW, NOW + timedelta(hours=2), DiscountKind.FIXED_PRICE, 1000)
    assert (await engine.quote([(sku, 1)], NOW + timedelta(minutes=5))).total == 1000
    await discounts.end_discount(discount.id, NOW + timedelta(minutes=10))
    assert (await engine.quote([(sku, 1)], NOW + timedelta(minutes=11))).total == 3990


async def test_the_next_price_change_is_the_nearest_start_or_end_of_a_live_discount(make_sku):
    a, b = await make_sku(), await make_sku()
    await _discount(a.id, NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    ended = await _discount(b.id, NOW + timedelta(minutes=30), NOW + timedelta(hours=5))
    assert await discounts.next_price_change(NOW) == NOW + timedelta(minutes=30)
    await discounts.end_discount(ended.id, NOW)
    assert await discounts.next_price_change(NOW) == NOW + timedelta(hours=1)
    assert await discounts.next_price_change(NOW + timedelta(hours=1)) == NOW + timedelta(hours=3)
    assert await discounts.next_price_change(NOW + timedelta(hours=3)) is None
