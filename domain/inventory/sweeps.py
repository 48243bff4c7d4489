"""The periodic stock-counter heal: every live SKU's count is set from the database, a batch at a time.

A counter can drift from the database (a crash between a database release and the counter's give_back, a Redis
restart that reloaded a SKU while units were admitted but not yet held, a manual edit). The database is the truth,
so a sweep that resets every count from it bounds any drift to one sweep interval. A reset never overwrites a
give-back that lands while it runs (see `Inventory.resync`). A reset racing a checkout that was admitted but has not
written its hold yet over-counts that SKU until the next sweep; that is harmless, because the database's conditional
update on `Sku.reserved` still refuses units it does not have.

The SKUs come from the database, a batch at a time, and each is read and written on its own keys: nothing scans
Redis, so it works the same on a Redis Cluster, whose SKUs live on every shard.
"""

from __future__ import annotations

from typing import Protocol

from domain.catalog.models import Sku
from domain.columns import column
from domain.inventory.service import Inventory

RESYNC_BATCH = 500


class HasInventory(Protocol):
    inventory: Inventory


async def resync_stock(deps: HasInventory, batch: int = RESYNC_BATCH) -> int:
    """Reset the counter from the database for every SKU not deleted, `batch` SKUs at a time; returns how many
    counts were wrong (and are now right)."""
    changed, after = 0, 0
    while True:
        ids = await column(Sku.filter(deleted_at__isnull=True, id__gt=after).order_by("id").limit(batch), "id", int)
        if not ids:
            return changed
        changed += await deps.inventory.resync(list(ids))
        after = ids[-1]
        if len(ids) < batch:
            return changed
