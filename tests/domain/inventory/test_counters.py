"""Both stock counters, same behaviours: the in-process one and the Redis one (real Redis, a prefix per test)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.cluster import key_slot

from domain.inventory.counter import Admission, StockCounter
from domain.inventory.memory_counter import MemoryStockCounter
from domain.inventory.redis_counter import RedisStockCounter
from tests.support.backends import REDIS_URL, unavailable

TTL = 900


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    pool = aioredis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=64, timeout=5)
    client = aioredis.Redis(connection_pool=pool)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except (OSError, TimeoutError, aioredis.RedisError) as exc:
        await client.aclose()
        await pool.aclose()
        unavailable("Redis at " + REDIS_URL, exc)
    try:
        yield client
    finally:
        await client.aclose()
        await pool.aclose()


@pytest_asyncio.fixture
async def redis_counter(redis_client: aioredis.Redis) -> AsyncIterator[RedisStockCounter]:
    counter = RedisStockCounter(redis_client, prefix=f"pondtest-{uuid.uuid4().hex[:12]}")
    try:
        yield counter
    finally:
        await drop_keys(redis_client, counter)


@pytest.fixture(params=["memory", "redis"])
def counter(request: pytest.FixtureRequest, clock: FakeClock) -> StockCounter:
    if request.param == "memory":
        return MemoryStockCounter(clock=clock)
    return request.getfixturevalue("redis_counter")


async def drop_keys(client: aioredis.Redis, counter: RedisStockCounter) -> None:
    """What FLUSHALL does to this counter, without touching anyone else's keys."""
    keys = [counter.counts_key] + [key async for key in client.scan_iter(match=f"{counter.tag}:*", count=1000)]
    await client.delete(*keys)


async def expire(counter: StockCounter, clock: FakeClock, holder: str) -> None:
    if isinstance(counter, MemoryStockCounter):
        clock.now += TTL
        return
    assert isinstance(counter, RedisStockCounter)
    client = counter._redis
    assert 0 < await client.pttl(counter.holder_key(holder)) <= TTL * 1000  # admit set the ttl
    assert await client.pexpire(counter.holder_key(holder), 1)
    await asyncio.sleep(0.01)
    assert not await client.exists(counter.holder_key(holder))  # Redis expires a key when it is read past its ttl


async def holder_records(counter: StockCounter) -> int:
    if isinstance(counter, MemoryStockCounter):
        return len(counter)
    assert isinstance(counter, RedisStockCounter)
    return len([key async for key in counter._redis.scan_iter(match=counter.holder_key("*"), count=1000)])


async def test_admits_every_line(counter: StockCounter) -> None:
    await counter.load({1: 5, 2: 3})
    assert await counter.admit("order-1", {1: 2, 2: 3}, TTL) == Admission(admitted=True)
    assert await counter.counts([1, 2, 3]) == {1: 3, 2: 0, 3: None}


async def test_one_short_line_takes_nothing(counter: StockCounter) -> None:
    await counter.load({1: 5, 2: 1, 3: 0, 4: 9})
    result = await counter.admit("order-1", {1: 2, 2: 2, 3: 1, 4: 9}, TTL)
    assert result == Admission(admitted=False, sold_out=[2, 3])
    assert await counter.counts([1, 2, 3, 4]) == {1: 5, 2: 1, 3: 0, 4: 9}


async def test_missing_skus_are_reported_and_nothing_is_taken(counter: StockCounter) -> None:
    await counter.load({1: 5, 2: 0})
    result = await counter.admit("order-1", {1: 1, 2: 1, 7: 1, 8: 2}, TTL)
    assert result == Admission(admitted=False, missing=[7, 8])  # missing wins over sold out: reload, then ask again
    assert await counter.counts([1, 2, 7, 8]) == {1: 5, 2: 0, 7: None, 8: None}
    await counter.load({7: 1, 8: 2})
    assert (await counter.admit("order-1", {1: 1, 7: 1, 8: 2}, TTL)).admitted
    assert await counter.counts([1, 7, 8]) == {1: 4, 7: 0, 8: 0}


async def test_admit_is_idempotent_per_holder(counter: StockCounter) -> None:
    await counter.load({1: 5})
    assert await counter.admit("order-1", {1: 2}, TTL) == Admission(admitted=True)
    assert await counter.admit("order-1", {1: 2}, TTL) == Admission(admitted=True, already_held=True)
    assert await counter.counts([1]) == {1: 3}


