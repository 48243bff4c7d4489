"""The flash sale items buys are checked against, kept a moment in the process: a crowd on one sale reads its item
(with the sale, the SKU and the product) once a second instead of once a tap.

What the cache answers is only ever the first check: the group commit reads the sale again, under its lock, before
anything is written, and the item's price and pool cannot change once the sale has started. So a staff change
reaches a buy at once in the process that made it (`forget`, from `sales.after_change`) and within `TTL_SECONDS`
in the others; a product unpublished or deleted meanwhile may still be bought for that long. Missing items are not
kept (a stranger's made-up ids cost a query each, never memory). When an item's time is up, the buys that come
meanwhile share one read of it rather than each reading it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.flash_sale.models import FlashSaleItem

TTL_SECONDS = 1.0
MAX_ENTRIES = 4096


class ItemCache:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[tuple[int, int], tuple[FlashSaleItem, float]] = {}
        self._loading: dict[tuple[int, int], asyncio.Future[FlashSaleItem | None]] = {}
        self._epoch = 0
        """Raised by `forget`: a read that started before it keeps nothing."""

    async def get(self, sale_id: int, sku_id: int,
                  load: Callable[[int, int], Awaitable[FlashSaleItem | None]]) -> FlashSaleItem | None:
        key = (sale_id, sku_id)
        kept = self._items.get(key)
        if kept is not None and self._clock() < kept[1]:
            return kept[0]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(key, load, self._epoch))
            self._loading[key] = pending
        return await asyncio.shield(pending)

    async def _read(self, key: tuple[int, int], load: Callable[[int, int], Awaitable[FlashSaleItem | None]],
                    epoch: int) -> FlashSaleItem | None:
        try:
            item = await load(*key)
            if item is not None and epoch == self._epoch:
                now = self._clock()
                if len(self._items) >= MAX_ENTRIES:
                    self._items = {k: value for k, value in self._items.items() if now < value[1]}
                self._items[key] = (item, now + self.ttl)
            return item
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]

    def forget(self, sale_id: int | None = None) -> None:
        """The sale's items (None: every item) are read again on the next buy."""
        self._epoch += 1
        if sale_id is None:
            self._items.clear()
            self._loading.clear()
        else:
            self._items = {key: value for key, value in self._items.items() if key[0] != sale_id}
            self._loading = {key: value for key, value in self._loading.items() if key[0] != sale_id}
