"""Every stock counter, same behaviours: the in-process one, the Redis one (real Redis, a prefix per test) and the
Redis one on a real three-master Redis Cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from domain.inventory.counter import Admission, StockCounter
from domain.inventory.memory_counter import MemoryStockCounter
from domain.inventory.redis_counter import RedisStockCounter
from tests.support.backends import REDIS_URL
from tests.support.redis_cluster import LocalCluster

TTL = 900


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _counter_on(client: aioredis.Redis | RedisCluster) -> AsyncIterator[RedisStockCounter]:
    counter = RedisStockCounter(client, prefix=f"pondtest-{uuid.uuid4().hex[:12]}")
    try:
        yield counter
    finally:
        await drop_keys(counter)


@pytest_asyncio.fixture
async def redis_counter(redis_client: aioredis.Redis) -> AsyncIterator[RedisStockCounter]:
    async for counter in _counter_on(redis_client):
        yield counter


@pytest_asyncio.fixture
async def cluster_counter(cluster: RedisCluster) -> AsyncIterator[RedisStockCounter]:
    async for counter in _counter_on(cluster):
        yield counter


@pytest.fixture(params=["memory", "redis", "cluster"])
def counter(request: pytest.FixtureRequest, clock: FakeClock) -> StockCounter:
    if request.param == "memory":
        return MemoryStockCounter(clock=clock)
    return request.getfixturevalue(f"{request.param}_counter")


@pytest.fixture(params=["redis", "cluster"])
def any_redis_counter(request: pytest.FixtureRequest) -> RedisStockCounter:
    return request.getfixturevalue(f"{request.param}_counter")


async def stored_keys(counter: RedisStockCounter, pattern: str = "*") -> list[str]:
    """The counter's keys (on a cluster, scan_iter walks every master)."""
    match = f"{{{counter.prefix}:stock:{pattern}"
    return [key.decode() async for key in counter._redis.scan_iter(match=match, count=1000)]


async def drop_keys(counter: RedisStockCounter) -> None:
    """What FLUSHALL does to this counter, without touching anyone else's keys (one key per DEL: any slot)."""
    for key in await stored_keys(counter):
        await counter._redis.delete(key)


async def expire(counter: StockCounter, clock: FakeClock, holder: str, sku_id: int = 1) -> None:
    if isinstance(counter, MemoryStockCounter):
        clock.now += TTL
        return
    assert isinstance(counter, RedisStockCounter)
    client, key = counter._redis, counter.holder_key(sku_id, holder)
    assert 0 < await client.pttl(key) <= TTL * 1000  # admit set the ttl
    assert await client.pexpire(key, 1)
    await asyncio.sleep(0.01)
    assert not await client.exists(key)  # Redis expires a key when it is read past its ttl


async def holder_records(counter: StockCounter) -> int:
    if isinstance(counter, MemoryStockCounter):
        return len(counter)
    assert isinstance(counter, RedisStockCounter)
    return len(await stored_keys(counter, "*}:holder:*"))


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
    assert await counter.give_back("order-1", [1, 2]) is True
    assert await counter.counts([1, 2]) == {1: 5, 2: 4}
    assert await counter.give_back("order-1", [1, 2]) is False
    assert await counter.give_back("never-admitted", [1, 2]) is False
    assert await counter.counts([1, 2]) == {1: 5, 2: 4}


async def test_forget_makes_give_back_a_no_op(counter: StockCounter) -> None:
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    assert await counter.forget("order-1", [1]) is True
    assert await counter.forget("order-1", [1]) is False
    assert await counter.give_back("order-1", [1]) is False
    assert await counter.counts([1]) == {1: 3}


async def test_settled_holders_are_dropped(counter: StockCounter) -> None:
    await counter.load({1: 100})
    for i in range(20):
        assert (await counter.admit(f"order-{i}", {1: 1}, TTL)).admitted
    assert await holder_records(counter) == 20
    for i in range(20):
        assert await (counter.give_back if i % 2 else counter.forget)(f"order-{i}", [1])
    assert await holder_records(counter) == 0
    assert await counter.counts([1]) == {1: 90}


async def test_load_never_overwrites(counter: StockCounter) -> None:
    await counter.load({1: 5})
    await counter.admit("order-1", {1: 2}, TTL)
    await counter.load({1: 100, 2: 7})
    await counter.load({})
    assert await counter.counts([1, 2]) == {1: 3, 2: 7}


async def test_reset_overwrites_what_only_admits_changed_since_the_read(counter: StockCounter) -> None:
    await counter.load({1: 5})
    seen = await counter.read([1, 2])
    assert seen[1].units == 5 and seen[1].version is not None
    assert (seen[2].units, seen[2].version) == (None, None)
    await counter.admit("order-1", {1: 2}, TTL)  # an admit overwritten only over-counts: the database still guards
    assert await counter.reset({1: 40, 2: 0}, {1: seen[1].version, 2: None}) == [1, 2]
    assert await counter.reset({}, {}) == []
    assert await counter.counts([1, 2]) == {1: 40, 2: 0}
    assert await counter.counts([]) == {}


async def test_reset_refuses_a_count_that_got_units_back_since_the_read(counter: StockCounter) -> None:
    await counter.load({1: 5, 2: 5})
    await counter.admit("order-1", {1: 2, 2: 1}, TTL)
    seen = await counter.read([1, 2])
    assert await counter.give_back("order-1", [1, 2])  # lands between the resync's read and its write
    assert await counter.reset({1: 3, 2: 4}, {1: seen[1].version, 2: seen[2].version}) == []
    assert await counter.counts([1, 2]) == {1: 5, 2: 5}  # the units given back are still there
    again = await counter.read([1, 2])
    assert await counter.reset({1: 5, 2: 5}, {1: again[1].version, 2: again[2].version}) == [1, 2]