async def test_expired_holder_is_gone_for_admit(counter: StockCounter, clock: FakeClock) -> None:
    await counter.load({1: 5})
    assert (await counter.admit("order-1", {1: 2}, TTL)).admitted
    await expire(counter, clock, "order-1")
    assert (await counter.admit("order-1", {1: 2}, TTL)).admitted
    assert await counter.counts([1]) == {1: 1}  # the expired hold's units were not returned by the counter


async def test_give_back_returns_units_once(counter: StockCounter) -> None:
    await counter.load({1: 5, 2: 4})
    await counter.admit("order-1", {1: 2, 2: 1}, TTL)
    assert await counter.give_back("order-1") is True
    assert await counter.counts([1, 2]) == {1: 5, 2: 4}
    assert await counter.give_back("order-1") is False
    assert await counter.give_back("never-admitted") is False
    assert await counter.counts([1, 2]) == {1: 5, 2: 4}


async def test_forget_makes_give_back_a_no_op(counter: StockCounter) -> None:
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    assert await counter.forget("order-1") is True
    assert await counter.forget("order-1") is False
    assert await counter.give_back("order-1") is False
    assert await counter.counts([1]) == {1: 3}


async def test_settled_holders_are_dropped(counter: StockCounter) -> None:
    await counter.load({1: 100})
    for i in range(20):
        assert (await counter.admit(f"order-{i}", {1: 1}, TTL)).admitted
    assert await holder_records(counter) == 20
    for i in range(20):
        assert await (counter.give_back if i % 2 else counter.forget)(f"order-{i}")
    assert await holder_records(counter) == 0
    assert await counter.counts([1]) == {1: 90}


async def test_load_never_overwrites(counter: StockCounter) -> None:
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    await counter.load({1: 100, 2: 7})
    await counter.load({})
    assert await counter.counts([1, 2]) == {1: 3, 2: 7}


async def test_reset_overwrites(counter: StockCounter) -> None:
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    await counter.reset({1: 40, 2: 0})
    await counter.reset({})
    assert await counter.counts([1, 2]) == {1: 40, 2: 0}
    assert await counter.counts([]) == {}


@pytest.mark.parametrize(
    ("lines", "ttl"), [({}, TTL), ({1: 0}, TTL), ({1: -1}, TTL), ({1: True}, TTL), ({1: 1}, 0), ({1: 1}, 1.5)]
)
async def test_bad_requests_are_refused(counter: StockCounter, lines: dict[int, int], ttl: int) -> None:
    await counter.load({1: 5})
    with pytest.raises(ValueError):
        await counter.admit("order-1", lines, ttl)
    assert await counter.counts([1]) == {1: 5}


async def test_concurrent_admits_never_oversell(counter: StockCounter) -> None:
    await counter.load({1: 50})
    results = await asyncio.gather(*(counter.admit(f"order-{i}", {1: 1}, TTL) for i in range(500)))
    assert sum(r.admitted for r in results) == 50
    assert sum(r.sold_out == [1] for r in results) == 450
    assert await counter.counts([1]) == {1: 0}


async def test_memory_gives_back_an_expired_holder_once(clock: FakeClock) -> None:
    counter = MemoryStockCounter(clock=clock)
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    clock.now += TTL + 1
    assert await counter.counts([1]) == {1: 3}  # expiry alone returns nothing
    assert await counter.give_back("order-1") is True
    assert await counter.give_back("order-1") is False
    assert await counter.counts([1]) == {1: 5}
    assert len(counter) == 0


async def test_redis_give_back_skips_unknown_counts(redis_counter: RedisStockCounter) -> None:
    counter = redis_counter
    await counter.load({1: 5, 2: 5})
    await counter.admit("order-1", {1: 2, 2: 2}, TTL)
    await counter._redis.hdel(counter.counts_key, "2")  # as if flushed; the reload from the database covers it
    assert await counter.give_back("order-1") is True
    assert await counter.counts([1, 2]) == {1: 5, 2: None}


