"""A double tap (one idempotency key) holds the stock counter's units under the key: the second tap waits for the
first one's order, and units left by a tap that died are taken over after a while, never taken twice."""

from __future__ import annotations

import pytest

from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.orders import checkout as checkout_module
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.holders import holder_for
from domain.orders.models import Order
from tests.domain.orders.test_checkout_concurrency import ADDRESS


@pytest.fixture
async def sku(make_product) -> Sku:
    product = await make_product("双击测试", skus=[{"specs": [], "price": 500, "stock": 2}])
    return await Sku.get(product_id=product.id)


async def test_units_held_by_a_tap_that_died_are_taken_over_once(app, sku, monkeypatch):
    deps = app.state.runtime.services.orders
    alice = await Customer.create(openid="o-twin-alice")
    holder = holder_for(alice.id, "tap-1", "unused")
    assert await deps.inventory.admit(holder, {sku.id: 2}, 900)  # a tap that took the last units, then died
    monkeypatch.setattr(checkout_module, "TWIN_PATIENCE", 0.05)

    placed = await checkout(deps, CheckoutRequest(customer_id=alice.id, delivery=ADDRESS, lines=[(sku.id, 2)],
                                                  idempotency_key="tap-1"))

    assert placed.order.idempotency_key == "tap-1"
    assert await Order.all().count() == 1
    assert await deps.inventory.counter.counts([sku.id]) == {sku.id: 0}  # taken once, not twice
    await sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (2, 2)
