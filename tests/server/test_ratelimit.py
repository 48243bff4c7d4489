from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.cluster import key_slot

from server.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def fifty_concurrent_hits(limiter: RateLimiter, key: str, limit: int, window: int = 60) -> list[bool]:
    return list(await asyncio.gather(*(limiter.hit(key, limit, window) for _ in range(50))))


@pytest_asyncio.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    value = f"pond:test:rl:{uuid.uuid4().hex}"
    yield value
    keys = [key async for key in redis_client.scan_iter(match=f"{value}:*")]
    if keys:
        await redis_client.delete(*keys)


async def test_in_memory_allows_exactly_the_limit_of_fifty_concurrent_hits() -> None:
    results = await fifty_concurrent_hits(InMemoryRateLimiter(), "login:1.2.3.4", limit=7)

    assert results.count(True) == 7
    assert results[:7] == [True] * 7


async def test_in_memory_allows_hits_again_in_the_next_window() -> None:
    clock = FakeClock(1_000_000.0)
    limiter = InMemoryRateLimiter(clock=clock)
    assert await fifty_concurrent_hits(limiter, "k", limit=3) == [True] * 3 + [False] * 47

    clock.now = 1_000_019.9
    assert await limiter.hit("k", 3, 60) is False
    clock.now = 1_000_020.0
    assert [await limiter.hit("k", 3, 60) for _ in range(4)] == [True, True, True, False]


async def test_in_memory_counts_keys_and_window_lengths_separately() -> None:
    limiter = InMemoryRateLimiter(clock=FakeClock())

    assert [await limiter.hit("a", 1, 60), await limiter.hit("a", 1, 60)] == [True, False]
    assert await limiter.hit("b", 1, 60) is True
    assert await limiter.hit("a", 1, 10) is True


async def test_in_memory_forgets_finished_windows_so_memory_stays_bounded() -> None:
    clock = FakeClock(0.0)
    limiter = InMemoryRateLimiter(clock=clock)

    for window in range(10):
        clock.now = window * 60.0
        for n in range(1500):
            assert await limiter.hit(f"ip-{window}-{n}", 5, 60) is True

    assert len(limiter) <= 2 * 1500


async def test_a_zero_or_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        await InMemoryRateLimiter().hit("k", 1, 0)


async def test_redis_allows_exactly_the_limit_of_fifty_concurrent_hits(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix)

    results = await fifty_concurrent_hits(limiter, "login:1.2.3.4", limit=7)

    assert results.count(True) == 7
    (key,) = [key async for key in redis_client.scan_iter(match=f"{prefix}:*")]
    assert await redis_client.get(key) == b"50"
    assert 0 < await redis_client.ttl(key) <= 60


async def test_redis_allows_hits_again_in_the_next_window(redis_client: aioredis.Redis, prefix: str) -> None:
    clock = FakeClock(1_000_000.0)
    limiter = RedisRateLimiter(redis_client, prefix=prefix, clock=clock)
    assert (await fifty_concurrent_hits(limiter, "k", limit=3)).count(True) == 3

    clock.now = 1_000_019.9
    assert await limiter.hit("k", 3, 60) is False
    clock.now = 1_000_020.0
    assert [await limiter.hit("k", 3, 60) for _ in range(4)] == [True, True, True, False]
    assert len([key async for key in redis_client.scan_iter(match=f"{prefix}:*")]) == 2


async def test_redis_counts_keys_separately(redis_client: aioredis.Redis, prefix: str) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix)

    assert [await limiter.hit("a", 1, 60), await limiter.hit("a", 1, 60)] == [True, False]
    assert await limiter.hit("b", 1, 60) is True


async def test_redis_keeps_working_after_the_script_cache_is_flushed(redis_client: aioredis.Redis, prefix: str) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix)
    assert await limiter.hit("k", 2, 60) is True

    await redis_client.script_flush()

    assert [await limiter.hit("k", 2, 60), await limiter.hit("k", 2, 60)] == [True, False]


async def test_redis_keys_put_the_callers_key_in_a_hash_tag(redis_client: aioredis.Redis, prefix: str) -> None:
    clock = FakeClock(120.0)
    limiter = RedisRateLimiter(redis_client, prefix=prefix, clock=clock)

    first = limiter.window_key("login:9.9.9.9", 60)
    clock.now = 180.0
    second = limiter.window_key("login:9.9.9.9", 60)

    assert first == f"{prefix}:{{login:9.9.9.9}}:60:2"
    assert second == f"{prefix}:{{login:9.9.9.9}}:60:3"
    assert key_slot(first.encode()) == key_slot(second.encode()) == key_slot(b"login:9.9.9.9")
    assert limiter.window_key("a}b{c", 60).count("{") == limiter.window_key("a}b{c", 60).count("}") == 1


async def limiter_undo_behaviour(limiter: RateLimiter, clock: FakeClock) -> None:
    assert [await limiter.hit("u", 2, 60) for _ in range(2)] == [True, True]
    await limiter.undo("u", 60)
    assert await limiter.hit("u", 2, 60) is True  # the slot given back is usable again
    assert await limiter.hit("u", 2, 60) is False
    clock.now += 60
    await limiter.undo("u", 60)  # nothing counted in the new window: nothing to give back, never below zero
    await limiter.undo("never-hit", 60)
    assert [await limiter.hit("u", 2, 60) for _ in range(3)] == [True, True, False]
    assert await limiter.hit("never-hit", 1, 60) is True


async def test_in_memory_undo_gives_back_one_hit_of_the_current_window_only() -> None:
    clock = FakeClock()
    await limiter_undo_behaviour(InMemoryRateLimiter(clock=clock), clock)


async def test_redis_undo_gives_back_one_hit_of_the_current_window_only(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter(redis_client, prefix=prefix, clock=clock)
    await limiter_undo_behaviour(limiter, clock)
    assert not [key async for key in redis_client.scan_iter(match=f"{prefix}:{{never-hit}}:60:*") if
                int(await redis_client.get(key) or 0) < 1]
