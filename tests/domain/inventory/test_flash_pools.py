"""Every flash sale pool, same behaviours: in-process, Redis, and Redis on a real three-master Redis Cluster (one
sale's keys share one slot, so its per-customer limit across SKUs stays one atomic step)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from domain.flash_sale.pool import Ask, FlashPool, Held, MemoryFlashPool, PoolState, Take
from domain.flash_sale.redis_pool import RedisFlashPool

BASE = int(time.time() * 1000)  # Redis expires a pool's keys a day after its end: the window must be real time
ENDS = BASE + 3_600_000
NOW = BASE + 1_000


async def _pool_on(client: aioredis.Redis | RedisCluster) -> AsyncIterator[RedisFlashPool]:
    pool = RedisFlashPool(client, prefix=f"pondtest-{uuid.uuid4().hex[:12]}")
    try:
        yield pool
    finally:
        for key in [key async for key in client.scan_iter(match=f"{{{pool.prefix}:flash:*", count=1000)]:
            await client.delete(key)


@pytest_asyncio.fixture
async def redis_pool(redis_client: aioredis.Redis) -> AsyncIterator[RedisFlashPool]:
    async for pool in _pool_on(redis_client):
        yield pool


@pytest_asyncio.fixture
async def cluster_pool(cluster: RedisCluster) -> AsyncIterator[RedisFlashPool]:
    async for pool in _pool_on(cluster):
        yield pool


@pytest.fixture(params=["memory", "redis", "cluster"])
def pool(request: pytest.FixtureRequest) -> FlashPool:
    if request.param == "memory":
        return MemoryFlashPool()
    return request.getfixturevalue(f"{request.param}_pool")


def sale(sale_id: int = 1, limit: int = 2, **left: int) -> PoolState:
    left_by_sku = {int(sku[1:]): units for sku, units in left.items()}
    return PoolState(sale_id=sale_id, limit=limit, left=left_by_sku, starts_ms=BASE, ends_ms=ENDS)


async def test_a_take_checks_the_window_the_units_and_the_limit(pool: FlashPool) -> None:
    assert await pool.take(1, 10, 7, 1, "h0", NOW) is Take.MISSING
    assert await pool.load(sale(s10=3, s11=5))
    assert await pool.take(1, 10, 7, 1, "h1", BASE - 1) is Take.NOT_STARTED
    assert await pool.take(1, 10, 7, 1, "h1", BASE + 3_600_000) is Take.ENDED
    assert await pool.take(1, 12, 7, 1, "h1", NOW) is Take.NOT_IN_SALE
    assert await pool.take(1, 10, 7, 4, "h1", NOW) is Take.LIMIT_EXCEEDED  # told before the units are counted
    assert await pool.take(1, 10, 7, 1, "h1", NOW) is Take.OK
    assert await pool.take(1, 10, 7, 1, "h1", NOW) is Take.HELD
    assert await pool.take(1, 11, 7, 2, "h2", NOW) is Take.LIMIT_EXCEEDED  # the limit spans the sale's SKUs
    assert await pool.take(1, 11, 8, 2, "h3", NOW) is Take.OK
    assert await pool.take(1, 10, 9, 2, "h4", NOW) is Take.OK
    assert await pool.take(1, 10, 10, 1, "h5", NOW) is Take.SOLD_OUT
    assert await pool.left(1, [10, 11, 12]) == {10: 0, 11: 3, 12: None}


async def test_many_attempts_asked_together_are_answered_as_if_asked_one_after_the_other(pool: FlashPool) -> None:
    """`take_many` (the buys admitted together) against `take` on a twin pool, for a mix that meets every answer:
    a later attempt sees what the earlier ones of the same call took."""
    twin = MemoryFlashPool()
    asks = [Ask(10, 7, 1, "h1", NOW), Ask(10, 7, 1, "h1", NOW), Ask(11, 7, 2, "h2", NOW), Ask(11, 8, 2, "h3", NOW),
            Ask(10, 9, 2, "h4", NOW), Ask(10, 10, 1, "h5", NOW), Ask(12, 11, 1, "h6", NOW),
            Ask(10, 12, 1, "h7", BASE - 1), Ask(10, 12, 1, "h8", ENDS), Ask(11, 12, 3, "h9", NOW)]
    assert await pool.take_many(1, asks) == [Take.MISSING] * len(asks)
    for one in (pool, twin):
        assert await one.load(sale(s10=3, s11=5))
    together = await pool.take_many(1, asks)
    alone = [await twin.take(1, a.sku_id, a.customer_id, a.quantity, a.holder, a.now_ms) for a in asks]
    assert together == alone == [Take.OK, Take.HELD, Take.LIMIT_EXCEEDED, Take.OK, Take.OK, Take.SOLD_OUT,
                                 Take.NOT_IN_SALE, Take.NOT_STARTED, Take.ENDED, Take.LIMIT_EXCEEDED]
    assert await pool.left(1, [10, 11]) == await twin.left(1, [10, 11]) == {10: 0, 11: 3}
    assert await pool.holders(1) == await twin.holders(1)


async def test_give_back_returns_units_and_allowance_once(pool: FlashPool) -> None:
    await pool.load(sale(limit=1, s10=1))
    assert await pool.take(1, 10, 7, 1, "h1", NOW) is Take.OK
    assert await pool.give_back(1, "h1") is True
    assert await pool.give_back(1, "h1") is False
    assert await pool.take(1, 10, 7, 1, "h2", NOW) is Take.OK


async def test_load_never_overwrites_and_drop_forgets(pool: FlashPool) -> None:
    state = sale(s10=5)
    holders = {"h9": Held(9, 10, 1)}
    assert await pool.load(PoolState(**{**state.__dict__, "bought": {9: 1}, "holders": holders}))
    assert await pool.load(sale(s10=50)) is False
    assert await pool.give_back(1, "h9") is True  # a holder loaded from the database gives back like any other
    assert await pool.left(1, [10]) == {10: 6}
    await pool.drop(1)
    assert await pool.take(1, 10, 7, 1, "h1", NOW) is Take.MISSING


async def test_concurrent_buyers_never_take_more_than_the_pool(pool: FlashPool) -> None:
    await pool.load(sale(limit=1, s10=20, s11=20))
    outcomes = await asyncio.gather(*(pool.take(1, 10 + i % 2, i, 1, f"h{i}", NOW) for i in range(200)))
    assert outcomes.count(Take.OK) == 40 and outcomes.count(Take.SOLD_OUT) == 160
    assert await pool.left(1, [10, 11]) == {10: 0, 11: 0}


def test_one_sales_keys_share_a_slot_and_sales_spread() -> None:
    pool = RedisFlashPool.__new__(RedisFlashPool)
    pool.prefix = "pond"
    for sale_id in (1, 2, 3):
        assert len({key_slot(key.encode()) for key in pool.keys(sale_id)}) == 1
    assert len({key_slot(pool.keys(sale_id)[0].encode()) for sale_id in range(1, 20)}) > 1
