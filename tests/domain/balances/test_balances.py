"""The balance ledger: a movement once by its reference, never below a floor, even when 50 run at once; the rows
always the sum of their entries; opposite shifts between two buckets at once never deadlock."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from domain.balances.service import Insufficient, Owner, balances, mismatches, move, shift

pytestmark = pytest.mark.usefixtures("db")
OWNER = Owner("test", 1)


async def _take(amount: int, reference: str) -> bool:
    try:
        async with in_transaction():
            return await move(OWNER, "cash", -amount, reference)
    except Insufficient:
        return False


async def test_a_movement_is_recorded_once_by_its_reference() -> None:
    async with in_transaction():
        assert await move(OWNER, "cash", 500, "in:1")
    async with in_transaction():
        assert not await move(OWNER, "cash", 500, "in:1")
    assert await balances(OWNER) == {"cash": 500}
    assert await mismatches("test") == []


async def test_fifty_concurrent_takes_never_take_the_bucket_below_zero() -> None:
    async with in_transaction():
        await move(OWNER, "cash", 1000, "in:1")
    taken = await asyncio.gather(*(_take(30, f"out:{i}") for i in range(50)))
    assert sum(taken) == 1000 // 30
    assert await balances(OWNER) == {"cash": 1000 - 30 * (1000 // 30)}
    assert await mismatches("test") == []


async def test_a_refused_take_leaves_no_entry_and_an_unfloored_one_may_go_negative() -> None:
    assert not await _take(1, "out:1")
    assert await balances(OWNER) == {}
    async with in_transaction():
        assert await move(OWNER, "cash", -40, "clawback:1", floor=None)
    assert await balances(OWNER) == {"cash": -40}
    assert not await _take(1, "out:2")  # below the floor already: nothing more leaves
    async with in_transaction():
        assert await move(OWNER, "cash", 10, "in:1")  # money in is always welcome
    assert await balances(OWNER) == {"cash": -30}
    assert await mismatches("test") == []


async def test_opposite_shifts_between_two_buckets_at_once_finish_without_a_deadlock() -> None:
    async with in_transaction():
        await move(OWNER, "a", 1000, "in:a")
        await move(OWNER, "b", 1000, "in:b")

    async def there_and_back(i: int) -> None:
        async with in_transaction():
            if i % 2:
                await shift(OWNER, "a", "b", 7, f"ab:{i}")
            else:
                await shift(OWNER, "b", "a", 7, f"ba:{i}")
            await asyncio.sleep(0)

    await asyncio.gather(*(there_and_back(i) for i in range(40)))
    assert await balances(OWNER) == {"a": 1000, "b": 1000}
    assert await mismatches("test") == []


async def test_a_refused_take_caught_inside_the_callers_transaction_leaves_no_entry() -> None:
    async with in_transaction():
        await move(OWNER, "cash", 10, "in:1")
        try:
            await move(OWNER, "cash", -50, "out:1")
        except Insufficient:
            pass  # the caller goes on: nothing of the refused take may stay
        await move(OWNER, "cash", 5, "in:2")
    assert await balances(OWNER) == {"cash": 15}
    assert await mismatches("test") == []
