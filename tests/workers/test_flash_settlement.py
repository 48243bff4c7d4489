"""Settling flash sales that ended: unsold units go back to normal stock exactly once, and the pool is dropped; and
healing a running sale's pool: units a crashed process admitted but never wrote an order for come back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog.models import Sku
from domain.flash_sale.buy import FlashBuyRequest, buy
from domain.flash_sale.models import FlashSale
from domain.flash_sale.policy import pool_of
from domain.flash_sale.pool import Take
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale, epoch_ms
from domain.identity.models import Customer
from domain.orders.holders import holder_of
from tests.domain.orders.test_checkout_concurrency import ADDRESS
from workers.sweeps import heal_flash_pools, settle_flash_sales

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


async def test_units_admitted_by_a_process_that_died_before_the_commit_come_back_after_a_minute(app, make_product):
    deps = app.state.runtime.services.orders
    product = await make_product("限量款", skus=[{"specs": [], "price": 5000, "stock": 40}])
    sku = await Sku.get(product_id=product.id)
    now = datetime.now(UTC)
    sale = await create_flash_sale(FlashSaleDraft("秒杀", now - timedelta(minutes=5), now + timedelta(minutes=30), 2,
                                                  [ItemDraft(sku.id, 1000, 10)]), now)
    buyer = await Customer.create(openid="o-heal-buyer")
    placed = await buy(deps, FlashBuyRequest(buyer.id, sale.id, sku.id, 1, delivery=ADDRESS))
    pool = pool_of(deps)
    crashed = epoch_ms(now - timedelta(minutes=2))
    assert await pool.take(sale.id, sku.id, 90_001, 2, "n:F-crashed", crashed) is Take.OK  # no order will come
    assert await pool.take(sale.id, sku.id, 90_002, 1, "n:F-in-flight", epoch_ms(now)) is Take.OK  # being written
    assert await pool.left(sale.id, [sku.id]) == {sku.id: 6}

    assert await heal_flash_pools(deps, now) == 1
    assert await pool.left(sale.id, [sku.id]) == {sku.id: 8}
    held = await pool.holders(sale.id)
    assert held is not None and set(held) == {holder_of(placed.order), "n:F-in-flight"}
    assert await heal_flash_pools(deps, now) == 0
    assert await pool.give_back(sale.id, "n:F-in-flight")  # its batch failed after all
