"""The stock counter shared by every process: Redis hashes changed by Lua scripts, one round trip per call.

Keys (all under one hash tag, so every script stays in one Cluster slot; every key is passed in KEYS):

    {<prefix>:stock}:counts           HASH sku_id -> units the gate still admits
    {<prefix>:stock}:holder:<holder>  HASH sku_id -> units taken by this holder, PEXPIRE ttl

A holder hash is never empty, so its existence means "admitted and not yet given back or forgotten".
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from domain.inventory.counter import Admission
from domain.inventory.memory_counter import checked_counts, checked_lines

# KEYS: counts, holder. ARGV: ttl_ms, sku, qty, sku, qty, ...
# Returns {1} admitted, {2} already held by this holder (nothing taken),
# {-1, sku...} missing (nothing taken), {-2, sku...} sold out (nothing taken).
_ADMIT = """
if redis.call('EXISTS', KEYS[2]) == 1 then
    return {2}
end
local missing, sold_out = {}, {}
for i = 2, #ARGV, 2 do
    local count = redis.call('HGET', KEYS[1], ARGV[i])
    if not count then
        missing[#missing + 1] = ARGV[i]
    elseif tonumber(count) < tonumber(ARGV[i + 1]) then
        sold_out[#sold_out + 1] = ARGV[i]
    end
end
if #missing > 0 then
    table.insert(missing, 1, -1)
    return missing
end
if #sold_out > 0 then
    table.insert(sold_out, 1, -2)
    return sold_out
end
local held = {}
for i = 2, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
    held[#held + 1] = ARGV[i]
    held[#held + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[2], unpack(held))
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {1}
"""

# KEYS: counts, holder. Counts that are unknown (flushed) are left alone: their reload from the database covers it.
_GIVE_BACK = """
local held = redis.call('HGETALL', KEYS[2])
if #held == 0 then
    return 0
end
for i = 1, #held, 2 do
    if redis.call('HEXISTS', KEYS[1], held[i]) == 1 then
        redis.call('HINCRBY', KEYS[1], held[i], held[i + 1])
    end
end
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: counts. ARGV: sku, count, sku, count, ...
_LOAD = """
for i = 1, #ARGV, 2 do
    redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 0
"""

_ADMITTED, _ALREADY_HELD, _MISSING, _SOLD_OUT = 1, 2, -1, -2


class RedisStockCounter:
    """StockCounter on Redis. Every call is one command or one EVALSHA (after the script is cached on the server)."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "pond") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain braces: it goes inside the hash tag")
        self._redis = redis
        self.tag = f"{{{prefix}:stock}}"
        self.counts_key = f"{self.tag}:counts"
        self._admit = redis.register_script(_ADMIT)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._load = redis.register_script(_LOAD)

    def holder_key(self, holder: str) -> str:
        return f"{self.tag}:holder:{holder}"

    def key_names(self, holder: str) -> list[str]:
        """Every key a call for this holder touches (any SKU lives in the counts hash)."""
        return [self.counts_key, self.holder_key(holder)]

    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> Admission:
        wanted = checked_lines(lines, ttl_seconds)
        args: list[int] = [ttl_seconds * 1000]
        for sku_id, quantity in wanted.items():
            args += (sku_id, quantity)
        code, *sku_ids = await self._admit(keys=self.key_names(holder), args=args)
        if code == _ADMITTED:
            return Admission(admitted=True)
        if code == _ALREADY_HELD:
            return Admission(admitted=True, already_held=True)
        found = [int(sku_id) for sku_id in sku_ids]
        if code == _MISSING:
            return Admission(admitted=False, missing=found)
        if code == _SOLD_OUT:
            return Admission(admitted=False, sold_out=found)
        raise RuntimeError(f"unexpected reply from the admit script: {code!r}")

    async def give_back(self, holder: str) -> bool:
        return bool(await self._give_back(keys=self.key_names(holder)))

    async def forget(self, holder: str) -> bool:
        return bool(await self._redis.delete(self.holder_key(holder)))

    async def load(self, counts: Mapping[int, int]) -> None:
        args = [value for pair in checked_counts(counts).items() for value in pair]
        if args:
            await self._load(keys=[self.counts_key], args=args)

    async def reset(self, counts: Mapping[int, int]) -> None:
        mapping: dict[FieldT, EncodableT] = {str(sku_id): count for sku_id, count in checked_counts(counts).items()}
        if mapping:
            await self._redis.hset(self.counts_key, mapping=mapping)

    async def counts(self, sku_ids: list[int]) -> dict[int, int | None]:
        if not sku_ids:
            return {}
        values = await self._redis.hmget(self.counts_key, [str(sku_id) for sku_id in sku_ids])
        return {sku_id: None if value is None else int(value) for sku_id, value in zip(sku_ids, values, strict=True)}
