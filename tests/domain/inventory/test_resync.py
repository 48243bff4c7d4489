"""The stock resync against give-backs: units that come back while a resync runs are never overwritten by it."""

from __future__ import annotations

import asyncio

import pytest

from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.inventory import holds
from domain.inventory import service as inventory_service
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import Address, DeliveryChoice
from domain.orders.models import Order
from domain.orders.payment import cancel

ADDRESS = DeliveryChoice(address=Address("张三", "13800138000", "广东省", "深圳市", "南山区", "科技园 1 号"))


@pytest.fixture
async def sku(make_product) -> Sku:
    product = await make_product("对账单品", skus=[{"specs": [], "price": 990, "stock": 100}])
    return await Sku.get(product_id=product.id)


async def _orders(deps, sku: Sku, count: int, quantity: int = 1) -> list[Order]:
    await Customer.bulk_create([Customer(openid=f"o-resync-{i}") for i in range(count)])
    placed = []
    for customer in await Customer.filter(openid__startswith="o-resync-").order_by("id"):
        request = CheckoutRequest(customer_id=customer.id, delivery=ADDRESS, lines=[(sku.id, quantity)])
        placed.append((await checkout(deps, request)).order)
    return placed


async def _counter_units(deps, sku: Sku) -> int | None:
    return (await deps.inventory.counter.counts([sku.id]))[sku.id]


async def test_a_give_back_between_the_resyncs_read_and_its_write_is_kept(app, sku, monkeypatch):
    deps = app.state.runtime.services.orders
    [order] = await _orders(deps, sku, 1, quantity=3)
    seen = (await deps.inventory.counter.read([sku.id]))[sku.id]
    assert seen.units == 97
    assert await deps.inventory.counter.reset({sku.id: 2}, {sku.id: seen.version}) == [sku.id]  # drifted low
    database_counts = holds.database_counts
    cancelled = False

    async def read_then_cancel(sku_ids: list[int]) -> dict[int, int]:
        """The resync has read the counter; it reads the database (97 free), and before it writes, the order is
        cancelled: the database releases 3 units and the counter gets them back."""
        nonlocal cancelled
        counts = await database_counts(sku_ids)
        if not cancelled:
            cancelled = True
            await cancel(deps, order, "customer")
        return counts

    monkeypatch.setattr(inventory_service.holds, "database_counts", read_then_cancel)
    await deps.inventory.resync([sku.id])

    assert cancelled
    assert await holds.database_counts([sku.id]) == {sku.id: 100}
    assert await _counter_units(deps, sku) == 100  # not 97: the three units given back were not overwritten


async def test_resyncs_racing_cancellations_never_lose_a_unit(app, sku, monkeypatch):
    """Real concurrency: each of 40 orders is cancelled (database release, then counter give-back) while a resync,
    started a little later each time and whose database read is made a little slow, runs over the same SKU. After
    each race the counter may not be below the database. It may be above for a while (the resync read a release
    whose give-back came after its write: harmless, the database refuses what it does not have); the next resync
    in a quiet moment sets it right."""
    deps = app.state.runtime.services.orders
    orders = await _orders(deps, sku, 40)
    assert await _counter_units(deps, sku) == 60
    database_counts = holds.database_counts

    async def slow_database_counts(sku_ids: list[int]) -> dict[int, int]:
        counts = await database_counts(sku_ids)
        await asyncio.sleep(0.005)
        return counts

    async def resync_after(delay: float) -> None:
        await asyncio.sleep(delay)
        await deps.inventory.resync([sku.id])

    monkeypatch.setattr(inventory_service.holds, "database_counts", slow_database_counts)
    for i, order in enumerate(orders):
        await asyncio.gather(cancel(deps, order, "customer"), resync_after((i % 10) * 0.001))
        [free] = (await database_counts([sku.id])).values()
        assert free == 61 + i
        assert await _counter_units(deps, sku) >= free, f"a unit given back was lost in race {i}"
    await deps.inventory.resync([sku.id])
    assert await _counter_units(deps, sku) == 100
