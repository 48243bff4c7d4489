"""No Redis round trip while a database transaction is open: a slow or dead Redis must never hold row locks and
pooled connections. Every call to the stock counter, the flash pools, the rate limiter and the catalog cache (and, on
the real backend, every command and pipeline sent to Redis) is watched; one made inside a Tortoise transaction of the
task that makes it is recorded with its stack, and the test fails.

Tortoise keeps the current transaction in a context variable: inside `in_transaction()` the connection the current
task sees is a TransactionalDBClient.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import get_connections

from domain.flash_sale.policy import pool_of
from domain.orders import lifecycle
from tests.fixtures.orders import ORDER_CANCEL, ORDER_REQUEST_REFUND, REFUND_APPROVE, stock

COUNTER = ("admit", "give_back", "forget", "load", "read", "reset", "counts")
FLASH_POOL = ("take", "take_many", "give_back", "load", "drop", "left")
CACHE = ("get", "put", "invalidate")


def in_transaction_now() -> bool:
    return isinstance(get_connections().get("default"), TransactionalDBClient)


class TransactionWatch:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.inside: list[str] = []

    def guarded(self, what: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def watched(*args: Any, **kwargs: Any) -> Any:
            self.calls[what] += 1
            if in_transaction_now():
                self.inside.append(f"{what} inside a transaction:\n{''.join(traceback.format_stack(limit=12))}")
            return await call(*args, **kwargs)

        return watched

    def wrap(self, monkeypatch: pytest.MonkeyPatch, target: object, names: tuple[str, ...], what: str) -> None:
        for name in names:
            monkeypatch.setattr(target, name, self.guarded(f"{what}.{name}", getattr(target, name)))

    def assert_none_inside(self) -> None:
        assert not self.inside, "\n".join(self.inside)


@pytest.fixture
def watch(app, db, monkeypatch: pytest.MonkeyPatch) -> TransactionWatch:
    runtime = app.state.runtime
    services, deps = runtime.services, runtime.services.orders
    seen = TransactionWatch()
    seen.wrap(monkeypatch, deps.inventory.counter, COUNTER, "stock counter")
    seen.wrap(monkeypatch, pool_of(deps), FLASH_POOL, "flash pool")
    seen.wrap(monkeypatch, services.rate_limiter, ("hit",), "rate limiter")
    seen.wrap(monkeypatch, runtime.cache, CACHE, "catalog cache")
    seen.wrap(monkeypatch, services, ("catalog_changed",), "catalog cache")
    if runtime.redis is not None:
        seen.wrap(monkeypatch, runtime.redis, ("execute_command",), "redis")
        make_pipeline = runtime.redis.pipeline

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make_pipeline(*args, **kwargs)
            pipe.execute = seen.guarded("redis.pipeline", pipe.execute)
            return pipe

        monkeypatch.setattr(runtime.redis, "pipeline", pipeline)
    return seen


async def test_the_watch_records_a_call_made_inside_a_transaction(watch: TransactionWatch, app) -> None:
    from tortoise.transactions import in_transaction

    counter = app.state.runtime.services.orders.inventory.counter
    async with in_transaction():
        await counter.counts([1])
    await counter.counts([1])
    assert watch.calls["stock counter.counts"] == 2
    assert watch.inside and all(" inside a transaction" in call for call in watch.inside)
    assert watch.inside[0].startswith("stock counter.counts inside a transaction")


async def test_checkout_pay_and_cancel_make_no_redis_call_inside_a_transaction(watch, shop, gql, customer_token):
    sku = await shop.sku(stock=5)
    await shop.paid_order(customer_token, (sku, 1))
    order, _ = await shop.place(customer_token, (sku, 2))
    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["errors"] == [] and cancelled["order"]["status"] == "CANCELLED"
    assert await stock(sku) == (4, 0)

    watch.assert_none_inside()
    assert watch.calls["stock counter.admit"] == 2
    assert watch.calls["stock counter.forget"] == 1 and watch.calls["stock counter.give_back"] == 1


async def test_a_checkout_the_database_refuses_gives_back_outside_the_transaction(watch, shop, customer_token, app):
    sku = await shop.sku(stock=3)
    counter = app.state.runtime.services.orders.inventory.counter
    seen = (await counter.read([sku.id]))[sku.id]
    await counter.reset({sku.id: 10}, {sku.id: seen.version})  # the counter over-counts; the database says no
    refused = await shop.checkout(customer_token, (sku, 5))
    assert [error["code"] for error in refused["errors"]] == ["SOLD_OUT"]

    watch.assert_none_inside()
    assert watch.calls["stock counter.admit"] == 1 and watch.calls["stock counter.give_back"] == 1
    assert await counter.counts([sku.id]) == {sku.id: 10}  # the units it took are back


async def test_expiry_makes_no_redis_call_inside_a_transaction(watch, shop, customer_token, app):
    sku = await shop.sku(stock=5)
    await shop.place(customer_token, (sku, 2))
    deps = app.state.runtime.services.orders
    assert await lifecycle.expire_due(deps, datetime.now(UTC) + timedelta(days=1)) == 1
    assert await stock(sku) == (5, 0)

    watch.assert_none_inside()
    assert watch.calls["stock counter.give_back"] == 1


async def test_a_refund_that_restocks_makes_no_redis_call_inside_a_transaction(
    watch, shop, gql, customer_token, finance_token
):
    sku = await shop.sku(stock=5)
    order = await shop.paid_order(customer_token, (sku, 2))
    variables = {"i": {"orderId": order["id"], "reason": "不想要了", "amount": None}}
    asked = (await gql.data(ORDER_REQUEST_REFUND, variables, customer_token))["orderRequestRefund"]
    approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}}, finance_token))
    assert approved["refundApprove"]["errors"] == []
    resets = watch.calls["stock counter.reset"]
    await shop.finish_refund(asked["refund"]["id"])
    assert await stock(sku) == (5, 0)  # refunded before shipping: back on sale

    watch.assert_none_inside()
    assert watch.calls["stock counter.reset"] == resets + 1  # the restocked SKU's count was set from the database


async def test_flash_buy_pay_and_cancel_make_no_redis_call_inside_a_transaction(
    watch, shop, flash, gql, customer_token, other_customer_token
):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    bought = await flash.buy(customer_token, sale, sku, 1)
    assert bought["errors"] == []
    await flash.pay(customer_token, bought)
    second = await flash.buy(other_customer_token, sale, sku, 2)
    assert second["errors"] == []
    variables = {"i": {"orderId": second["order"]["id"]}}
    cancelled = (await gql.data(ORDER_CANCEL, variables, other_customer_token))["orderCancel"]
    assert cancelled["errors"] == []
    assert (await flash.read(sale))["items"][0]["remaining"] == 9

    watch.assert_none_inside()
    assert watch.calls["flash pool.take_many"] >= 2  # every take goes through it
    assert watch.calls["flash pool.give_back"] == 1


async def test_relay_join_pay_pickup_and_cancel_make_no_redis_call_inside_a_transaction(
    watch, relays, gql, customer_token, other_customer_token
):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100, 5))
    joined = await relays.joined(customer_token, relay, (sku, 2))
    await relays.shop.pay(joined["payment"])
    code = (await gql.data("query($id: ID!) { order(id: $id) { pickupCode } }", {"id": joined["order"]["id"]},
                           customer_token))["order"]["pickupCode"]
    verify = "mutation($c: String!) { orderPickupVerify(input: {pickupCode: $c}) { errors { code } } }"
    assert (await gql.data(verify, {"c": code}, relays.staff_token))["orderPickupVerify"]["errors"] == []
    second = await relays.joined(other_customer_token, relay, (sku, 1))
    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": second["order"]["id"]}}, other_customer_token))
    assert cancelled["orderCancel"]["errors"] == []
    assert await stock(sku) == (8, 0)

    watch.assert_none_inside()
    assert watch.calls["stock counter.admit"] == 2 and watch.calls["stock counter.give_back"] == 1
