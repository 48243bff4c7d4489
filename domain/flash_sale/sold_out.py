"""A process's own memory of sold-out SKUs, so a crowd hitting a sold-out flash sale costs no Redis round trip.

When the pool answers SOLD_OUT for a sale's SKU, the process marks it (with the smallest quantity refused: a buyer
asking for fewer may still get units). While marked, an attempt for at least that quantity is answered SOLD_OUT at
once, unless its customer is one the pool has answered in this sale before (a buyer or a double tap: only the pool
knows whether they are over the limit or hold units under the tap's key, so they still ask it).

The mark is dropped the moment units come back: a give-back or a reload of the pool publishes the sale (and SKU)
on a Redis channel every process listens to (`RedisFlashPool.listen`); a process that gave units back drops its
marks of the sale at once. A mark is also only trusted for `TTL_SECONDS`: then one attempt asks the pool again
(the others keep the mark), so a lost message, a sale that ended by the clock or a pool flushed from Redis is
noticed within that time. A SOLD_OUT answer that was in flight while units came back marks nothing (`generation`).

In a process with several workers, a customer who bought through another worker is told SOLD_OUT rather than
LIMIT_EXCEEDED by a worker that marked the SKU: both refuse, and the first is what the shelf shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from domain.flash_sale.pool import Take

TTL_SECONDS = 0.5


@dataclass
class _Mark:
    quantity: int
    """The smallest quantity the pool refused as SOLD_OUT."""
    until: float


class SoldOutMarks:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._marks: dict[tuple[int, int], _Mark] = {}
        self._answered: set[tuple[int, int]] = set()
        """(sale, customer) pairs the pool has answered OK, HELD or LIMIT_EXCEEDED in this process."""
        self.generation = 0
        """Raised whenever marks are dropped: a SOLD_OUT asked before that marks nothing."""

    def sold_out(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, *, claim: bool = True) -> bool:
        """True: answer SOLD_OUT without asking the pool. A mark past its time lets this attempt ask (and gives the
        others another `ttl` meanwhile): the attempt then asks the pool without looking at the marks again
        (`take(..., looked=True)`), which would refuse it by the mark it has just renewed.
        `claim=False` only looks: a mark past its time answers False and is left for the attempt that will ask."""
        mark = self._marks.get((sale_id, sku_id))
        if mark is None or quantity < mark.quantity or (sale_id, customer_id) in self._answered:
            return False
        now = self._clock()
        if now >= mark.until:
            if claim:
                mark.until = now + self.ttl
            return False
        return True

    def heard(self, sale_id: int, sku_id: int, customer_id: int, quantity: int, outcome: Take,
              generation: int) -> None:
        """What the pool answered an attempt that asked it when `generation` was current."""
        if outcome in (Take.OK, Take.HELD, Take.LIMIT_EXCEEDED):
            self._answered.add((sale_id, customer_id))
        if outcome is Take.OK and (sale_id, sku_id) in self._marks:
            self.returned(sale_id, sku_id)
        elif outcome is Take.SOLD_OUT and generation == self.generation:
            mark = self._marks.get((sale_id, sku_id))
            until = self._clock() + self.ttl
            if mark is None:
                self._marks[(sale_id, sku_id)] = _Mark(quantity, until)
            else:
                mark.quantity, mark.until = min(mark.quantity, quantity), until

    def returned(self, sale_id: int, sku_id: int | None = None) -> None:
        """Units of the SKU (None: of any SKU of the sale) came back, or the sale's pool changed.

        The customers the pool has answered are kept: asking the pool is always right for them, and a process can
        hear its own "pool loaded" message after a buyer's first OK; forgetting that buyer then would answer their
        next tap SOLD_OUT by a mark instead of LIMIT_EXCEEDED (or their held order) by the pool."""
        self.generation += 1
        for key in [key for key in self._marks if key[0] == sale_id and sku_id in (None, key[1])]:
            del self._marks[key]

    def heard_message(self, data: object) -> None:
        """A message of the returns channel: "sale" or "sale:sku"."""
        text = data.decode() if isinstance(data, bytes) else str(data)
        try:
            parts = [int(part) for part in text.split(":")]
        except ValueError:
            return
        if len(parts) == 1:
            self.returned(parts[0])
        elif len(parts) == 2:
            self.returned(parts[0], parts[1])

    def clear(self) -> None:
        """Forget everything (a lost channel, or ids starting again after a test's truncate)."""
        self.generation += 1
        self._marks.clear()
        self._answered.clear()
