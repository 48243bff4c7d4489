"""The flash items a buy checks are read once per `ttl` per process; a staff change or a missing item is never kept."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.flash_sale.item_cache import ItemCache


class Loader:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.items: dict[tuple[int, int], Any] = {(1, 10): "item 1/10", (2, 20): "item 2/20"}

    async def __call__(self, sale_id: int, sku_id: int) -> Any:
        self.calls.append((sale_id, sku_id))
        return self.items.get((sale_id, sku_id))


async def test_an_item_is_read_once_until_its_time_is_up() -> None:
    now = [100.0]
    cache, load = ItemCache(ttl=1.0, clock=lambda: now[0]), Loader()
    assert [await cache.get(1, 10, load) for _ in range(3)] == ["item 1/10"] * 3
    assert load.calls == [(1, 10)]
    now[0] += 1.0
    assert await cache.get(1, 10, load) == "item 1/10"
    assert load.calls == [(1, 10)] * 2


async def test_a_missing_item_is_asked_every_time_and_forget_drops_one_sale() -> None:
    cache, load = ItemCache(ttl=60.0), Loader()
    assert await cache.get(3, 30, load) is None and await cache.get(3, 30, load) is None
    assert load.calls == [(3, 30)] * 2
    await cache.get(1, 10, load), await cache.get(2, 20, load)
    cache.forget(1)
    await cache.get(1, 10, load), await cache.get(2, 20, load)
    assert load.calls[2:] == [(1, 10), (2, 20), (1, 10)]


class HeldLoader(Loader):
    """A read that waits until `release` is set, as a read the database is slow to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def __call__(self, sale_id: int, sku_id: int) -> Any:
        await self.release.wait()
        return await super().__call__(sale_id, sku_id)


async def test_buys_that_find_an_item_out_of_time_share_one_read() -> None:
    cache, load = ItemCache(ttl=60.0), HeldLoader()
    waiting = [asyncio.ensure_future(cache.get(1, 10, load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiting) == ["item 1/10"] * 20
    assert load.calls == [(1, 10)]


async def test_a_read_that_started_before_a_staff_change_keeps_nothing() -> None:
    cache, load = ItemCache(ttl=60.0), HeldLoader()
    before = asyncio.ensure_future(cache.get(1, 10, load))
    await asyncio.sleep(0)
    cache.forget(1)
    load.release.set()
    assert await before == "item 1/10"
    assert await cache.get(1, 10, load) == "item 1/10"
    assert load.calls == [(1, 10)] * 2  # read again after the change
