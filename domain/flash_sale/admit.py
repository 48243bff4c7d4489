"""The admit: the first step of every flash sale buy that passed its own checks, taken together with the buys of the
same turn of the event loop (`admit_batch` is the batch function of a `turn_batch.TurnBatch`,
`domain.selling.flash_admitter`: the attempts made during one turn form a batch, and batches do not wait for one
another).

For a batch, in this order:

1. one statement reads each buyer's unpaid orders and which buyers already have an order under the buy's
   idempotency key (`limits.pending_and_keyed`). A buyer at the unpaid-order cap is refused LIMIT_EXCEEDED before the
   pool, so a refused attempt never holds units that other buyers are meanwhile told are sold out; a double tap
   whose first tap has its order is let through (the pool answers it HELD, and `buy` answers the earlier order);
2. one pool script per sale takes for the buyers let through, one after the other in arrival order
   (`FlashPool.take_many`), as if each had asked alone.

Alone (one buyer at a time) this is what each buy did before it was gathered: one read and one script. Under the
flash bench's crowd about a dozen buys share them. Each attempt is answered with the pool's answer or its own
refusal. An error answers each attempt it concerns with its own `NotAdmitted` (the whole batch for the read, one
sale's attempts for its script): after a failed read nothing was taken; a script whose reply was lost may have
taken units, which the pools' heal sweep gives back once no order came (`sales.heal_pools`). A buy whose request
went away while its batch was asked gives back what the pool took for it (`abandoned`).
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


class NotAdmitted(Exception):
    """The admit could not ask the database or the pool for this attempt (the cause is chained)."""


def _not_admitted(cause: BaseException) -> NotAdmitted:
    error = NotAdmitted(f"the attempt could not be admitted: {cause!r}")
    error.__cause__ = cause
    return error


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
        return [_not_admitted(exc) for _ in batch]
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
            answers[index] = _not_admitted(outcomes) if isinstance(outcomes, BaseException) else outcomes[position]
    return answers


async def abandoned(attempt: Attempt, outcome: Take) -> None:
    """An attempt whose request went away while its batch was asked: units the pool took for it go back."""
    if outcome is Take.OK:
        await pool_of(attempt.deps).give_back(attempt.sale_id, attempt.ask.holder)
