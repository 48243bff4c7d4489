"""Flash sales through the API: staff set one up, shoppers buy from its own pool, and every refusal changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog.models import Sku
from domain.flash_sale.models import FlashSaleItem
from domain.flash_sale.policy import pool_of
from domain.orders import lifecycle
from domain.orders.models import Order
from tests.fixtures.catalog import gid
from tests.fixtures.flash_sales import SALES, sale_input
from tests.fixtures.orders import pk, stock
from tests.support.graphql import error_codes  # noqa: F401

pytestmark = [pytest.mark.usefixtures("audited"), pytest.mark.redis_cluster_too]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]

PRODUCT = """query($id: ID!) { product(id: $id) { skus { price { amount } salePrice { amount } available }
  flashSale { id name status perCustomerLimit items { price { amount } quantity remaining sku { id } } } } }"""


async def _nothing_created() -> bool:
    return await Order.all().count() == 0


async def test_a_sale_sets_its_pool_aside_and_the_product_shows_it(shop, flash, gql):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    assert sale["status"] == "ACTIVE"
    assert sale["items"] == [{"price": {"amount": 990}, "quantity": 10, "remaining": 10,
                              "sku": {"id": gid("Sku", sku.id), "available": 20}}]
    product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
    assert product["flashSale"]["id"] == sale["id"]
    assert product["skus"] == [{"price": {"amount": 5990}, "salePrice": {"amount": 5990}, "available": 20}]
    assert await stock(sku) == (30, 10)


async def test_buying_creates_a_flash_order_at_the_sale_price_that_expires_sooner(shop, flash, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    bought = await flash.buy(customer_token, sale, sku, 2)
    assert bought["errors"] == []
    order = bought["order"]
    assert (order["kind"], order["status"]) == ("FLASH_SALE", "PENDING_PAYMENT")
    assert [(line["unitPrice"]["amount"], line["quantity"]) for line in order["lines"]] == [(990, 2)]
    assert order["payable"]["amount"] == 1980
    expires = datetime.fromisoformat(order["expiresAt"])
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    assert (await flash.read(sale))["items"][0]["remaining"] == 8
    await flash.pay(customer_token, bought)
    assert (await shop.read(order, customer_token))["status"] == "PAID"
    assert await stock(sku) == (28, 8)  # two units left the shelf, eight still set aside for the sale


async def test_refusals_are_clean_and_create_nothing(shop, flash, customer_token, other_customer_token):
    sku = await shop.sku(price=5990, stock=30)
    later = await flash.sale((sku, 990, 5), starts=3600, ends=7200)
    assert codes(await flash.buy(customer_token, later, sku)) == ["NOT_STARTED"]
    other = await shop.sku(price=1000, stock=10)
    running = await flash.sale((other, 100, 3), limit=2)
    assert codes(await flash.buy(customer_token, running, other, 3)) == ["LIMIT_EXCEEDED"]
    assert codes(await flash.buy(customer_token, running, other, 4)) == ["LIMIT_EXCEEDED"]  # the limit comes first
    assert await _nothing_created()
    assert (await flash.buy(customer_token, running, other, 2))["errors"] == []
    assert codes(await flash.buy(customer_token, running, other, 1)) == ["LIMIT_EXCEEDED"]
    assert (await flash.buy(other_customer_token, running, other, 1))["errors"] == []
    assert codes(await flash.buy(other_customer_token, running, other, 1)) == ["SOLD_OUT"]
    assert codes(await flash.buy(customer_token, running, sku, 1)) == ["NOT_FOUND"]
    ended = await flash.end(running)
    assert ended["flashSale"]["status"] == "ENDED"
    assert codes(await flash.buy(other_customer_token, running, other, 1)) == ["ENDED"]
    assert await Order.all().count() == 2


async def test_a_cancelled_flash_order_gives_its_units_back_to_the_pool_not_to_stock(shop, flash, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10), limit=3)
    order = (await flash.buy(customer_token, sale, sku, 3))["order"]
    cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { order { status } errors { code } } }"
    cancelled = (await shop.gql.data(cancel, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert (await flash.read(sale))["items"][0]["remaining"] == 10
    assert await stock(sku) == (30, 10)
    assert (await flash.buy(customer_token, sale, sku, 3))["errors"] == []  # the allowance came back too


async def test_an_expired_flash_order_goes_back_to_the_pool(app, shop, flash, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 4))
    order = (await flash.buy(customer_token, sale, sku, 2))["order"]
    deps = app.state.runtime.services.orders
    assert await lifecycle.expire_due(deps, datetime.now(UTC) + timedelta(minutes=6)) == 1
    assert (await Order.get(id=pk(order["id"]))).status == "CANCELLED"
    assert (await flash.read(sale))["items"][0]["remaining"] == 4
    assert (await pool_of(deps).left(pk(sale["id"]), [sku.id])) in ({sku.id: 4}, {sku.id: None})


async def test_ending_a_sale_returns_the_unsold_units_to_stock(shop, flash, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    order = (await flash.buy(customer_token, sale, sku, 2))["order"]
    assert (await flash.end(sale))["errors"] == []
    assert await stock(sku) == (30, 2)  # only the pending order's units stay held
    assert await shop.available(sku) == 28
    cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { errors { code } } }"
    assert (await shop.gql.data(cancel, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]["errors"] == []
    assert await stock(sku) == (30, 0)  # after the sale, released units go to normal stock


async def test_a_double_tap_with_one_key_buys_once(shop, flash, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    first = await flash.buy(customer_token, sale, sku, 1, idempotencyKey="tap-1")
    again = await flash.buy(customer_token, sale, sku, 1, idempotencyKey="tap-1")
    assert first["order"]["id"] == again["order"]["id"]
    assert (await flash.read(sale))["items"][0]["remaining"] == 9


async def test_the_pool_is_rebuilt_from_the_database_when_it_is_lost(app, shop, flash, customer_token,
                                                                     other_customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 3), limit=2)
    assert (await flash.buy(customer_token, sale, sku, 2))["errors"] == []
    pool = pool_of(app.state.runtime.services.orders)
    await pool.drop(pk(sale["id"]))
    assert codes(await flash.buy(customer_token, sale, sku, 1)) == ["LIMIT_EXCEEDED"]
    assert (await flash.buy(other_customer_token, sale, sku, 1))["errors"] == []
    assert codes(await flash.buy(other_customer_token, sale, sku, 1)) == ["SOLD_OUT"]
    assert (await FlashSaleItem.get(sale_id=pk(sale["id"]))).taken == 3


async def test_staff_set_up_is_validated(shop, flash, gql, customer_token):
    sku = await shop.sku(price=1000, stock=5)
    assert codes(await flash.create(sale_input((sku, 1000, 1)))) == ["INVALID"]  # not below the list price
    assert codes(await flash.create(sale_input((sku, 500, 6)))) == ["SOLD_OUT"]  # more than is free
    assert codes(await flash.create(sale_input((sku, 500, 1), limit=0))) == ["INVALID"]
    assert codes(await flash.create(sale_input((sku, 500, 1), starts=100, ends=50))) == ["INVALID"]
    await flash.sale((sku, 500, 2))
    assert codes(await flash.create(sale_input((sku, 400, 1)))) == ["DUPLICATE"]
    assert await stock(sku) == (5, 2)
    denied = await gql(
        "mutation($i: FlashSaleCreateInput!) { flashSaleCreate(input: $i) { errors { code } } }",
        {"i": sale_input((sku, 400, 1))}, customer_token,
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_buying_needs_a_customer(shop, flash, gql):
    sku = await shop.sku(price=1000, stock=5)
    sale = await flash.sale((sku, 500, 2))
    query = "mutation($i: FlashSaleBuyInput!) { flashSaleBuy(input: $i) { errors { code } } }"
    answer = await gql(query, {"i": {"flashSaleId": sale["id"], "skuId": gid("Sku", sku.id)}})
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_items_change_only_before_the_start(shop, flash):
    sku = await shop.sku(price=1000, stock=10)
    upcoming = await flash.sale((sku, 500, 2), starts=3600, ends=7200)
    changed = await flash.update({"id": upcoming["id"], "items": [{"skuId": gid("Sku", sku.id), "price": 400,
                                                                   "quantity": 5}]})
    assert changed["errors"] == [] and changed["flashSale"]["items"][0]["quantity"] == 5
    assert await stock(sku) == (10, 5)
    other = await shop.sku(price=1000, stock=10)
    running = await flash.sale((other, 500, 2))
    refused = await flash.update({"id": running["id"], "items": [{"skuId": gid("Sku", other.id), "price": 400,
                                                                  "quantity": 5}]})
    assert codes(refused) == ["INVALID_STATE"]
    assert await stock(other) == (10, 2)


async def test_flash_sales_lists_by_status(shop, flash, gql):
    sku, other = await shop.sku(price=1000, stock=10), await shop.sku(price=1000, stock=10)
    await flash.sale((sku, 500, 2))
    await flash.sale((other, 500, 2), starts=3600, ends=7200)
    active = (await gql.data(SALES, {"status": "ACTIVE"}))["flashSales"]
    upcoming = (await gql.data(SALES, {"status": "SCHEDULED"}))["flashSales"]
    assert (active["totalCount"], upcoming["totalCount"]) == (1, 1)
    assert await Sku.filter(id=sku.id).count() == 1


async def test_a_double_tap_landing_while_the_first_writes_its_order_waits_for_it(shop, flash, customer_token,
                                                                                  monkeypatch):
    """The second tap finds the first one's units taken but no order yet: it waits for that order instead of
    freeing units still being bought (which left the pool one unit above the database)."""
    import asyncio

    from domain.flash_sale import sales as sales

    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    slow_items = sales.sale_items
    first_read = asyncio.Event()

    async def slow(*args):
        if not first_read.is_set():
            first_read.set()
            await asyncio.sleep(0.4)  # the first tap, between the pool and its order
        return await slow_items(*args)

    monkeypatch.setattr(sales, "sale_items", slow)
    first = asyncio.create_task(flash.buy(customer_token, sale, sku, 1, idempotencyKey="tap-2"))
    await first_read.wait()
    again = await flash.buy(customer_token, sale, sku, 1, idempotencyKey="tap-2")
    first = await first
    assert first["errors"] == [] and again["errors"] == []
    assert first["order"]["id"] == again["order"]["id"]
    assert (await flash.read(sale))["items"][0]["remaining"] == 9
    pool = pool_of(shop.deps)
    assert await pool.left(pk(sale["id"]), [sku.id]) == {sku.id: 9}
