"""Order numbers are random, so two orders may draw the same one: checkout then draws again, losing nothing."""

from __future__ import annotations

import pytest

from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.orders import checkout as checkout_module
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.holders import holder_of
from domain.orders.models import Order
from domain.orders.numbers import order_number
from tests.domain.orders.test_checkout_concurrency import ADDRESS


@pytest.fixture
async def sku(make_product) -> Sku:
    product = await make_product("撞号测试", skus=[{"specs": [], "price": 500, "stock": 5}])
    return await Sku.get(product_id=product.id)


def test_numbers_are_valid_out_trade_numbers() -> None:
    from datetime import UTC, datetime

    number = order_number(datetime(2026, 11, 23, 4, 12, tzinfo=UTC))
    assert number.startswith("P2611230412") and len(number) == 17 and number[1:].isdigit()


async def test_a_taken_number_is_drawn_again_and_the_stock_is_held_once(app, sku, monkeypatch):
    deps = app.state.runtime.services.orders
    alice, bob = [await Customer.create(openid=f"o-number-{name}") for name in ("alice", "bob")]
    drawn = iter(["P2611230412000001", "P2611230412000001", "P2611230412000002"])
    monkeypatch.setattr(checkout_module, "order_number", lambda _at: next(drawn))
    first = await checkout(deps, CheckoutRequest(customer_id=alice.id, delivery=ADDRESS, lines=[(sku.id, 1)]))
    second = await checkout(deps, CheckoutRequest(customer_id=bob.id, delivery=ADDRESS, lines=[(sku.id, 2)]))
    assert (first.order.number, second.order.number) == ("P2611230412000001", "P2611230412000002")
    assert await Order.filter(customer_id=bob.id).count() == 1
    await sku.refresh_from_db()
    assert sku.reserved == 3
    assert await deps.inventory.counter.counts([sku.id]) == {sku.id: 2}  # alice's hold was not given back


async def test_a_number_of_a_paid_order_is_drawn_again_and_nothing_is_lost(app, sku, monkeypatch):
    """The first order's holder record is gone (it was paid), so the second admit really takes units: writing the
    order fails on the number, the units go back, and the next number holds them."""
    deps = app.state.runtime.services.orders
    alice, bob = [await Customer.create(openid=f"o-paid-number-{name}") for name in ("alice", "bob")]
    drawn = iter(["P2611230412000011", "P2611230412000011", "P2611230412000012"])
    monkeypatch.setattr(checkout_module, "order_number", lambda _at: next(drawn))
    first = await checkout(deps, CheckoutRequest(customer_id=alice.id, delivery=ADDRESS, lines=[(sku.id, 1)]))
    await deps.inventory.forget(holder_of(first.order), [sku.id])  # as when it is paid
    second = await checkout(deps, CheckoutRequest(customer_id=bob.id, delivery=ADDRESS, lines=[(sku.id, 2)]))
    assert second.order.number == "P2611230412000012"
    assert await deps.inventory.counter.counts([sku.id]) == {sku.id: 2}
