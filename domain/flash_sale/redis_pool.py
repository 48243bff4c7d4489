"""Flash sale pools in Redis: one EVALSHA per sale for the buy attempts admitted together (one, alone).

Keys of one sale (all under the sale's hash tag, so every script stays in one Cluster slot; all passed in KEYS). The
per-customer limit spans the sale's SKUs, so one sale's keys share one slot; different sales spread over the shards:

    {<prefix>:flash:<sale>}:meta     HASH starts, ends (epoch ms), limit
    {<prefix>:flash:<sale>}:left     HASH sku_id -> units left
    {<prefix>:flash:<sale>}:bought   HASH customer_id -> units held or bought
    {<prefix>:flash:<sale>}:holders  HASH holder -> "customer:sku:quantity:admitted_ms"

`left` marks a loaded pool: without it every script answers MISSING and the pool is loaded again from the database.
The keys expire a day after the sale ends.

Units coming back (a give-back, a reload, a dropped pool) are published on `<prefix>:flash-returns` ("sale:sku" or
"sale"), from inside the script that gave them back; every process listens (`listen`) and drops its sold-out marks
(`domain.flash_sale.sold_out`), so a sold-out SKU is answered without Redis only while it is sold out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT

from domain.flash_sale.pool import Ask, Held, PoolState, Take, checked_take
from domain.flash_sale.sold_out import SoldOutMarks

log = structlog.get_logger("pond.flash_sale.redis_pool")
RESUBSCRIBE_SECONDS = 0.5

_CODES = [Take.OK, Take.HELD, Take.MISSING, Take.NOT_STARTED, Take.ENDED, Take.NOT_IN_SALE, Take.SOLD_OUT,
          Take.LIMIT_EXCEEDED]

# KEYS: meta, left, bought, holders. ARGV: five for each attempt, in order: now_ms, sku, customer, quantity,
# holder. Answers each attempt with an index into _CODES, taking for each in turn.
_TAKE = """
local answers = {}
local loaded = redis.call('EXISTS', KEYS[2]) == 1
local meta = redis.call('HMGET', KEYS[1], 'starts', 'ends', 'limit')
for at = 1, #ARGV, 5 do
    local code = 0
    local now, sku, customer, quantity = tonumber(ARGV[at]), ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
    if not loaded or not meta[1] then code = 2
    elseif now < tonumber(meta[1]) then code = 3
    elseif now >= tonumber(meta[2]) then code = 4
    elseif redis.call('HEXISTS', KEYS[4], ARGV[at + 4]) == 1 then code = 1
    else
        local left = redis.call('HGET', KEYS[2], sku)
        if not left then code = 5
        elseif tonumber(redis.call('HGET', KEYS[3], customer) or '0') + quantity > tonumber(meta[3]) then code = 7
        elseif tonumber(left) < quantity then code = 6
        else
            redis.call('HINCRBY', KEYS[2], sku, -quantity)
            redis.call('HINCRBY', KEYS[3], customer, quantity)
            redis.call('HSET', KEYS[4], ARGV[at + 4], customer .. ':' .. sku .. ':' .. ARGV[at + 3] .. ':' .. ARGV[at])
        end
    end
    answers[#answers + 1] = code
end
return answers
"""

# KEYS: meta, left, bought, holders. ARGV: holder, channel, sale.
_GIVE_BACK = """
local held = redis.call('HGET', KEYS[4], ARGV[1])
if not held then return 0 end
local customer, sku, quantity = string.match(held, '^(%d+):(%d+):(%d+)')
if redis.call('HEXISTS', KEYS[2], sku) == 1 then
    redis.call('HINCRBY', KEYS[2], sku, quantity)
end
if tonumber(redis.call('HINCRBY', KEYS[3], customer, -tonumber(quantity))) <= 0 then
    redis.call('HDEL', KEYS[3], customer)
end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ':' .. sku)
return 1
"""

# KEYS: meta, left, bought, holders. ARGV: starts, ends, limit, expire_at_ms, n_left, n_bought, n_holders, then
# the pairs of left, bought and holders in that order, channel, sale. Installs nothing if a pool is there.
_LOAD = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'starts', ARGV[1], 'ends', ARGV[2], 'limit', ARGV[3])
local at = 8
for k = 2, 4 do
    local n = tonumber(ARGV[3 + k])
    local last = at + 2 * n - 1
    while at <= last do
        local upto = math.min(at + 999, last)
        redis.call('HSET', KEYS[k], unpack(ARGV, at, upto))
        at = upto + 1
    end
end
for k = 1, 4 do redis.call('PEXPIREAT', KEYS[k], ARGV[4]) end
redis.call('PUBLISH', ARGV[at], ARGV[at + 1])
return 1
"""

