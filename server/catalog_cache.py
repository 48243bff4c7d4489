"""The anonymous catalog response cache: whole GraphQL responses for categories/products/product.

Entries live at most `ttl` seconds (how far stock counts may lag) and vanish at once when staff change the
catalog: every store keeps a generation number, an invalidation bumps it, and a response computed under an
older generation is never stored. In Redis all keys share the hash tag {pond:catalog}, so each script
touches one slot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

import redis.asyncio as aioredis
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse, print_ast
from redis.asyncio.cluster import RedisCluster

CACHEABLE_FIELDS = frozenset({"categories", "products", "product", "__typename"})
MAX_BODY = 64 * 1024
MAX_REMEMBERED_BODY = 4 * 1024
MAX_ENTRIES = 5000


@dataclass(frozen=True)
class Lookup:
    generation: int
    body: bytes | None
    seconds_left: float = 0.0
    """How much longer the body is good for (a copy kept elsewhere must not outlive it)."""


class CacheStore(Protocol):
    async def get(self, digest: str) -> Lookup: ...
    async def put(self, digest: str, generation: int, body: bytes, ttl: float) -> None: ...
    async def invalidate(self) -> None: ...

    def known_generation(self) -> int | None:
        """The generation this process knows is current right now, without asking anyone (None: it cannot vouch for
        one), so what was worked out under it may be reused until the next staff change."""
        ...


class InMemoryCacheStore:
    """For the embedded single-process server."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._generation = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, digest: str) -> Lookup:
        entry = self._entries.get(digest)
        now = self._clock()
        if entry is None or entry[0] <= now:
            return Lookup(self._generation, None)
        return Lookup(self._generation, entry[1], entry[0] - now)

    async def put(self, digest: str, generation: int, body: bytes, ttl: float) -> None:
        if generation != self._generation:
            return
        self._entries[digest] = (self._clock() + ttl, body)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    def known_generation(self) -> int | None:
        return self._generation


