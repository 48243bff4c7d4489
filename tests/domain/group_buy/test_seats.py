"""Every seat store, same behaviours: in-process, Redis, and Redis on a real Redis Cluster (one group's keys share
one slot, so a take is one atomic step there too)."""

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

from domain.group_buy.seats import GroupSeats, MemorySeatStore, RedisSeatStore, SeatStore, Take
from tests.domain.inventory.conftest import cluster  # noqa: F401 - the real Redis Cluster fixture

EXPIRES = int(time.time() * 1000) + 3_600_000


async def _store_on(client: aioredis.Redis | RedisCluster) -> AsyncIterator[RedisSeatStore]:
    store = RedisSeatStore(client, prefix=f"pondtest-{uuid.uuid4().hex[:12]}")
    try:
        yield store
    finally:
        for key in [key async for key in client.scan_iter(match=f"{{{store.prefix}:gb:*", count=1000)]:
            await client.delete(key)


@pytest_asyncio.fixture
async def redis_store(redis_client: aioredis.Redis) -> AsyncIterator[RedisSeatStore]:
    async for store in _store_on(redis_client):
        yield store


@pytest_asyncio.fixture
async def cluster_store(cluster: RedisCluster) -> AsyncIterator[RedisSeatStore]:  # noqa: F811
    async for store in _store_on(cluster):
        yield store


@pytest.fixture(params=["memory", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> SeatStore:
    if request.param == "memory":
        return MemorySeatStore()
    return request.getfixturevalue(f"{request.param}_store")


def group(group_id: int = 1, size: int = 3, forming: bool = True, **holders: int) -> GroupSeats:
    return GroupSeats(group_id=group_id, size=size, forming=forming, expire_at_ms=EXPIRES, holders=dict(holders))


async def test_a_take_refuses_a_closed_group_a_second_seat_and_a_full_group(store: SeatStore) -> None:
    assert await store.take(1, 7, "h7") is Take.MISSING
    assert await store.load(group(size=3, h1=1))
    assert not await store.load(group(size=9))  # a loaded group is never overwritten
    assert await store.take(1, 7, "h7") is Take.OK
    assert await store.take(1, 7, "h7") is Take.HELD  # the same holder: a double tap
    assert await store.take(1, 7, "h7b") is Take.DUPLICATE  # the same customer, another order
    assert await store.take(1, 1, "h1b") is Take.DUPLICATE  # the leader holds a seat already
    assert await store.take(1, 8, "h8") is Take.OK
    assert await store.take(1, 9, "h9") is Take.FULL
    assert await store.take(2, 9, "h9") is Take.MISSING
    await store.load(group(group_id=2, forming=False))
    assert await store.take(2, 9, "h9") is Take.CLOSED


async def test_a_seat_given_back_is_free_again_once(store: SeatStore) -> None:
    await store.load(group(size=2, h1=1))
    assert await store.take(1, 7, "h7") is Take.OK
    assert await store.take(1, 8, "h8") is Take.FULL
    assert await store.give_back(1, "h7") is True
    assert await store.give_back(1, "h7") is False
    assert await store.take(1, 8, "h8") is Take.OK
    assert await store.take(1, 7, "h7") is Take.FULL  # the customer may come back, but the seat is gone


async def test_a_dropped_group_is_missing_until_reloaded(store: SeatStore) -> None:
    await store.load(group(size=2, h1=1))
    await store.drop(1)
    assert await store.take(1, 7, "h7") is Take.MISSING
    assert await store.give_back(1, "h1") is False
    await store.load(group(size=2, h1=1, h7=7))
    assert await store.take(1, 8, "h8") is Take.FULL


async def test_200_concurrent_takes_for_the_last_seat_give_it_once(store: SeatStore) -> None:
    await store.load(GroupSeats(group_id=1, size=10, forming=True, expire_at_ms=EXPIRES,
                                holders={f"h{i}": i for i in range(9)}))
    outcomes = await asyncio.gather(*(store.take(1, 100 + i, f"x{i}") for i in range(200)))
    assert sorted(outcomes).count(Take.OK) == 1
    assert outcomes.count(Take.FULL) == 199


def test_one_group_s_keys_share_one_cluster_slot() -> None:
    store = RedisSeatStore(aioredis.Redis(), prefix="pond")
    assert len({key_slot(key.encode()) for key in store.keys(42)}) == 1
    assert all(key.startswith("{pond:gb:42}:") for key in store.keys(42))
