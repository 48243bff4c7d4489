"""The stock counter shared by every process: one hash tag per SKU, so on a Redis Cluster the SKUs spread over every
shard. Each call on one SKU is one Lua script in that SKU's slot (every key passed in KEYS); nothing ever touches
two SKUs in one command.

Keys of SKU <id> (hash tag {<prefix>:stock:<id>}):

    {<prefix>:stock:<id>}:count            HASH units (what the gate still admits), version (see Reading)
    {<prefix>:stock:<id>}:holder:<holder>  STRING units taken by this holder, PEXPIRE ttl

A holder record exists only while the holder's units are admitted and not yet given back or forgotten. An order of
several SKUs is admitted one SKU at a time, in SKU order (every buyer takes lines in the same order, so two buyers
of the same last units never both give up); a line that cannot be taken gives the earlier ones back.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from domain.inventory.counter import Admission, Reading
from domain.inventory.memory_counter import checked_counts, checked_lines

# A fresh version for a count written where there was none: the server's clock in microseconds, so a count that
# vanished (flush) and came back never repeats a version a resync may have read before.
_FRESH_VERSION = "local t = redis.call('TIME') local fresh = t[1] .. string.format('%06d', tonumber(t[2]))"

# KEYS: count, holder. ARGV: ttl_ms, quantity. Returns 1 taken, 2 already held (nothing taken), -1 unknown SKU,
# -2 too few units.
_ADMIT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local units = redis.call('HGET', KEYS[1], 'units')
if not units then return -1 end
if tonumber(units) < tonumber(ARGV[2]) then return -2 end
redis.call('HINCRBY', KEYS[1], 'units', -tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
return 1
"""

# KEYS: count, holder. A count that is unknown (flushed) is left alone: its reload from the database covers it.
_GIVE_BACK = """
local held = redis.call('GET', KEYS[2])
if not held then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('HEXISTS', KEYS[1], 'units') == 1 then
    redis.call('HINCRBY', KEYS[1], 'units', held)
    redis.call('HINCRBY', KEYS[1], 'version', 1)
end
return 1
"""

# KEYS: count. ARGV: units. Sets the count only where there is none.
_LOAD = _FRESH_VERSION + """
if redis.call('HEXISTS', KEYS[1], 'units') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'units', ARGV[1], 'version', fresh)
return 1
"""

# KEYS: count. ARGV: units, the version read before the database was ('' for none). Compare and set.
_RESET = _FRESH_VERSION + """
local version = redis.call('HGET', KEYS[1], 'version')
if (version or '') ~= ARGV[2] then return 0 end
if version then
    redis.call('HSET', KEYS[1], 'units', ARGV[1])
    redis.call('HINCRBY', KEYS[1], 'version', 1)
else
    redis.call('HSET', KEYS[1], 'units', ARGV[1], 'version', fresh)
end
return 1
"""

_TAKEN, _ALREADY_HELD, _MISSING, _SHORT = 1, 2, -1, -2


class RedisStockCounter:
    """StockCounter on Redis or Redis Cluster (`redis.asyncio.Redis` or `redis.asyncio.cluster.RedisCluster`)."""

    def __init__(self, redis: aioredis.Redis | RedisCluster, prefix: str = "pond") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain braces: it goes inside the hash tag")
        self._redis = redis
        self.prefix = prefix
        self._admit = redis.register_script(_ADMIT)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._load = redis.register_script(_LOAD)
        self._reset = redis.register_script(_RESET)

    def tag(self, sku_id: int) -> str:
        return f"{{{self.prefix}:stock:{sku_id}}}"

    def count_key(self, sku_id: int) -> str:
        return f"{self.tag(sku_id)}:count"

    def holder_key(self, sku_id: int, holder: str) -> str:
        return f"{self.tag(sku_id)}:holder:{holder}"

    def key_names(self, sku_id: int, holder: str) -> list[str]:
        """The keys a call for this SKU and holder touches, in KEYS order."""
        return [self.count_key(sku_id), self.holder_key(sku_id, holder)]

    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> Admission:
        wanted = checked_lines(lines, ttl_seconds)
        taken: list[int] = []
        for sku_id, quantity in sorted(wanted.items()):
            code = await self._admit(keys=self.key_names(sku_id, holder), args=[ttl_seconds * 1000, quantity])
            if code == _TAKEN:
                taken.append(sku_id)
                continue
            await self.give_back(holder, taken)
            if code == _ALREADY_HELD:
                return Admission(admitted=True, already_held=True)
            if code not in (_MISSING, _SHORT):
                raise RuntimeError(f"unexpected reply from the admit script: {code!r}")
            return await self._refusal(wanted, sku_id, code)
        return Admission(admitted=True)

    async def _refusal(self, wanted: dict[int, int], refused: int, code: int) -> Admission:
        """Every line that stops the admission, so one reload from the database covers all the missing SKUs."""
        counts = await self.counts(list(wanted))
        missing = [sku_id for sku_id in wanted if counts[sku_id] is None]
        if missing:
            return Admission(admitted=False, missing=missing)
        short = [sku_id for sku_id, quantity in wanted.items() if (counts[sku_id] or 0) < quantity]
        if not short and code == _MISSING:
            # Another request loaded the count after the script found none: still "missing" to this call, whose
            # caller then loads (a no-op now) and asks again, instead of answering SOLD_OUT with units on the shelf.
            return Admission(admitted=False, missing=[refused])
        # Units given back meanwhile may leave nothing short by now: the line that was short is still the answer.
        return Admission(admitted=False, sold_out=short or [refused])

    async def give_back(self, holder: str, sku_ids: list[int]) -> bool:
        """True only if every SKU's record was there: a record lost on one shard (a flush) makes the caller set
        those counts from the database."""
        returned = [bool(await self._give_back(keys=self.key_names(sku_id, holder))) for sku_id in sorted(set(sku_ids))]
        return bool(returned) and all(returned)

    async def forget(self, holder: str, sku_ids: list[int]) -> bool:
        keys = [self.holder_key(sku_id, holder) for sku_id in sorted(set(sku_ids))]
        if not keys:
            return False
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.delete(key)
            return any(await pipe.execute())

    async def load(self, counts: Mapping[int, int]) -> None:
        for sku_id, count in sorted(checked_counts(counts).items()):
            await self._load(keys=[self.count_key(sku_id)], args=[count])

    async def read(self, sku_ids: list[int]) -> dict[int, Reading]:
        if not sku_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:  # a cluster pipeline groups the keys by shard
            for sku_id in sku_ids:
                pipe.hmget(self.count_key(sku_id), ["units", "version"])
            replies = await pipe.execute()
        return {
            sku_id: Reading(None if units is None else int(units), None if version is None else int(version))
            for sku_id, (units, version) in zip(sku_ids, replies, strict=True)
        }

    async def reset(self, counts: Mapping[int, int], seen: Mapping[int, int | None]) -> list[int]:
        written = []
        for sku_id, count in sorted(checked_counts(counts).items()):
            expected = "" if seen[sku_id] is None else str(seen[sku_id])
            if await self._reset(keys=[self.count_key(sku_id)], args=[count, expected]):
                written.append(sku_id)
        return written

    async def counts(self, sku_ids: list[int]) -> dict[int, int | None]:
        return {sku_id: reading.units for sku_id, reading in (await self.read(sku_ids)).items()}
