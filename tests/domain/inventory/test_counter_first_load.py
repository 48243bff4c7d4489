"""Many first buyers of a SKU the counter has not loaded yet: one loads it, none is told SOLD_OUT with units left."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from domain.inventory.redis_counter import RedisStockCounter


async def test_an_admit_that_finds_no_count_while_another_request_loads_it_is_told_missing_not_sold_out(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = RedisStockCounter(redis_client, prefix=f"pondtest-{uuid.uuid4().hex[:12]}")
    real_admit = counter._admit

    async def admit_then_another_loads(keys: list[str], args: list[int]) -> object:
        code = await real_admit(keys=keys, args=args)  # no count yet
        await counter.load({1: 50})  # another first buyer loads it from the database meanwhile
        return code

    monkeypatch.setattr(counter, "_admit", admit_then_another_loads)
    admission = await counter.admit("order-1", {1: 1}, 60)

    assert (admission.admitted, admission.missing, admission.sold_out) == (False, [1], [])
    monkeypatch.setattr(counter, "_admit", real_admit)
    assert (await counter.admit("order-1", {1: 1}, 60)).admitted  # the caller's reload-and-retry then takes it
    assert await counter.counts([1]) == {1: 49}