async def test_reset_refuses_an_unknown_count_that_was_loaded_since_the_read(counter: StockCounter) -> None:
    seen = await counter.read([1])
    await counter.load({1: 7})
    assert await counter.reset({1: 3}, {1: seen[1].version}) == []
    assert await counter.counts([1]) == {1: 7}


async def test_two_resets_from_one_read_write_once(counter: StockCounter) -> None:
    await counter.load({1: 5})
    seen = await counter.read([1])
    assert await counter.reset({1: 9}, {1: seen[1].version}) == [1]
    assert await counter.reset({1: 8}, {1: seen[1].version}) == []  # read before the first write: too old
    assert await counter.counts([1]) == {1: 9}


async def test_concurrent_give_backs_are_never_overwritten_by_resets(counter: StockCounter) -> None:
    """Real concurrency: holders give back while resets from reads taken before each give-back race them; whatever
    interleaving happens, no reset may erase units that came back after its read."""
    holders = 200
    await counter.load({1: holders})
    for i in range(holders):
        assert (await counter.admit(f"order-{i}", {1: 1}, TTL)).admitted

    async def stale_reset() -> None:
        seen = await counter.read([1])
        await asyncio.sleep(0)
        await counter.reset({1: seen[1].units or 0}, {1: seen[1].version})  # a write from the read's own view

    await asyncio.gather(*(call for i in range(holders)
                           for call in (stale_reset(), counter.give_back(f"order-{i}", [1]))))
    assert await counter.counts([1]) == {1: holders}


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
    await counter._redis.delete(counter.count_key(2))  # as if flushed; the reload from the database covers it
    assert await counter.give_back("order-1", [1, 2]) is True
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
            await drop_keys(RedisStockCounter(ops, prefix=counter.prefix))
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
    assert await counter.give_back(before_flush[0], [sku]) is False
    assert await counter.counts([sku]) == {sku: 0}


async def test_each_skus_keys_share_its_own_slot(any_redis_counter: RedisStockCounter) -> None:
    counter = any_redis_counter
    holders = ["order-1", "order-{2}", "order-}3{", "订单-4"]
    await counter.load({1: 10, 2: 10})
    for holder in holders:
        assert (await counter.admit(holder, {1: 1, 2: 1}, TTL)).admitted
    await counter.give_back(holders[0], [1, 2])
    seen = await counter.read([3])
    await counter.reset({3: 1}, {3: seen[3].version})
    for sku_id in (1, 2, 3):
        names = {counter.count_key(sku_id)} | {counter.holder_key(sku_id, holder) for holder in holders}
        stored = set(await stored_keys(counter, f"{sku_id}}}*"))
        assert stored and stored <= names
        assert {key_slot(name.encode()) for name in names} == {key_slot(f"{counter.prefix}:stock:{sku_id}".encode())}


async def test_a_version_is_never_repeated_after_the_count_vanishes(any_redis_counter: RedisStockCounter) -> None:
    counter = any_redis_counter
    await counter.load({1: 5})
    seen = await counter.read([1])
    await drop_keys(counter)  # a flush; then a checkout reloads the count from the database
    await counter.load({1: 5})
    assert (await counter.read([1]))[1].version != seen[1].version
    assert await counter.reset({1: 2}, {1: seen[1].version}) == []


async def test_redis_round_trips_per_call(
    redis_counter: RedisStockCounter, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One EVALSHA per SKU line (each SKU lives in its own slot); reads and forgets are one pipeline."""
    counter = redis_counter
    await counter.load({1: 2})
    await counter.admit("warm-up", {1: 1}, TTL)  # first EVALSHA may meet NOSCRIPT and load the script
    await counter.give_back("warm-up", [1])
    seen = await counter.read([1])
    await counter.reset({1: 2}, {1: seen[1].version})
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
    assert await commands(counter.admit("order-2", {1: 1}, TTL)) == ["EVALSHA"]  # sold out: one more read (below)
    assert await commands(counter.give_back("order-1", [1])) == ["EVALSHA"]
    await counter.load({2: 2, 3: 3})
    assert await commands(counter.admit("order-3", {1: 1, 2: 1, 3: 1}, TTL)) == ["EVALSHA"] * 3
    assert await commands(counter.load({1: 1, 4: 4})) == ["EVALSHA"] * 2
    assert await commands(counter.reset({1: 1}, {1: seen[1].version})) == ["EVALSHA"]


async def test_one_hundred_skus_spread_over_every_master(cluster_counter: RedisStockCounter,
                                                         redis_cluster: LocalCluster) -> None:
    counter = cluster_counter
    await counter.load({sku_id: 10 for sku_id in range(1, 101)})
    for sku_id in range(1, 101):
        assert (await counter.admit(f"order-{sku_id}", {sku_id: 1}, TTL)).admitted
    client = counter._redis
    assert isinstance(client, RedisCluster)
    masters = {node.name: 0 for node in client.get_primaries()}
    assert len(masters) == 3
    for sku_id in range(1, 101):
        for key in (counter.count_key(sku_id), counter.holder_key(sku_id, f"order-{sku_id}")):
            shard = client.get_node_from_key(key)
            assert shard is not None
            masters[shard.name] += 1
    assert all(keys >= 20 for keys in masters.values()), masters  # ~67 keys each; none holds them all
    for port in redis_cluster.ports:  # and each master really stores its share
        node = aioredis.Redis(port=port)
        try:
            found = [key async for key in node.scan_iter(match=f"{{{counter.prefix}:stock:*", count=1000)]
        finally:
            await node.aclose()
        assert len(found) == masters[f"127.0.0.1:{port}"]
    assert await counter.counts(list(range(1, 101))) == {sku_id: 9 for sku_id in range(1, 101)}
