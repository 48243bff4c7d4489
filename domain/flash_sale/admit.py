"""The admit: the first step of every flash sale buy that passed its own checks, taken together with the buys of the
same turn of the event loop (`admit_batch` is the batch function of a process-wide strawberry `DataLoader` without
a cache, `domain.selling.flash_admitter`: the attempts made while one batch waits to start join it, and batches do
not wait for one another).

For a batch, in this order:

1. one statement reads each buyer's unpaid orders and which buyers already have an order under the buy's
   idempotency key (`limits.pending_and_keyed`). A buyer at the unpaid-order cap is refused LIMIT_EXCEEDED before the
   pool, so a refused attempt never holds units that other buyers are meanwhile told are sold out; a double tap
   whose first tap has its order is let through (the pool answers it HELD, and `buy` answers the earlier order);
2. one pool script per sale takes for the buyers let through, one after the other in arrival order
   (`FlashPool.take_many`), as if each had asked alone.

Alone (one buyer at a time) this is what each buy did before it was gathered: one read and one script. Under the
flash bench's crowd about six buys share them. Each attempt is answered with the pool's answer or its own refusal;
an error answers the attempts it concerns (the whole batch for the read, one sale's attempts for its script), and
nothing was taken for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from domain.flash_sale.policy import pool_of
from domain.flash_sale.pool import Ask, FlashPool, Take
from domain.orders import limits
from domain.orders.deps import OrderDeps

MAX_ADMITTED = 64
"""Attempts admitted together at most (more in one turn of the event loop form another batch)."""


@dataclass(frozen=True)
class Attempt:
    """A buy that passed its own checks and asks the pool for the first time."""

    deps: OrderDeps
    sale_id: int
    customer_id: int
    idempotency_key: str | None
    ask: Ask


async def admit_batch(batch: Sequence[Attempt]) -> list[Take | BaseException]:
    """Each attempt's answer from the pool, or its refusal (LIMIT_EXCEEDED at the unpaid-order cap) or error."""
    answers: list[Take | BaseException] = []
    try:
        held, keyed = await limits.pending_and_keyed([(a.customer_id, a.idempotency_key) for a in batch])
    except Exception as exc:  # noqa: BLE001 - each attempt is answered with it: nothing was taken
        return [exc for _ in batch]
    asking: dict[tuple[int, int], tuple[FlashPool, list[int]]] = {}
    for index, attempt in enumerate(batch):
        replay = attempt.idempotency_key is not None and (attempt.customer_id, attempt.idempotency_key) in keyed
        over = None if replay else limits.over_pending(held.get(attempt.customer_id, 0),
                                                       attempt.deps.max_pending_orders)
        answers.append(over if over is not None else Take.MISSING)
        if over is None:
            pool = pool_of(attempt.deps)
            asking.setdefault((id(pool), attempt.sale_id), (pool, []))[1].append(index)
    groups = list(asking.items())
    taken = await asyncio.gather(*(pool.take_many(sale_id, [batch[i].ask for i in indexes])
                                   for (_, sale_id), (pool, indexes) in groups), return_exceptions=True)
    for (_, (_, indexes)), outcomes in zip(groups, taken, strict=True):
        for position, index in enumerate(indexes):
            answers[index] = outcomes if isinstance(outcomes, BaseException) else outcomes[position]
    return answers
