"""The per-process catalog copy in front of Redis never serves a page older than the last staff change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from server.catalog_cache import LeasedCacheStore, RedisCacheStore
from tests.support import backends


@dataclass(frozen=True)
class SharedRedis:
    client: aioredis.Redis
    prefix: str


@pytest_asyncio.fixture
async def shared() -> AsyncIterator[SharedRedis]:
    await backends.check_redis()
    client = aioredis.from_url(backends.REDIS_URL)
    prefix = f"leasetest-{uuid.uuid4().hex[:8]}"
    yield SharedRedis(client, prefix)
    await backends.delete_redis_keys(prefix)
    await client.aclose()


def process(shared: SharedRedis) -> LeasedCacheStore:
    """One API process's view: its own copy, the shared Redis store."""
    return LeasedCacheStore(RedisCacheStore(shared.client, prefix=shared.prefix))


async def test_a_page_cached_by_one_process_is_served_locally_by_it(shared, monkeypatch: pytest.MonkeyPatch):
    one = process(shared)
    await one.refresh()
    lookup = await one.get("page")
    await one.put("page", lookup.generation, b"old", 60)
    calls = []
    monkeypatch.setattr(one._shared, "get", lambda digest: calls.append(digest))
    assert (await one.get("page")).body == b"old"
    assert calls == []


async def test_after_an_invalidation_returns_no_process_serves_the_old_page(shared):
    reader, writer = process(shared), process(shared)
    await reader.refresh()
    await writer.refresh()
    await reader.put("page", (await reader.get("page")).generation, b"old price", 60)
    assert (await reader.get("page")).body == b"old price"

    refresher = asyncio.create_task(reader.run())
    try:
        await writer.invalidate()
        assert (await reader.get("page")).body is None
    finally:
        refresher.cancel()


async def test_a_process_whose_lease_lapsed_asks_redis(shared):
    one = process(shared)
    await one.refresh()
    await one.put("page", (await one.get("page")).generation, b"old", 60)
    other = process(shared)
    await other.refresh()
    await other.invalidate()
    one._read_started -= LeasedCacheStore.LEASE
    assert (await one.get("page")).body is None


async def test_a_page_computed_before_an_invalidation_is_not_kept(shared):
    reader, writer = process(shared), process(shared)
    await reader.refresh()
    stale = await reader.get("page")
    await writer.invalidate()
    await reader.refresh()
    await reader.put("page", stale.generation, b"computed before the change", 60)
    assert (await reader.get("page")).body is None


async def test_the_lease_task_stops_when_cancelled_even_inside_a_redis_call(shared, monkeypatch: pytest.MonkeyPatch):
    """redis-py can swallow a cancellation that lands inside a command (redis/redis-py#2028: the command returns
    normally and the task goes on). Cancelled at every moment of its loop, the lease task still ends at once."""
    one = process(shared)
    monkeypatch.setattr(LeasedCacheStore, "REFRESH", 0.0005)
    stuck = 0
    for attempt in range(300):
        task = asyncio.create_task(one.run())
        await asyncio.sleep((attempt % 30) * 0.0001)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            stuck += 1
            while not task.done():  # do not leave it running: cancel until it listens
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
            break
    assert stuck == 0


async def test_a_page_another_process_cached_is_copied_here_once_found_in_redis(
    shared, monkeypatch: pytest.MonkeyPatch
):
    writer, reader = process(shared), process(shared)
    await writer.refresh()
    await reader.refresh()
    await writer.put("page", (await writer.get("page")).generation, b"page", 60)
    assert (await reader.get("page")).body == b"page"  # from Redis, once
    calls = []
    monkeypatch.setattr(reader._shared, "get", lambda digest: calls.append(digest))
    for _ in range(3):
        assert (await reader.get("page")).body == b"page"
    assert calls == []


