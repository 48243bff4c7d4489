"""The stock counter for the embedded single-process server: two dicts, no locks.

No method awaits, so each call runs start to finish on the event loop and concurrent tasks cannot interleave.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from domain.inventory.counter import Admission, Reading


def checked_lines(lines: Mapping[int, int], ttl_seconds: int) -> dict[int, int]:
    """Both counters refuse the same bad input: no lines, non-positive quantities or ttl."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError("ttl_seconds must be a positive integer")
    if not lines:
        raise ValueError("an admission needs at least one line")
    for sku_id, quantity in lines.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"quantity for SKU {sku_id} must be a positive integer")
    return dict(lines)


def checked_counts(counts: Mapping[int, int]) -> dict[int, int]:
    for sku_id, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValueError(f"count for SKU {sku_id} must be an integer")
    return dict(counts)


@dataclass(slots=True)
class _Hold:
    lines: dict[int, int]
    expires_at: float


class MemoryStockCounter:
    """Per-process counts and holders.

    A holder expires after its ttl: admit no longer sees it (asking again takes again), but the counter does not
    return its units by itself. The database sweep releases the order and calls give_back, which returns them once
    and drops the record; forget drops it too. So the table holds only holders the sweep has not yet settled.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[int, int] = {}
        self._versions: dict[int, int] = {}
        self._ticks = itertools.count(1)
        self._holds: dict[str, _Hold] = {}

    def __len__(self) -> int:
        """Holder records kept (live or expired but not yet given back or forgotten)."""
        return len(self._holds)

    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> Admission:
        wanted = checked_lines(lines, ttl_seconds)
        now = self._clock()
        hold = self._holds.get(holder)
        if hold is not None and hold.expires_at > now:
            return Admission(admitted=True, already_held=True)
        missing = [sku_id for sku_id in wanted if sku_id not in self._counts]
        if missing:
            return Admission(admitted=False, missing=missing)
        sold_out = [sku_id for sku_id, quantity in wanted.items() if self._counts[sku_id] < quantity]
        if sold_out:
            return Admission(admitted=False, sold_out=sold_out)
        for sku_id, quantity in wanted.items():
            self._counts[sku_id] -= quantity
        self._holds[holder] = _Hold(wanted, now + ttl_seconds)  # an expired hold's units stay taken, as in Redis
        return Admission(admitted=True)

    async def give_back(self, holder: str, sku_ids: list[int] | None = None) -> bool:
        hold = self._holds.pop(holder, None)  # this counter keeps the holder's lines: sku_ids are not needed
        if hold is None:
            return False
        for sku_id, quantity in hold.lines.items():
            if sku_id in self._counts:
                self._set(sku_id, self._counts[sku_id] + quantity)
        return True

    async def forget(self, holder: str, sku_ids: list[int] | None = None) -> bool:
        return self._holds.pop(holder, None) is not None

    async def load(self, counts: Mapping[int, int]) -> None:
        for sku_id, count in checked_counts(counts).items():
            if sku_id not in self._counts:
                self._set(sku_id, count)

    async def read(self, sku_ids: list[int]) -> dict[int, Reading]:
        return {sku_id: Reading(self._counts.get(sku_id), self._versions.get(sku_id)) for sku_id in sku_ids}

    async def reset(self, counts: Mapping[int, int], seen: Mapping[int, int | None]) -> list[int]:
        written = []
        for sku_id, count in checked_counts(counts).items():
            if self._versions.get(sku_id) == seen[sku_id]:
                self._set(sku_id, count)
                written.append(sku_id)
        return written

    def _set(self, sku_id: int, count: int) -> None:
        """Every change but an admit gets a new version (see Reading); versions never repeat in this process."""
        self._counts[sku_id] = count
        self._versions[sku_id] = next(self._ticks)

    async def counts(self, sku_ids: list[int]) -> dict[int, int | None]:
        return {sku_id: self._counts.get(sku_id) for sku_id in sku_ids}
