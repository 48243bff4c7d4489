"""Spend-and-save (满减): setting it up, which tiers run when, and the best tier an order reaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, DomainErrors
from domain.pricing import engine, promotions, spend_and_save
from domain.pricing.engine import Tier
from domain.pricing.models import SpendAndSave
from domain.pricing.spend_and_save import SpendAndSaveChanges, SpendAndSaveDraft, SpendAndSaveStatus, TierDraft

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def draft(*tiers: tuple[int, int], starts=NOW, ends=NOW + HOUR, name="双十一满减") -> SpendAndSaveDraft:
    return SpendAndSaveDraft(name, starts, ends, [TierDraft(t, a) for t, a in tiers])


def codes(exc: DomainErrors) -> list[tuple[str, list[str] | None]]:
    return [(e.code.value, e.field) for e in exc.errors]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (draft(), ("INVALID", ["tiers"])),
        (draft((10000, 0)), ("INVALID", ["tiers", "0", "amount"])),
        (draft((10000, 10001)), ("INVALID", ["tiers", "0", "amount"])),
        (draft((0, 0)), ("INVALID", ["tiers", "0", "threshold"])),
        (draft((10000, 500), (10000, 800)), ("DUPLICATE", ["tiers", "1", "threshold"])),
        (draft(*[(1000 * i, 100) for i in range(1, 12)]), ("LIMIT_EXCEEDED", ["tiers"])),
        (draft((10000, 500), ends=NOW), ("INVALID", ["endsAt"])),
        (draft((10000, 500), starts=NOW - 2 * HOUR, ends=NOW - HOUR), ("INVALID", ["endsAt"])),
        (draft((10000, 500), name=" "), ("INVALID", ["name"])),
    ],
)
async def test_invalid_spend_and_saves_are_refused_and_nothing_is_written(db, bad, expected):
    with pytest.raises(DomainErrors) as caught:
        await spend_and_save.create_spend_and_save(bad, NOW)
    assert expected in codes(caught.value)
    assert not await SpendAndSave.exists()


async def test_tiers_are_kept_lowest_threshold_first(db):
    created = await spend_and_save.create_spend_and_save(draft((20000, 3000), (10000, 1000)), NOW)
    assert spend_and_save.tiers_of(await SpendAndSave.get(id=created.id)) == [TierDraft(10000, 1000),
                                                                               TierDraft(20000, 3000)]


async def test_only_running_ones_give_tiers(db):
    running = await spend_and_save.create_spend_and_save(draft((10000, 1000)), NOW - HOUR)
    await spend_and_save.create_spend_and_save(draft((5000, 500), starts=NOW + HOUR, ends=NOW + 2 * HOUR), NOW)
    ended = await spend_and_save.create_spend_and_save(draft((3000, 300)), NOW - HOUR)
    await spend_and_save.end_spend_and_save(ended.id, NOW)
    assert await spend_and_save.running_tiers(NOW) == [Tier(running.id, 10000, 1000)]
    # windows are [start, end): at NOW + 1h the first has ended and the second has begun
    assert [t.threshold for t in await spend_and_save.running_tiers(NOW + HOUR)] == [5000]
    assert await spend_and_save.running_tiers(NOW + 2 * HOUR) == []


async def test_update_replaces_tiers_and_an_ended_one_cannot_change(db):
    promotion = await spend_and_save.create_spend_and_save(draft((10000, 1000)), NOW)
    changed = await spend_and_save.update_spend_and_save(
        promotion.id, SpendAndSaveChanges(name="加码", tiers=[TierDraft(8000, 1200)]), NOW
    )
    assert (changed.name, spend_and_save.tiers_of(changed)) == ("加码", [TierDraft(8000, 1200)])
    with pytest.raises(DomainErrors) as caught:
        await spend_and_save.update_spend_and_save(promotion.id, SpendAndSaveChanges(tiers=[]), NOW)
    assert codes(caught.value) == [("INVALID", ["tiers"])]
    await spend_and_save.end_spend_and_save(promotion.id, NOW)
    for attempt in (spend_and_save.update_spend_and_save(promotion.id, SpendAndSaveChanges(name="x"), NOW),
                    spend_and_save.end_spend_and_save(promotion.id, NOW)):
        with pytest.raises(DomainError) as refused:
            await attempt
        assert refused.value.code.value == "INVALID_STATE"
    assert (await SpendAndSave.get(id=promotion.id)).name == "加码"


async def test_staff_list_by_status(db):
    await spend_and_save.create_spend_and_save(draft((10000, 1000)), NOW)
    await spend_and_save.create_spend_and_save(draft((10000, 1000), starts=NOW + HOUR, ends=NOW + 2 * HOUR), NOW)
    for wanted, count in ((SpendAndSaveStatus.ACTIVE, 1), (SpendAndSaveStatus.SCHEDULED, 1),
                          (SpendAndSaveStatus.ENDED, 0), (None, 2)):
        page = await spend_and_save.staff_spend_and_saves(wanted, NOW, 10, None)
        assert (len(page.items), await page.count()) == (count, count)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (9999, None),
        (10000, (10000, 1000)),
        (19999, (10000, 1000)),
        (20000, (20000, 3000)),
        (50000, (20000, 3000)),
    ],
)
def test_the_best_tier_reached_wins(amount, expected):
    tiers = [Tier(1, 10000, 1000), Tier(1, 20000, 3000)]
    best = engine.best_tier(tiers, amount)
    assert ((best.threshold, best.amount) if best else None) == expected


def test_over_several_running_ones_the_single_best_tier_wins_not_the_sum():
    tiers = [Tier(1, 10000, 1000), Tier(2, 10000, 1500), Tier(3, 8000, 1500)]
    assert engine.best_tier(tiers, 12000) == Tier(3, 8000, 1500)
    assert engine.best_tier(tiers, 9000) == Tier(3, 8000, 1500)
    assert engine.best_tier(tiers, 7999) is None


def test_the_next_tier_is_the_cheapest_that_saves_more():
    tiers = [Tier(1, 10000, 1000), Tier(1, 20000, 3000), Tier(1, 30000, 3000)]
    assert engine.next_tier(tiers, 5000) == Tier(1, 10000, 1000)
    assert engine.next_tier(tiers, 15000) == Tier(1, 20000, 3000)
    assert engine.next_tier(tiers, 25000) is None


async def test_a_cart_quote_gets_the_tier_spread_over_its_lines(make_sku, make_spend_and_save):
    apples, pears = await make_sku(price=3000), await make_sku(price=4500)
    promotion = await make_spend_and_save((10000, 1000), (20000, 2500))
    at = datetime.now(UTC)
    pricing = await promotions.for_cart(await engine.quote([(apples, 2), (pears, 1)], at), at)
    assert pricing.quote.discounts == [engine.Discount(f"spend-and-save:{promotion.id}", 1000)]
    assert [line.discount for line in pricing.quote.lines] == [571, 429]  # 6000 : 4500 of 1000
    assert (pricing.quote.subtotal, pricing.quote.total) == (10500, 9500)
    assert pricing.next_tier == Tier(promotion.id, 20000, 2500)