# A missing generation (a new Redis, or one restarted: it keeps nothing on disk) starts from the time in
# microseconds, never from 0, so a generation number does not come round again (unless staff made more changes
# than microseconds passed): what a process remembered for generation N (`domain.remembered`) cannot be taken for
# the N of a restarted Redis.
_START = """
local generation = redis.call('GET', KEYS[1])
if not generation then
    generation = ARGV[#ARGV]
    redis.call('SET', KEYS[1], generation)
end
"""
_GET = _START + """
return {generation, redis.call('HGET', KEYS[2], ARGV[1])}
"""
_GENERATION = _START + """
return generation
"""
_PUT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], 600000)
return 1
"""
_INVALIDATE = _START + """
redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])
return 1
"""


class RedisCacheStore:
    """Shared by every API process; each call is one round trip."""

    def __init__(self, redis: aioredis.Redis | RedisCluster, prefix: str = "pond",
                 clock: Callable[[], float] = time.time) -> None:
        self._keys = [f"{{{prefix}:catalog}}:generation", f"{{{prefix}:catalog}}:entries"]
        self._redis = redis
        self._clock = clock
        self._get = redis.register_script(_GET)
        self._put = redis.register_script(_PUT)
        self._invalidate = redis.register_script(_INVALIDATE)
        self._generation = redis.register_script(_GENERATION)

    def _start(self) -> int:
        """What a missing generation starts from: the time in microseconds."""
        return int(self._clock() * 1_000_000)

    async def get(self, digest: str) -> Lookup:
        generation, value = await self._get(keys=self._keys, args=[digest, self._start()])
        if value is None:
            return Lookup(int(generation), None)
        expires, _, body = bytes(value).partition(b"|")
        left = float(expires) - self._clock()
        return Lookup(int(generation), body if left > 0 else None, max(left, 0.0))

    async def put(self, digest: str, generation: int, body: bytes, ttl: float) -> None:
        value = f"{self._clock() + ttl:.3f}|".encode() + body
        await self._put(keys=self._keys, args=[generation, digest, value, MAX_ENTRIES])

    async def invalidate(self) -> None:
        await self._invalidate(keys=self._keys, args=[self._start()])

    def known_generation(self) -> int | None:
        return None  # only Redis knows: every read asks it

    async def generation(self) -> int:
        return int(await self._generation(keys=self._keys[:1], args=[self._start()]))


class LeasedCacheStore:
    """A per-process copy in front of the shared Redis store, without ever serving a stale catalog.

    Each process re-reads the shared generation every REFRESH seconds and answers from its copy only while its
    latest read *started* less than LEASE ago. An invalidation bumps the generation and then waits FENCE (more than
    LEASE + REFRESH) before returning, so once a staff mutation returns, any process still answering from its copy
    has read the new generation and dropped the old entries. If a process stalls, its lease lapses and it asks Redis.
    """

    REFRESH = 0.02
    LEASE = 0.1
    """Long enough that a worker the OS leaves off a core for a few tens of milliseconds (two workers and other
    processes sharing two cores) keeps serving from its copy; a staff mutation waits FENCE for it."""
    FENCE = 0.13

    def __init__(self, shared: RedisCacheStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._shared = shared
        self._clock = clock
        self._local = InMemoryCacheStore(clock=clock)
        self._generation = -1
        self._read_started = float("-inf")
        self._renewing: asyncio.Future[None] | None = None

    async def refresh(self) -> None:
        started = self._clock()
        self._observe(await self._shared.generation(), started)

    def _observe(self, generation: int, started: float) -> None:
        """Take a generation read from Redis by a read that started at `started`, unless a later-started read was
        taken already (reads finish out of order; the lease is only ever as old as the newest read's start)."""
        if started < self._read_started:
            return
        if generation != self._generation:
            self._local = InMemoryCacheStore(clock=self._clock)
            self._generation = generation
        self._read_started = started

    async def run(self) -> None:
        """Keep the lease alive; run as a background task for the life of the process.

        redis-py can swallow a cancellation that lands inside a command (redis/redis-py#2028): the command returns
        and the task goes on as if never cancelled. So the loop also ends once its task is being cancelled."""
        task = asyncio.current_task()
        while task is None or not task.cancelling():
            try:
                await self.refresh()
            except (OSError, aioredis.RedisError):
                pass  # the lease lapses and every read goes to Redis until it answers again
            if task is not None and task.cancelling():
                return
            await asyncio.sleep(self.REFRESH)

    def _leased(self) -> bool:
        return self._clock() - self._read_started < self.LEASE

    async def get(self, digest: str) -> Lookup:
        """From this process's copy while the lease holds; else from Redis, and a page found there of the generation
        this process holds is copied here for the rest of its life, so the next read costs no round trip.

        When the loop is too busy to run the refresh task on time and the lease lapses, the reads that find it
        lapsed share one generation read (`_renewed`) and are served here again: a lapse costs one round trip, not
        one per request in flight. A lookup in Redis reads the generation too, so it renews the lease as well."""
        if self._leased() or await self._renewed():
            local = await self._local.get(digest)
            if local.body is not None:
                return Lookup(self._generation, local.body, local.seconds_left)
        started = self._clock()
        found = await self._shared.get(digest)
        self._observe(found.generation, started)
        if found.body is not None and found.generation == self._generation:
            await self._local.put(digest, 0, found.body, found.seconds_left)
        return found

    async def _renewed(self) -> bool:
        """Whether the lease holds after one generation read shared by every caller waiting meanwhile (False if Redis
        did not answer)."""
        if self._renewing is None:
            renewing = asyncio.ensure_future(self.refresh())
            self._renewing = renewing
            renewing.add_done_callback(lambda _: setattr(self, "_renewing", None))
        try:
            await asyncio.shield(self._renewing)
        except (OSError, aioredis.RedisError):
            return False
        return self._leased()

    async def put(self, digest: str, generation: int, body: bytes, ttl: float) -> None:
        await self._shared.put(digest, generation, body, ttl)
        if generation == self._generation:
            await self._local.put(digest, 0, body, ttl)

    async def invalidate(self) -> None:
        await self._shared.invalidate()
        self._local = InMemoryCacheStore(clock=self._clock)
        await asyncio.sleep(self.FENCE)

    def known_generation(self) -> int | None:
        """The generation read last, while the lease holds (a staff change waits FENCE, so none is missed)."""
        return self._generation if self._leased() else None


class PriceBoundary:
    """When the next price change is due (a discount starting or ending), so no entry outlives it.

    Remembered for one cache generation: every staff change to discounts bumps the generation (catalog_changed), and
    the answer is asked again then, or once the moment has passed. Only a cache miss asks; a hit never does.
    """

    def __init__(
        self,
        next_change: Callable[[datetime], Awaitable[datetime | None]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._next_change = next_change
        self._clock = clock
        self._known: tuple[int, datetime, datetime | None] | None = None
        """(generation, asked as of, the answer): no price changes in between the two moments."""

    async def seconds_left(self, generation: int, since: datetime) -> float | None:
        """Seconds from now until the first price change after `since` (a response computed then is good till
        that moment), or None if none is planned."""
        known = self._known
        if known is None or known[0] != generation or since < known[1] or (known[2] is not None and since >= known[2]):
            known = (generation, since, await self._next_change(since))
            self._known = known
        boundary = known[2]
        return None if boundary is None else (boundary - self._clock()).total_seconds()


@lru_cache(maxsize=512)
def _normalized(query: str, operation_name: str | None) -> str | None:
    """The printed document if its chosen operation reads only cacheable catalog fields, else None."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation != OperationType.QUERY:
        return None
    selections = chosen[0].selection_set.selections
    if not all(isinstance(s, FieldNode) and s.name.value in CACHEABLE_FIELDS for s in selections):
        return None
    return print_ast(document)


def cache_key(body: bytes) -> str | None:
    """A digest of the normalized query, operation name and variables; None when the request is not cacheable."""
    if len(body) > MAX_BODY:
        return None
    return _remembered_key(body) if len(body) <= MAX_REMEMBERED_BODY else _key_for_body(body)


@lru_cache(maxsize=2048)
def _remembered_key(body: bytes) -> str | None:
    """Clients repeat the same request bytes: remember each small body's key (at most 8 MiB of bodies in all)."""
    return _key_for_body(body)


def _key_for_body(body: bytes) -> str | None:
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    query, name, variables = request.get("query"), request.get("operationName"), request.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict) or not isinstance(name, str | None):
        return None
    normalized = _normalized(query, name)
    if normalized is None:
        return None
    material = json.dumps([normalized, name, variables], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()
