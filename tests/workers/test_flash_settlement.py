"""Settling flash sales that ended: unsold units go back to normal stock exactly once, and the pool is dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog.models import Sku
from domain.flash_sale.models import FlashSale
from domain.flash_sale.policy import pool_of
from domain.flash_sale.pool import Take
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale
from workers.sweeps import settle_flash_sales

pytestmark = pytest.mark.usefixtures("audited")


async def test_two_concurrent_settle_sweeps_give_the_unsold_units_back_once(app, make_product):
    deps = app.state.runtime.services.orders
    product = await make_product("限量款", skus=[{"specs": [], "price": 5000, "stock": 40}])
    sku = await Sku.get(product_id=product.id)
    now = datetime.now(UTC)
    sale = await create_flash_sale(FlashSaleDraft("秒杀", now - timedelta(minutes=5), now + timedelta(minutes=1), 2,
                                                  [ItemDraft(sku.id, 1000, 15)]), now)
    assert await pool_of(deps).take(sale.id, sku.id, 1, 1, "n:x", 0) is Take.MISSING
    await sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (40, 15)
    assert await settle_flash_sales(deps, now) == 0  # still running: nothing to settle

    later = now + timedelta(minutes=2)
    results = await asyncio.gather(settle_flash_sales(deps, later), settle_flash_sales(deps, later))
    assert sum(results) >= 1
    await sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (40, 0)
    assert (await FlashSale.get(id=sale.id)).settled_at is not None
    assert await settle_flash_sales(deps, later) == 0
    assert await deps.inventory.counter.counts([sku.id]) == {sku.id: 40}
