"""A group's seats in the fast store: the gate every `groupBuyJoin` passes, in one atomic step.

One call (`take`) refuses a closed group, a customer who already holds a seat in it (paid or not), and a full
group, or takes a seat for the holder. Two implementations share this protocol: `RedisSeatStore` (one Lua script,
every key of a group under the group's hash tag) and `MemorySeatStore` for the embedded single-process server.

The store is not the truth: the database is (`GroupBuySeat` rows, checked again under the group's row lock when the
order is written). A group the store does not know (Redis flushed or restarted, or dropped after the group closed)
answers MISSING and is loaded again from the database. The store may briefly admit more than the database accepts
(after a reload that missed seats still being written): the database refuses, and the attempt gives its seat back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT


class Take(StrEnum):
    OK = "OK"
    HELD = "HELD"
    """This holder already holds a seat (a double tap with the same idempotency key): nothing taken this time."""
    MISSING = "MISSING"
    CLOSED = "CLOSED"
    DUPLICATE = "DUPLICATE"
    FULL = "FULL"


@dataclass(frozen=True)
class GroupSeats:
    """Everything the store holds for one group, as the database has it."""

    group_id: int
    size: int
    forming: bool
    expire_at_ms: int
    """When the store may forget the group (well after it closes)."""
    holders: dict[str, int] = field(default_factory=dict)
    """holder -> customer id, for every live (held or paid) seat."""


class SeatStore(Protocol):
    async def take(self, group_id: int, customer_id: int, holder: str) -> Take:
        """Take a seat for the holder if the group is forming, the customer holds none and one is free. Nothing
        changes unless the answer is OK."""

    async def give_back(self, group_id: int, holder: str) -> bool:
        """Free the holder's seat. True only for the call that freed it."""

    async def load(self, state: GroupSeats) -> bool:
        """Install the group unless it is there already (True if this call installed it)."""

    async def drop(self, group_id: int) -> None:
        """Forget the group (it closed, or its seats changed in the database only): the next join reloads it."""


def _checked(holder: str) -> None:
    if not holder or len(holder) > 200:
        raise ValueError("holder must be 1 to 200 characters")


@dataclass
class _Group:
    size: int
    forming: bool
    holders: dict[str, int]
    customers: dict[int, str]


class MemorySeatStore:
    """SeatStore in one process. No method awaits, so each call is atomic on the event loop."""

    def __init__(self) -> None:
        self._groups: dict[int, _Group] = {}

    async def take(self, group_id: int, customer_id: int, holder: str) -> Take:
        _checked(holder)
        group = self._groups.get(group_id)
        if group is None:
            return Take.MISSING
        if not group.forming:
            return Take.CLOSED
        if holder in group.holders:
            return Take.HELD
        if customer_id in group.customers:
            return Take.DUPLICATE
        if len(group.holders) >= group.size:
            return Take.FULL
        group.holders[holder] = customer_id
        group.customers[customer_id] = holder
        return Take.OK

    async def give_back(self, group_id: int, holder: str) -> bool:
        group = self._groups.get(group_id)
        if group is None or holder not in group.holders:
            return False
        customer_id = group.holders.pop(holder)
        if group.customers.get(customer_id) == holder:
            del group.customers[customer_id]
        return True

    async def load(self, state: GroupSeats) -> bool:
        if state.group_id in self._groups:
            return False
        self._groups[state.group_id] = _Group(state.size, state.forming, dict(state.holders),
                                              {customer: holder for holder, customer in state.holders.items()})
        return True

    async def drop(self, group_id: int) -> None:
        self._groups.pop(group_id, None)


_CODES = [Take.OK, Take.HELD, Take.MISSING, Take.CLOSED, Take.DUPLICATE, Take.FULL]

# KEYS: meta, holders, customers. ARGV: holder, customer. Returns an index into _CODES.
_TAKE = """
local meta = redis.call('HMGET', KEYS[1], 'size', 'forming')
if not meta[1] then return 2 end
if meta[2] ~= '1' then return 3 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return 4 end
if redis.call('HLEN', KEYS[2]) >= tonumber(meta[1]) then return 5 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
return 0
"""

# KEYS: meta, holders, customers. ARGV: holder.
_GIVE_BACK = """
local customer = redis.call('HGET', KEYS[2], ARGV[1])
if not customer then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[3], customer) == ARGV[1] then redis.call('HDEL', KEYS[3], customer) end
return 1
"""

# KEYS: meta, holders, customers. ARGV: size, forming (1/0), expire_at_ms, then holder, customer pairs.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'size', ARGV[1], 'forming', ARGV[2])
for at = 4, #ARGV, 2 do
    redis.call('HSET', KEYS[2], ARGV[at], ARGV[at + 1])
    redis.call('HSET', KEYS[3], ARGV[at + 1], ARGV[at])
end
for k = 1, 3 do redis.call('PEXPIREAT', KEYS[k], ARGV[3]) end
return 1
"""


class RedisSeatStore:
    """Keys of one group, all under the group's hash tag (one Cluster slot), all passed in KEYS:

        {<prefix>:gb:<group>}:meta       HASH size, forming (1/0): marks a loaded group
        {<prefix>:gb:<group>}:holders    HASH holder -> customer id (every live seat)
        {<prefix>:gb:<group>}:customers  HASH customer id -> holder
    """

    def __init__(self, redis: aioredis.Redis | RedisCluster, prefix: str = "pond") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain braces: it goes inside the hash tag")
        self._redis = redis
        self.prefix = prefix
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._load = redis.register_script(_LOAD)

    def keys(self, group_id: int) -> list[str]:
        tag = f"{{{self.prefix}:gb:{group_id}}}"
        return [f"{tag}:meta", f"{tag}:holders", f"{tag}:customers"]

    async def take(self, group_id: int, customer_id: int, holder: str) -> Take:
        _checked(holder)
        code = await self._take(keys=self.keys(group_id), args=[holder, customer_id])
        return _CODES[int(code)]

    async def give_back(self, group_id: int, holder: str) -> bool:
        return bool(await self._give_back(keys=self.keys(group_id), args=[holder]))

    async def load(self, state: GroupSeats) -> bool:
        args: list[EncodableT] = [state.size, 1 if state.forming else 0, state.expire_at_ms]
        for holder, customer_id in state.holders.items():
            args += (holder, customer_id)
        return bool(await self._load(keys=self.keys(state.group_id), args=args))

    async def drop(self, group_id: int) -> None:
        await self._redis.delete(*self.keys(group_id))
