"""Stock never oversells: 500 buyers at once for 50 units, with and without Redis losing its counts midway."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from domain.catalog.models import Sku
from domain.errors import DomainError
from domain.identity.models import Customer
from domain.inventory.models import Reservation, ReservationState
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import Address, DeliveryChoice
from domain.orders.models import Order
from tests.support import backends

pytestmark = pytest.mark.redis_cluster_too

BUYERS = 500
UNITS = 50
ADDRESS = DeliveryChoice(address=Address("张三", "13800138000", "广东省", "深圳市", "南山区", "科技园 1 号"))


async def _buyers(count: int) -> list[Customer]:
    await Customer.bulk_create([Customer(openid=f"o-buyer-{i}") for i in range(count)])
    return await Customer.all().order_by("id")


async def _buy(deps, customer: Customer, sku_id: int) -> str:
    try:
        await checkout(deps, CheckoutRequest(customer_id=customer.id, delivery=ADDRESS, lines=[(sku_id, 1)]))
    except DomainError as exc:
        return exc.code.value
    return "OK"


async def _assert_exactly_sold(sku: Sku, outcomes: list[str]) -> None:
    assert Counter(outcomes) == {"OK": UNITS, "SOLD_OUT": BUYERS - UNITS}
    await sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (UNITS, UNITS)
    assert await Order.all().count() == UNITS
    assert await Reservation.filter(state=ReservationState.HELD).count() == UNITS


@pytest.fixture
async def hot_sku(make_product) -> Sku:
    product = await make_product("秒杀爆款", skus=[{"specs": [], "price": 990, "stock": UNITS}])
    return await Sku.get(product_id=product.id)


async def test_500_concurrent_checkouts_for_50_units_reserve_exactly_50(app, hot_sku):
    deps = app.state.runtime.services.orders
    buyers = await _buyers(BUYERS)
    outcomes = await asyncio.gather(*(_buy(deps, customer, hot_sku.id) for customer in buyers))
    await _assert_exactly_sold(hot_sku, list(outcomes))


async def test_a_redis_flush_in_the_middle_of_the_rush_changes_nothing(app, backend, hot_sku):
    if not backend.real:
        pytest.skip("the embedded counter lives in the process; there is no Redis to flush")
    deps = app.state.runtime.services.orders
    buyers = await _buyers(BUYERS)
    ten_done = asyncio.Event()
    finished = 0

    async def buy(customer: Customer) -> str:
        nonlocal finished
        outcome = await _buy(deps, customer, hot_sku.id)
        finished += 1
        if finished == 10:
            ten_done.set()
        return outcome

    async def flush_midway() -> None:
        await ten_done.wait()
        await backends.delete_redis_keys(backend.redis_prefix + ":stock", backend.redis_url)

    attempts = [asyncio.ensure_future(buy(customer)) for customer in buyers]
    await asyncio.gather(flush_midway(), *attempts)
    await _assert_exactly_sold(hot_sku, [task.result() for task in attempts])
