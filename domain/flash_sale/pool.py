"""A flash sale's pool: the fast gate every `flashSaleBuy` attempt passes, in one step.

One call (`take`) checks the window, the SKU's units left and the customer's allowance, and takes the units for a
holder, or answers why not. Two implementations share this interface: `RedisFlashPool` (one Lua script, one round
trip, every key of a sale under one hash tag) and `MemoryFlashPool` for the embedded single-process server.

The pool is not the truth: the database is (`FlashSaleItem.taken` and the flash reservations, see
`domain.flash_sale.sales`). A pool that is missing (Redis flushed or restarted, or dropped after a staff change)
answers MISSING and is loaded again from the database. A pool may briefly admit more than the database accepts
(harmless: the database refuses, and the attempt gives its units back).

`known_sold_out` answers without a round trip what the process already knows: exactly, in memory; for Redis, from
the process's sold-out marks (`domain.flash_sale.sold_out`), which may answer SOLD_OUT where the pool would say
LIMIT_EXCEEDED or ENDED for a moment (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError, ErrorCode


class Take(StrEnum):
    OK = "OK"
    HELD = "HELD"
    """This holder already holds units (a double tap with the same idempotency key)."""
    MISSING = "MISSING"
    NOT_STARTED = "NOT_STARTED"
    ENDED = "ENDED"
    NOT_IN_SALE = "NOT_IN_SALE"
    SOLD_OUT = "SOLD_OUT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


_REFUSED = {
    Take.SOLD_OUT: (ErrorCode.SOLD_OUT, "sold out", ["skuId"]),
    Take.LIMIT_EXCEEDED: (ErrorCode.LIMIT_EXCEEDED, "over the per-customer limit of this flash sale", ["quantity"]),
    Take.NOT_STARTED: (ErrorCode.NOT_STARTED, "the flash sale has not started", ["flashSaleId"]),
    Take.ENDED: (ErrorCode.ENDED, "the flash sale has ended", ["flashSaleId"]),
    Take.NOT_IN_SALE: (ErrorCode.NOT_FOUND, "this SKU is not in the flash sale", ["skuId"]),
}


def refused(outcome: Take) -> DomainError:
    """What the customer is told for a refusal, whoever finds it (the pool, a sold-out mark, the group commit's
    database guard): one payload per refusal."""
    code, message, field = _REFUSED[outcome]
    return DomainError(code, message, field)


@dataclass(frozen=True)
class Held:
    customer_id: int
    sku_id: int
    quantity: int
    at_ms: int = 0
    """When the pool admitted it (0: loaded from the database, where its order is)."""

    def encode(self) -> str:
        return f"{self.customer_id}:{self.sku_id}:{self.quantity}:{self.at_ms}"

    @classmethod
    def decode(cls, text: str) -> Held:
        parts = [int(part) for part in text.split(":")]
        return cls(*parts[:4])  # three parts: a pool loaded before admit times were kept


@dataclass(frozen=True)
class PoolState:
    """Everything a pool holds for one sale, as the database has it (times in epoch milliseconds)."""

    sale_id: int
    starts_ms: int
    ends_ms: int
    limit: int
    left: dict[int, int]
    """SKU id -> units the pool still gives."""
    bought: dict[int, int] = field(default_factory=dict)
    """customer id -> units held or bought in this sale."""
    holders: dict[str, Held] = field(default_factory=dict)


@dataclass(frozen=True)
class Ask:
    """One attempt on a sale's pool, asked with others (`FlashPool.take_many`)."""

    sku_id: int
    customer_id: int
    quantity: int
    holder: str
    now_ms: int


class FlashPool(Protocol):
    async def take(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, holder: str,
                   now_ms: int, *, looked: bool = False) -> Take:
        """Take `quantity` units of the SKU for the holder if the sale is open, the customer stays within the limit
        and the units are there (checked in that order: over the limit is LIMIT_EXCEEDED even when sold out).
        Nothing changes unless the answer is OK. `looked`: the caller asked `known_sold_out` for this attempt
        already (and was let through), so the pool itself is asked."""

    async def take_many(self, sale_id: int, asks: Sequence[Ask]) -> list[Take]:
        """`take` for each of several attempts on one sale, in order, as if asked one after the other (in one round
        trip), each having asked `known_sold_out` already."""

    def known_sold_out(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, now_ms: int, *,
                       claim: bool = True) -> bool:
        """True when this process knows, without a round trip, that `take` would answer SOLD_OUT (or, for a pool in
        Redis, that it did a moment ago: `domain.flash_sale.sold_out`). False: ask `take`. `claim=False` changes
        nothing (a sold-out mark past its time is left for the attempt that asks with `claim=True`)."""

    async def give_back(self, sale_id: int, holder: str) -> bool:
        """Return the holder's units to the pool and the customer's allowance. True only for the call that did."""

    async def load(self, state: PoolState) -> bool:
        """Install the sale's pool unless one is there already (True if this call installed it)."""

    async def drop(self, sale_id: int) -> None:
        """Forget the sale's pool (after a staff change or when it is settled): the next attempt reloads it."""

    async def holders(self, sale_id: int) -> dict[str, Held] | None:
        """Who holds units of the sale, and since when; None where the pool is not loaded."""

    async def left(self, sale_id: int, sku_ids: list[int]) -> dict[int, int | None]:
        """Units left per SKU; None where the pool is not loaded."""


