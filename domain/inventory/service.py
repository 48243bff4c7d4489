"""Inventory as the orders area uses it: the fast counter first, the database as the final word.

None of these calls may run inside a database transaction (no Redis round trip while one is open): admit before
the order's transaction, give_back, forget and resync after the transaction that changed the database commits.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from domain.errors import DomainError, ErrorCode
from domain.inventory import holds
from domain.inventory.counter import StockCounter

log = structlog.get_logger("pond.inventory")
RESYNC_ATTEMPTS = 3


def sold_out(sku_ids: list[int]) -> DomainError:
    return DomainError(ErrorCode.SOLD_OUT, f"sold out: not enough stock for {len(sku_ids)} item(s)", ["lines"])


class Inventory:
    def __init__(self, counter: StockCounter) -> None:
        self.counter = counter

    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> bool:
        """Take the units in the counter or raise SOLD_OUT; a SKU the counter lost is reloaded from the database.
        Returns False when the holder already held units (nothing was taken by this call)."""
        admission = await self.counter.admit(holder, lines, ttl_seconds)
        if admission.missing:
            await self.counter.load(await holds.database_counts(admission.missing))
            admission = await self.counter.admit(holder, lines, ttl_seconds)
        if admission.missing:
            raise DomainError(ErrorCode.NOT_FOUND, "an item is no longer for sale", ["lines"])
        if not admission.admitted:
            raise sold_out(admission.sold_out)
        return not admission.already_held

    async def give_back(self, holder: str, sku_ids: list[int]) -> None:
        """Call after the database released the holder's units. If the counter lost the holder (its record
        expired, or Redis was flushed and reloaded while the order was held), the counter would under-count for
        good: set those SKUs from the database instead. Over-counting for a moment is harmless; the database
        still refuses what it does not have."""
        if not await self.counter.give_back(holder, sku_ids):
            await self.resync(sku_ids)

    async def forget(self, holder: str, sku_ids: list[int]) -> None:
        await self.counter.forget(holder, sku_ids)

    async def resync(self, sku_ids: list[int]) -> int:
        """Make the counter agree with the database (after staff stock changes, or on the periodic sweep). Returns
        how many SKUs' counts it changed.

        The counter is read (with its versions) before the database, and a count is written only if its version
        is unchanged (compare-and-set). So a give-back that lands after the database was read (its units are not
        in what was read) is never overwritten: the write is refused and the SKU read again. Admits do not change
        the version: overwriting one only over-counts (its hold is not in the database yet, or it is and the count
        is right), which the database's own guard makes harmless until the next resync. A SKU refused
        RESYNC_ATTEMPTS times (give-backs kept landing) is left to the next resync."""
        pending = sorted(set(sku_ids))
        changed = 0
        for _ in range(RESYNC_ATTEMPTS):
            if not pending:
                return changed
            seen = await self.counter.read(pending)
            wanted = await holds.database_counts(pending)
            stale = {sku_id: count for sku_id, count in wanted.items() if seen[sku_id].units != count}
            written = await self.counter.reset(stale, {sku_id: seen[sku_id].version for sku_id in stale})
            changed += len(written)
            pending = sorted(set(stale) - set(written))
        if pending:
            log.info("stock resync left SKUs for the next pass: their units kept coming back", skus=pending)
        return changed
