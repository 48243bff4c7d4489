"""Inventory as the orders area uses it: the fast counter first, the database as the final word."""

from __future__ import annotations

from collections.abc import Mapping

from domain.errors import DomainError, ErrorCode
from domain.inventory import holds
from domain.inventory.counter import StockCounter


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
        if not await self.counter.give_back(holder):
            await self.resync(sku_ids)

    async def forget(self, holder: str) -> None:
        await self.counter.forget(holder)

    async def resync(self, sku_ids: list[int]) -> int:
        """Make the counter agree with the database (after staff stock changes, or on the periodic sweep). Returns
        how many SKUs' counts it changed."""
        if not sku_ids:
            return 0
        wanted = await holds.database_counts(sku_ids)
        current = await self.counter.counts(list(wanted))
        changed = {sku_id: count for sku_id, count in wanted.items() if current.get(sku_id) != count}
        if changed:
            await self.counter.reset(changed)
        return len(changed)
