"""Member levels as staff set them up: every bad field refused at once, thresholds unique even under a race."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import DomainError, DomainErrors
from domain.members import levels
from domain.members.levels import MAX_LEVELS, LevelChanges, LevelDraft
from domain.members.models import MemberLevel


def codes(exc: DomainErrors | DomainError) -> list[tuple[str, list[str] | None]]:
    errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
    return [(e.code.value, e.field) for e in errors]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (LevelDraft(" ", 1000, 500), [("INVALID", ["name"])]),
        (LevelDraft("金" * 21, 1000, 500), [("INVALID", ["name"])]),
        (LevelDraft("金卡", -1, 500), [("INVALID", ["threshold"])]),
        (LevelDraft("金卡", 1_000_000_001, 500), [("INVALID", ["threshold"])]),
        (LevelDraft("金卡", 1000, -1), [("INVALID", ["discountBasisPoints"])]),
        (LevelDraft("金卡", 1000, 10_000), [("INVALID", ["discountBasisPoints"])]),
        (LevelDraft("", -5, 10_000), [("INVALID", ["name"]), ("INVALID", ["threshold"]),
                                      ("INVALID", ["discountBasisPoints"])]),
    ],
)
async def test_a_bad_level_is_refused_with_every_problem_and_nothing_is_written(db, bad, expected):
    with pytest.raises(DomainErrors) as caught:
        await levels.create(bad)
    assert codes(caught.value) == expected
    assert not await MemberLevel.exists()


async def test_a_level_is_saved_trimmed_and_the_edges_are_accepted(db):
    free = await levels.create(LevelDraft("  普通会员 ", 0, 0))
    top = await levels.create(LevelDraft("黑金", 1_000_000_000, 9999))
    assert (free.name, free.threshold, free.discount_bp) == ("普通会员", 0, 0)
    assert (top.threshold, top.discount_bp) == (1_000_000_000, 9999)


async def test_a_second_level_at_the_same_threshold_is_duplicate(db):
    await levels.create(LevelDraft("银卡", 3000, 300))
    with pytest.raises(DomainError) as caught:
        await levels.create(LevelDraft("金卡", 3000, 500))
    assert codes(caught.value) == [("DUPLICATE", ["threshold"])]
    assert await MemberLevel.all().count() == 1


async def test_concurrent_levels_at_one_threshold_make_exactly_one(db):
    results = await asyncio.gather(*(levels.create(LevelDraft(f"卡{i}", 5000, 100 * i)) for i in range(8)),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, MemberLevel)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1 and len(refused) == 7, results
    assert [codes(r) for r in refused] == [[("DUPLICATE", ["threshold"])]] * 7
    assert await MemberLevel.filter(threshold=5000).count() == 1


async def test_at_most_twenty_levels(db):
    for i in range(MAX_LEVELS):
        await levels.create(LevelDraft(f"L{i}", i * 100, 0))
    with pytest.raises(DomainError) as caught:
        await levels.create(LevelDraft("one too many", 999_999, 0))
    assert codes(caught.value) == [("LIMIT_EXCEEDED", None)]
    assert await MemberLevel.all().count() == MAX_LEVELS


async def test_update_changes_only_the_given_fields_and_checks_the_result(db):
    silver = await levels.create(LevelDraft("银卡", 3000, 300))
    await levels.create(LevelDraft("金卡", 8000, 800))
    changed = await levels.update(silver.id, LevelChanges(discount_bp=400))
    assert (changed.name, changed.threshold, changed.discount_bp) == ("银卡", 3000, 400)
    with pytest.raises(DomainError) as taken:
        await levels.update(silver.id, LevelChanges(threshold=8000))
    assert codes(taken.value) == [("DUPLICATE", ["threshold"])]
    with pytest.raises(DomainErrors) as bad:
        await levels.update(silver.id, LevelChanges(name="  ", discount_bp=10_000))
    assert codes(bad.value) == [("INVALID", ["name"]), ("INVALID", ["discountBasisPoints"])]
    await silver.refresh_from_db()
    assert (silver.name, silver.threshold, silver.discount_bp) == ("银卡", 3000, 400)
    same = await levels.update(silver.id, LevelChanges(threshold=3000))  # its own threshold is no clash
    assert same.threshold == 3000


async def test_a_missing_level_is_not_found(db):
    with pytest.raises(DomainError) as updating:
        await levels.update(12345, LevelChanges(name="x"))
    with pytest.raises(DomainError) as deleting:
        await levels.delete(12345)
    assert codes(updating.value) == codes(deleting.value) == [("NOT_FOUND", ["id"])]


async def test_delete_removes_the_level(db):
    level = await levels.create(LevelDraft("银卡", 3000, 300))
    assert await levels.delete(level.id) == level.id
    assert not await MemberLevel.exists()


async def test_concurrent_creates_at_the_cap_make_exactly_one_more_level(db):
    """Review: the cap is a count then an insert; two staff at 19 levels must not both get through."""
    for i in range(MAX_LEVELS - 1):
        await levels.create(LevelDraft(f"L{i}", i * 100, 0))
    # every creator on a connection of its own at once (PostgreSQL opens the pool's connections lazily)
    await asyncio.gather(*(MemberLevel.filter(threshold=-i).exists() for i in range(8)))
    results = await asyncio.gather(*(levels.create(LevelDraft(f"N{i}", 500_000 + i, 0)) for i in range(8)),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, MemberLevel)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1 and len(refused) == 7, results
    assert [codes(r) for r in refused] == [[("LIMIT_EXCEEDED", None)]] * 7
    assert await MemberLevel.all().count() == MAX_LEVELS