def checked_take(quantity: int, holder: str) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValueError("quantity must be a positive integer")
    if not holder or len(holder) > 200:
        raise ValueError("holder must be 1 to 200 characters")


@dataclass
class _Pool:
    state: PoolState
    left: dict[int, int]
    bought: dict[int, int]
    holders: dict[str, Held]


class MemoryFlashPool:
    """FlashPool in one process. No method awaits, so each call is atomic on the event loop."""

    def __init__(self) -> None:
        self._pools: dict[int, _Pool] = {}

    async def take(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, holder: str,
                   now_ms: int, *, looked: bool = False) -> Take:
        return (await self.take_many(sale_id, [Ask(sku_id, customer_id, quantity, holder, now_ms)]))[0]

    async def take_many(self, sale_id: int, asks: Sequence[Ask]) -> list[Take]:
        for ask in asks:  # all of them before any is taken, as the Redis pool does
            checked_take(ask.quantity, ask.holder)
        return [self._take(sale_id, ask) for ask in asks]

    def _take(self, sale_id: int, ask: Ask) -> Take:
        sku_id, customer_id, quantity, holder, now_ms = ask.sku_id, ask.customer_id, ask.quantity, ask.holder, \
            ask.now_ms
        pool = self._pools.get(sale_id)
        if pool is None:
            return Take.MISSING
        if now_ms < pool.state.starts_ms:
            return Take.NOT_STARTED
        if now_ms >= pool.state.ends_ms:
            return Take.ENDED
        if holder in pool.holders:
            return Take.HELD
        left = pool.left.get(sku_id)
        if left is None:
            return Take.NOT_IN_SALE
        # The limit before the units: a buyer over it is told so, even when the pool is empty too.
        if pool.bought.get(customer_id, 0) + quantity > pool.state.limit:
            return Take.LIMIT_EXCEEDED
        if left < quantity:
            return Take.SOLD_OUT
        pool.left[sku_id] = left - quantity
        pool.bought[customer_id] = pool.bought.get(customer_id, 0) + quantity
        pool.holders[holder] = Held(customer_id, sku_id, quantity, now_ms)
        return Take.OK

    def known_sold_out(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, now_ms: int, *,
                       claim: bool = True) -> bool:
        """Exactly what `take` would answer for a customer holding nothing in the sale (looking changes nothing)."""
        pool = self._pools.get(sale_id)
        if pool is None or not pool.state.starts_ms <= now_ms < pool.state.ends_ms:
            return False
        left = pool.left.get(sku_id)
        return (left is not None and left < quantity <= pool.state.limit
                and pool.bought.get(customer_id, 0) == 0)

    async def give_back(self, sale_id: int, holder: str) -> bool:
        pool = self._pools.get(sale_id)
        if pool is None:
            return False
        held = pool.holders.pop(holder, None)
        if held is None:
            return False
        if held.sku_id in pool.left:
            pool.left[held.sku_id] += held.quantity
        pool.bought[held.customer_id] = max(pool.bought.get(held.customer_id, 0) - held.quantity, 0)
        return True

    async def load(self, state: PoolState) -> bool:
        if state.sale_id in self._pools:
            return False
        self._pools[state.sale_id] = _Pool(state, dict(state.left), dict(state.bought), dict(state.holders))
        return True

    async def drop(self, sale_id: int) -> None:
        self._pools.pop(sale_id, None)

    async def holders(self, sale_id: int) -> dict[str, Held] | None:
        pool = self._pools.get(sale_id)
        return None if pool is None else dict(pool.holders)

    async def left(self, sale_id: int, sku_ids: list[int]) -> dict[int, int | None]:
        pool = self._pools.get(sale_id)
        return {sku_id: None if pool is None else pool.left.get(sku_id) for sku_id in sku_ids}