async def test_a_copied_page_expires_when_the_shared_one_does(shared):
    writer, reader = process(shared), process(shared)
    await writer.refresh()
    await reader.refresh()
    await writer.put("page", (await writer.get("page")).generation, b"page", 0.2)
    assert (await reader.get("page")).body == b"page"
    await asyncio.sleep(0.25)
    await reader.refresh()
    assert (await reader.get("page")).body is None


async def test_a_lookup_in_redis_renews_a_lapsed_lease(shared, monkeypatch: pytest.MonkeyPatch):
    """A loop too busy to run the refresh task on time: the first read goes to Redis and the ones after it are
    served here again."""
    writer, reader = process(shared), process(shared)
    await writer.refresh()
    await reader.refresh()
    await writer.put("page", (await writer.get("page")).generation, b"page", 60)
    reader._read_started -= LeasedCacheStore.LEASE
    assert (await reader.get("page")).body == b"page"  # from Redis: the lease had lapsed
    calls = []
    monkeypatch.setattr(reader._shared, "get", lambda digest: calls.append(digest))
    assert (await reader.get("page")).body == b"page"
    assert calls == []


async def test_a_lookup_in_redis_after_an_invalidation_drops_the_old_copy(shared):
    reader, writer = process(shared), process(shared)
    await reader.refresh()
    await writer.refresh()
    await reader.put("page", (await reader.get("page")).generation, b"old price", 60)
    await writer.invalidate()
    reader._read_started -= LeasedCacheStore.LEASE
    assert (await reader.get("other page")).body is None  # reads the new generation in Redis
    assert reader.known_generation() == (await writer.get("page")).generation
    assert (await reader.get("page")).body is None


async def test_a_lookup_that_started_before_a_newer_read_does_not_roll_the_generation_back(shared):
    one = process(shared)
    await one.refresh()
    newest = one._read_started
    generation = one.known_generation()
    assert generation is not None
    one._observe(generation - 1, newest - 0.001)  # an older read finishing late
    assert one.known_generation() == generation


async def test_reads_that_find_the_lease_lapsed_share_one_generation_read(shared, monkeypatch: pytest.MonkeyPatch):
    """A lapse under load meets many requests in flight at once: they renew the lease with one round trip between
    them and are served from the copy, instead of each asking Redis."""
    one = process(shared)
    await one.refresh()
    await one.put("page", (await one.get("page")).generation, b"page", 60)
    one._read_started -= LeasedCacheStore.LEASE
    generation_reads, lookups = [], []
    read_generation, look_up = one._shared.generation, one._shared.get

    async def counted_generation() -> int:
        generation_reads.append(1)
        return await read_generation()

    async def counted_get(digest: str):
        lookups.append(digest)
        return await look_up(digest)

    monkeypatch.setattr(one._shared, "generation", counted_generation)
    monkeypatch.setattr(one._shared, "get", counted_get)
    pages = await asyncio.gather(*(one.get("page") for _ in range(20)))
    assert {page.body for page in pages} == {b"page"}
    assert (len(generation_reads), lookups) == (1, [])


async def test_a_generation_lost_with_a_redis_restart_never_comes_round_again(shared):
    """Redis keeps nothing on disk: after a restart the generation starts from the time in microseconds, never
    from 0, so a number a process remembered something for does not come back."""
    store = RedisCacheStore(shared.client, prefix=shared.prefix)
    first = await store.generation()
    await store.invalidate()
    seen = {first, first + 1}
    assert await store.generation() == first + 1
    await shared.client.delete(f"{{{shared.prefix}:catalog}}:generation")  # as a restarted Redis would have it
    after_restart = await store.generation()
    assert after_restart not in seen and after_restart > first
    assert (await store.get("page")).generation == after_restart
    await shared.client.delete(f"{{{shared.prefix}:catalog}}:generation")
    await store.invalidate()  # a staff change meeting a missing generation starts it from the time, then bumps it
    assert await store.generation() > first + 1