DAY_MS = 24 * 3600 * 1000


class RedisFlashPool:
    def __init__(self, redis: aioredis.Redis | RedisCluster, prefix: str = "pond",
                 marks: SoldOutMarks | None = None) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain braces: it goes inside the hash tag")
        self._redis = redis
        self.prefix = prefix
        self.channel = f"{prefix}:flash-returns"
        self.marks = marks or SoldOutMarks()
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._load = redis.register_script(_LOAD)

    def keys(self, sale_id: int) -> list[str]:
        tag = f"{{{self.prefix}:flash:{sale_id}}}"
        return [f"{tag}:meta", f"{tag}:left", f"{tag}:bought", f"{tag}:holders"]

    async def take(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, holder: str,
                   now_ms: int, *, looked: bool = False) -> Take:
        checked_take(quantity, holder)
        if not looked and self.marks.sold_out(sale_id, sku_id, customer_id, quantity):
            return Take.SOLD_OUT
        return (await self.take_many(sale_id, [Ask(sku_id, customer_id, quantity, holder, now_ms)]))[0]

    async def take_many(self, sale_id: int, asks: Sequence[Ask]) -> list[Take]:
        for ask in asks:
            checked_take(ask.quantity, ask.holder)
        generation = self.marks.generation
        args: list[EncodableT] = []
        for ask in asks:
            args += (ask.now_ms, ask.sku_id, ask.customer_id, ask.quantity, ask.holder)
        codes = await self._take(keys=self.keys(sale_id), args=args)
        outcomes = [_CODES[int(code)] for code in codes]
        for ask, outcome in zip(asks, outcomes, strict=True):
            self.marks.heard(sale_id, ask.sku_id, ask.customer_id, ask.quantity, outcome, generation)
        return outcomes

    def known_sold_out(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, now_ms: int, *,
                       claim: bool = True) -> bool:
        return self.marks.sold_out(sale_id, sku_id, customer_id, quantity, claim=claim)

    async def give_back(self, sale_id: int, holder: str) -> bool:
        gave = bool(await self._give_back(keys=self.keys(sale_id), args=[holder, self.channel, sale_id]))
        if gave:
            self.marks.returned(sale_id)  # here at once; the other processes hear it on the channel
        return gave

    async def load(self, state: PoolState) -> bool:
        if not state.left:
            raise ValueError("a pool needs at least one SKU")
        pairs: list[EncodableT] = []
        for mapping in (state.left, state.bought):
            for key, value in mapping.items():
                pairs += (key, value)
        for holder, held in state.holders.items():
            pairs += (holder, held.encode())
        args: list[EncodableT] = [state.starts_ms, state.ends_ms, state.limit, state.ends_ms + DAY_MS,
                              len(state.left), len(state.bought), len(state.holders), *pairs, self.channel,
                              state.sale_id]
        installed = bool(await self._load(keys=self.keys(state.sale_id), args=args))
        if installed:
            self.marks.returned(state.sale_id)
        return installed

    async def drop(self, sale_id: int) -> None:
        await self._redis.delete(*self.keys(sale_id))
        self.marks.returned(sale_id)
        await self._redis.publish(self.channel, str(sale_id))

    async def listen(self) -> None:
        """Until cancelled: drop the marks of units other processes report back; after a lost connection, all."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.marks.clear()  # returns made while not subscribed were missed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.marks.heard_message(message.get("data"))
            except (RedisError, RedisClusterException, OSError) as exc:
                log.warning("flash returns channel lost; resubscribing", error=repr(exc))
                self.marks.clear()
                await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def holders(self, sale_id: int) -> dict[str, Held] | None:
        _, left, _, holders = self.keys(sale_id)
        found = await self._redis.hgetall(holders)
        if not found and not await self._redis.exists(left):
            return None
        return {_text(holder): Held.decode(_text(held)) for holder, held in found.items()}

    async def left(self, sale_id: int, sku_ids: list[int]) -> dict[int, int | None]:
        if not sku_ids:
            return {}
        values = await self._redis.hmget(self.keys(sale_id)[1], [str(sku_id) for sku_id in sku_ids])
        return {sku_id: None if value is None else int(value) for sku_id, value in zip(sku_ids, values, strict=True)}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["Held", "RedisFlashPool"]
