"""POND_REDIS_URL=redis+cluster://…: the server's client for a real three-master Redis Cluster, and every store Pond
keeps in Redis working on it (each script's keys in one slot, every key routed to its shard)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from domain.flash_sale.pool import PoolState, Take
from domain.flash_sale.redis_pool import RedisFlashPool
from domain.inventory.redis_counter import RedisStockCounter
from server.catalog_cache import RedisCacheStore
from server.ratelimit import RedisRateLimiter
from server.settings import Settings
from server.wiring import describe, redis_client
from tests.support.redis_cluster import LocalCluster


@pytest_asyncio.fixture
async def cluster(redis_cluster: LocalCluster) -> AsyncIterator[RedisCluster]:
    client = redis_client(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    try:
        yield client
    finally:
        await client.aclose()


def test_a_cluster_url_is_a_setting_of_its_own_kind(redis_cluster: LocalCluster) -> None:
    settings = Settings(redis_url=redis_cluster.url)
    assert settings.redis_url == redis_cluster.url
    assert describe(settings)["stock_counter"] == "redis cluster"
    with pytest.raises(ValueError, match="redis\\+cluster://"):
        Settings(redis_url="cluster://127.0.0.1:7000")


async def test_the_client_reaches_all_three_masters(cluster: RedisCluster) -> None:
    assert await cluster.ping()
    assert len(cluster.get_primaries()) == 3


async def test_every_redis_store_works_on_the_cluster(cluster: RedisCluster) -> None:
    prefix = f"pondtest-{uuid.uuid4().hex[:12]}"
    counter = RedisStockCounter(cluster, prefix=prefix)
    await cluster.initialize()  # learns the slots of each master

    def master(sku_id: int) -> str:
        node = cluster.get_node_from_key(counter.count_key(sku_id))
        assert node is not None
        return node.name

    other = next(sku_id for sku_id in range(2, 100) if master(sku_id) != master(1))
    await counter.load({1: 3, other: 3})
    assert (await counter.admit("order-1", {1: 1, other: 2}, 60)).admitted  # one order, two masters
    assert await counter.counts([1, other]) == {1: 2, other: 1}
    assert await counter.give_back("order-1", [1, other])
    assert await counter.counts([1, other]) == {1: 3, other: 3}

    pool = RedisFlashPool(cluster, prefix=prefix)
    assert await pool.load(PoolState(sale_id=7, starts_ms=0, ends_ms=10**13, limit=2, left={1: 5, 2: 5}))
    assert await pool.take(7, 1, customer_id=1, quantity=2, holder="h1", now_ms=1) is Take.OK
    assert await pool.take(7, 2, customer_id=1, quantity=1, holder="h2", now_ms=1) is Take.LIMIT_EXCEEDED
    assert await pool.give_back(7, "h1")
    assert await pool.left(7, [1, 2]) == {1: 5, 2: 5}
    await pool.drop(7)
    assert await pool.left(7, [1]) == {1: None}

    cache = RedisCacheStore(cluster, prefix=prefix)
    looked = await cache.get("digest")
    await cache.put("digest", looked.generation, b"{}", 60)
    assert (await cache.get("digest")).body == b"{}"
    await cache.invalidate()
    assert (await cache.get("digest")).body is None

    limiter = RedisRateLimiter(cluster, prefix=f"{prefix}:rl")
    assert [await limiter.hit("client-1", 2, 60) for _ in range(3)] == [True, True, False]

    for key in [key async for key in cluster.scan_iter(match=f"*{prefix}*", count=1000)]:
        await cluster.delete(key)