async def test_redis_flush_midway_then_reload(redis_counter: RedisStockCounter, redis_client: aioredis.Redis) -> None:
    """The counts vanish in the middle of a sale; the "database" (50 minus what was admitted) refills them."""
    counter, stock, sku = redis_counter, 50, 1
    await counter.load({sku: stock})
    admitted: list[str] = []
    before_flush: list[str] = []
    outcome = {"sold_out": 0, "missing": 0}
    in_flight_before_flush = 0
    flushed, drained = asyncio.Event(), asyncio.Event()
    tasks: dict[str, asyncio.Task[None]] = {}

    async def flush() -> None:
        before_flush.extend(admitted)
        ops = aioredis.Redis.from_url(REDIS_URL)  # someone else's connection, not queued behind the buyers
        try:
            await drop_keys(ops, counter)
        finally:
            await ops.aclose()
        flushed.set()  # admits sent from now on run after the flush
        if in_flight_before_flush == 0:
            drained.set()

    async def reload() -> None:
        await flushed.wait()
        await drained.wait()  # every admit that may have run before the flush has been counted
        await counter.load({sku: stock - len(admitted)})

    async def buy(i: int) -> None:
        nonlocal in_flight_before_flush
        if i >= 100:
            await flushed.wait()  # most buyers arrive after the flush
        while True:
            early = not flushed.is_set()
            in_flight_before_flush += early
            result = await counter.admit(f"order-{i}", {sku: 1}, TTL)
            in_flight_before_flush -= early
            if early and flushed.is_set() and in_flight_before_flush == 0:
                drained.set()
            if result.admitted:
                admitted.append(f"order-{i}")
                if len(admitted) == 20:
                    tasks["flush"] = asyncio.create_task(flush())
                return
            if result.sold_out:
                assert result.sold_out == [sku]
                outcome["sold_out"] += 1
                return
            assert result.missing == [sku]
            outcome["missing"] += 1
            if "reload" not in tasks:
                tasks["reload"] = asyncio.create_task(reload())
            await tasks["reload"]

    await asyncio.wait_for(asyncio.gather(*(buy(i) for i in range(500))), 60)
    assert outcome["missing"] >= 1
    assert len(admitted) == stock and len(set(admitted)) == stock
    assert outcome["sold_out"] == 450
    assert await counter.counts([sku]) == {sku: 0}
    # A holder admitted before the flush lost its record: give_back is a no-op (the reload already counted it).
    assert len(before_flush) >= 20
    assert await counter.give_back(before_flush[0]) is False
    assert await counter.counts([sku]) == {sku: 0}


async def test_redis_keys_share_one_slot(redis_counter: RedisStockCounter, redis_client: aioredis.Redis) -> None:
    counter = redis_counter
    holders = ["order-1", "order-{2}", "order-}3{", "订单-4"]
    await counter.load({1: 10, 2: 10})
    for holder in holders:
        assert (await counter.admit(holder, {1: 1, 2: 1}, TTL)).admitted
    await counter.give_back(holders[0])
    await counter.reset({3: 1})
    names = {name for holder in holders for name in counter.key_names(holder)}
    stored = {key.decode() async for key in redis_client.scan_iter(match=f"{counter.tag}:*")}
    assert stored and stored <= names
    slots = {key_slot(name.encode()) for name in names | stored}
    assert slots == {key_slot(counter.tag[1:-1].encode())}


async def test_redis_every_call_is_one_round_trip(
    redis_counter: RedisStockCounter, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = redis_counter
    await counter.load({1: 2})
    await counter.admit("warm-up", {1: 1}, TTL)  # first EVALSHA may meet NOSCRIPT and load the script
    await counter.give_back("warm-up")
    sent: list[str] = []
    execute = redis_client.execute_command

    async def counting(*args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return await execute(*args, **options)

    monkeypatch.setattr(redis_client, "execute_command", counting)

    async def commands(call: Awaitable[object]) -> list[str]:
        sent.clear()
        await call
        return list(sent)

    assert await commands(counter.admit("order-1", {1: 2}, TTL)) == ["EVALSHA"]  # admitted
    assert await commands(counter.admit("order-1", {1: 2}, TTL)) == ["EVALSHA"]  # already held
    assert await commands(counter.admit("order-2", {1: 1}, TTL)) == ["EVALSHA"]  # sold out
    assert await commands(counter.admit("order-3", {1: 1, 9: 1, 8: 4}, TTL)) == ["EVALSHA"]  # missing
    assert await commands(counter.give_back("order-1")) == ["EVALSHA"]
    assert await commands(counter.forget("order-1")) == ["DEL"]
    assert await commands(counter.load({1: 1, 2: 2, 3: 3})) == ["EVALSHA"]
    assert await commands(counter.reset({1: 1, 2: 2, 3: 3})) == ["HSET"]
    assert await commands(counter.counts([1, 2, 3])) == ["HMGET"]
