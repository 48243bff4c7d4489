"""Nobody hoards stock: a cap on unpaid orders per customer, a checkout rate per customer, and flash sale buys that
are refused before the pool is asked, so a refused attempt never holds units others are then refused."""

from __future__ import annotations

import asyncio

import pytest

from domain.flash_sale.policy import pool_of
from domain.orders.models import Order, OrderStatus
from server.ratelimit import InMemoryRateLimiter
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS, CHECKOUT, stock

pytestmark = pytest.mark.usefixtures("audited")


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def pending() -> int:
    return await Order.filter(status=OrderStatus.PENDING_PAYMENT).count()


async def test_a_customer_past_the_unpaid_order_cap_is_refused_and_nothing_is_held(shop, customer_token, monkeypatch):
    monkeypatch.setattr(shop.deps, "max_pending_orders", 2)
    sku = await shop.make_sku(stock=10)
    first, _ = await shop.place(customer_token, (sku, 1))
    await shop.place(customer_token, (sku, 1))

    refused = await shop.checkout(customer_token, (sku, 1))

    assert codes(refused) == ["LIMIT_EXCEEDED"]
    assert "unpaid orders" in refused["errors"][0]["message"]
    assert refused["order"] is None
    assert await pending() == 2
    assert await stock(sku) == (10, 2)
    assert await shop.available(sku) == 8
    cancelled = await shop.gql.data(
        "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { errors { code } } }",
        {"i": {"orderId": first["id"]}}, customer_token)
    assert cancelled["orderCancel"]["errors"] == []
    assert (await shop.checkout(customer_token, (sku, 1)))["errors"] == []  # paying or cancelling frees a place


async def test_the_unpaid_order_cap_is_per_customer(shop, customer_token, other_customer_token, monkeypatch):
    monkeypatch.setattr(shop.deps, "max_pending_orders", 1)
    sku = await shop.make_sku(stock=10)
    await shop.place(customer_token, (sku, 1))
    assert (await shop.checkout(other_customer_token, (sku, 1)))["errors"] == []


async def test_ten_concurrent_checkouts_by_one_customer_leave_at_most_the_cap_pending(
    shop, customer_token, monkeypatch
):
    monkeypatch.setattr(shop.deps, "max_pending_orders", 5)
    sku = await shop.make_sku(stock=50)
    variables = {"i": {"lines": [{"skuId": gid("Sku", sku.id), "quantity": 1}], "delivery": {"address": ADDRESS}}}

    results = await asyncio.gather(*(shop.gql.data(CHECKOUT, variables, customer_token) for _ in range(10)))

    outcomes = sorted(codes(r["checkout"])[0] if r["checkout"]["errors"] else "OK" for r in results)
    assert outcomes == ["LIMIT_EXCEEDED"] * 5 + ["OK"] * 5
    assert await pending() == 5
    assert await stock(sku) == (50, 5)


async def test_checkouts_past_the_rate_limit_are_refused_and_hold_nothing(app, shop, customer_token, monkeypatch):
    services = app.state.services
    if isinstance(services.rate_limiter, InMemoryRateLimiter):  # Redis windows are dropped per test; these are not
        monkeypatch.setattr(services, "rate_limiter", InMemoryRateLimiter())
    monkeypatch.setattr(services, "checkout_rate_limit", 2)
    sku = await shop.make_sku(stock=10)
    await shop.place(customer_token, (sku, 1))
    await shop.place(customer_token, (sku, 1))

    refused = await shop.checkout(customer_token, (sku, 1))

    assert codes(refused) == ["LIMIT_EXCEEDED"]
    assert "checkouts a minute" in refused["errors"][0]["message"]
    assert await pending() == 2
    assert await stock(sku) == (10, 2)


async def test_a_flash_buy_past_the_unpaid_order_cap_is_refused_before_the_pool(
    shop, flash, customer_token, monkeypatch
):
    monkeypatch.setattr(shop.deps, "max_pending_orders", 1)
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 3), limit=3)
    await shop.place(customer_token, (await shop.make_sku(stock=5), 1))

    refused = await flash.buy(customer_token, sale, sku, 1)

    assert codes(refused) == ["LIMIT_EXCEEDED"]
    assert (await flash.read(sale))["items"][0]["remaining"] == 3
    assert await Order.filter(kind="FLASH_SALE").count() == 0


async def test_over_the_flash_limit_is_limit_exceeded_even_when_the_pool_is_empty(
    shop, flash, customer_token, other_customer_token
):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 2), limit=2)
    assert (await flash.buy(customer_token, sale, sku, 2))["errors"] == []
    assert codes(await flash.buy(other_customer_token, sale, sku, 1)) == ["SOLD_OUT"]
    assert codes(await flash.buy(customer_token, sale, sku, 1)) == ["LIMIT_EXCEEDED"]


@pytest.mark.parametrize(
    "delivery",
    [
        {"address": {**ADDRESS, "phone": "not a phone"}},
        {"address": {**ADDRESS, "detail": "x" * 201}},
        {"pickupPointId": gid("PickupPoint", 999999)},
        {},
    ],
)
async def test_a_flash_buy_with_an_invalid_delivery_leaves_the_pool_untouched(
    shop, flash, customer_token, other_customer_token, delivery, monkeypatch
):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    pool = pool_of(shop.deps)
    asked: list[object] = []
    take_many = pool.take_many

    async def recorded_take_many(*args: object) -> object:  # every take goes through it
        asked.append(args)
        return await take_many(*args)

    monkeypatch.setattr(pool, "take_many", recorded_take_many)

    refused = await flash.buy(customer_token, sale, sku, 1, delivery=delivery)

    assert refused["errors"] and refused["order"] is None
    assert asked == []  # never asked, so never held a unit that a buyer meanwhile was refused
    assert (await flash.read(sale))["items"][0]["remaining"] == 1
    assert (await pool_of(shop.deps).left(int(_node(sale["id"])), [sku.id])) in ({sku.id: 1}, {sku.id: None})
    assert (await flash.buy(other_customer_token, sale, sku, 1))["errors"] == []  # the unit is still there


def _node(global_id: str) -> str:
    from strawberry.relay import GlobalID

    return GlobalID.from_id(global_id).node_id

