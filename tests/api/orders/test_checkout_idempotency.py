"""A double tap on 提交订单: the same idempotencyKey returns the first order and reserves its stock once."""

from __future__ import annotations

import asyncio

import pytest

from domain.orders.models import Order, Payment
from tests.fixtures.orders import customer, reservations, stock

pytestmark = pytest.mark.usefixtures("audited")


async def test_the_same_key_twice_returns_the_same_order_and_reserves_once(shop, customer_token):
    sku = await shop.sku(stock=5)
    first = await shop.checkout(customer_token, (sku, 2), idempotencyKey="tap-1")
    second = await shop.checkout(customer_token, (sku, 2), idempotencyKey="tap-1")

    assert first["errors"] == second["errors"] == []
    assert second["order"]["id"] == first["order"]["id"]
    assert second["order"]["number"] == first["order"]["number"]
    assert second["payment"]["package"] == first["payment"]["package"]
    assert await Order.all().count() == 1
    assert await reservations() == [(sku.id, 2, "HELD")]
    assert await stock(sku) == (5, 2)
    assert await shop.available(sku) == 3


async def test_concurrent_taps_with_one_key_make_one_order_even_for_the_last_units(shop, customer_token):
    sku = await shop.sku(stock=3)
    taps = await asyncio.gather(*(shop.checkout(customer_token, (sku, 2), idempotencyKey="tap-2") for _ in range(4)))

    assert [tap["errors"] for tap in taps] == [[]] * 4  # none is told SOLD_OUT by the units the first one holds
    assert len({tap["order"]["id"] for tap in taps}) == 1
    assert len({tap["payment"]["package"] for tap in taps}) == 1  # one WeChat Pay trade, one prepay
    assert await Order.all().count() == 1 and await Payment.all().count() == 1
    assert await reservations() == [(sku.id, 2, "HELD")]
    assert await shop.available(sku) == 1
    assert await shop.place(customer_token, (sku, 1))  # the counter took the units once


async def test_different_keys_make_different_orders(shop, customer_token):
    sku = await shop.sku(stock=5)
    first, _ = await shop.place(customer_token, (sku, 1), idempotencyKey="tap-a")
    second, _ = await shop.place(customer_token, (sku, 1), idempotencyKey="tap-b")
    assert first["id"] != second["id"]
    assert await shop.available(sku) == 3


async def test_a_key_belongs_to_its_customer(shop, customer_token, other_customer_token):
    sku = await shop.sku(stock=5)
    mine, _ = await shop.place(customer_token, (sku, 1), idempotencyKey="shared-key")
    theirs, _ = await shop.place(other_customer_token, (sku, 1), idempotencyKey="shared-key")
    assert mine["id"] != theirs["id"]
    assert await Order.filter(customer_id=(await customer("o-customer-b")).id).count() == 1


async def test_a_replayed_key_after_payment_returns_the_order_without_a_payment(shop, customer_token):
    sku = await shop.sku(stock=5)
    order, payment = await shop.place(customer_token, (sku, 1), idempotencyKey="tap-paid")
    await shop.pay(payment)
    again = await shop.checkout(customer_token, (sku, 1), idempotencyKey="tap-paid")
    assert again["errors"] == [] and again["payment"] is None
    assert (again["order"]["id"], again["order"]["status"]) == (order["id"], "PAID")
    assert await stock(sku) == (4, 0)


async def test_an_overlong_key_is_invalid(shop, customer_token):
    sku = await shop.sku()
    result = await shop.checkout(customer_token, (sku, 1), idempotencyKey="k" * 65)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["idempotencyKey"])]
    assert not await Order.exists()
