"""Checkout through GraphQL: the order snapshots the catalog, holds stock at once, and refusals write nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog import products
from domain.catalog.models import Sku
from domain.catalog.products import ProductChanges, SkuChanges
from domain.inventory.models import Reservation
from domain.orders.models import Order, Payment
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS, customer, order_row, reservations, stock

NUMBER = re.compile(r"^P\d{16}$")
CART_ADD = "mutation($i: CartAddItemInput!) { cartAddItem(input: $i) { errors { code } } }"
CART = "{ cart { lines { sku { id } quantity } } }"


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def nothing_written() -> bool:
    return not await Order.exists() and not await Reservation.exists() and not await Payment.exists()


async def test_checkout_snapshots_the_catalog_and_holds_the_stock_at_once(shop, customer_token, make_product):
    product = await make_product("赣南脐橙")
    five, ten = await Sku.filter(product_id=product.id).order_by("id")
    await shop.deps.inventory.resync([five.id, ten.id])
    before = datetime.now(UTC)

    result = await shop.checkout(customer_token, (five, 2), (ten, 1), remark=" 放门口 ")

    assert result["errors"] == []
    order = result["order"]
    assert NUMBER.match(order["number"]), order["number"]
    assert (order["status"], order["kind"], order["remark"]) == ("PENDING_PAYMENT", "NORMAL", "放门口")
    lines = [(x["title"], x["specs"], x["unitPrice"]["amount"], x["quantity"], x["lineTotal"]["amount"], x["image"],
              x["sku"]["id"]) for x in order["lines"]]
    image = "https://img.pond.example/orange-1.jpg"
    assert lines == [
        ("赣南脐橙", [{"name": "规格", "value": "5斤装"}], 3990, 2, 7980, image, gid("Sku", five.id)),
        ("赣南脐橙", [{"name": "规格", "value": "10斤装"}], 6990, 1, 6990, image, gid("Sku", ten.id)),
    ]
    assert order["subtotal"] == {"amount": 14970, "currency": "CNY"}
    assert (order["discountTotal"], order["payable"], order["walletPaid"]) == (
        {"amount": 0}, {"amount": 14970}, {"amount": 0})
    assert order["delivery"] == {"address": ADDRESS, "pickupPoint": None}
    window = timedelta(minutes=shop.deps.payment_minutes)
    assert before + window - timedelta(seconds=5) <= parse(order["expiresAt"]) <= datetime.now(UTC) + window
    assert order["paidAt"] is None and order["refunds"] == []

    assert (await shop.available(five), await shop.available(ten)) == (8, 4)
    assert (await stock(five), await stock(ten)) == ((10, 2), (5, 1))
    payment = result["payment"]
    assert payment["package"].startswith("prepay_id=") and len(payment["package"]) > len("prepay_id=")
    assert payment["signType"] == "RSA" and payment["timeStamp"].isdigit()
    assert payment["nonceStr"] and payment["paySign"]

    await products.update_product(product.id, ProductChanges(title="改名的脐橙"))
    await products.update_sku(five.id, SkuChanges(price=1))
    again = await shop.read(order, customer_token)
    assert [(x["title"], x["unitPrice"]["amount"]) for x in again["lines"]] == [("赣南脐橙", 3990), ("赣南脐橙", 6990)]
    assert again["payable"] == {"amount": 14970}


async def test_checkout_from_cart_orders_the_cart_and_empties_those_lines(shop, gql, customer_token):
    apple, pear = await shop.sku(price=500, stock=9), await shop.sku(price=800, stock=9)
    for sku, quantity in ((apple, 3), (pear, 1)):
        added = await gql.data(CART_ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": quantity}}, customer_token)
        assert added["cartAddItem"]["errors"] == []

    order, payment = await shop.place(customer_token, fromCart=True)

    assert [(x["sku"]["id"], x["quantity"]) for x in order["lines"]] == [(gid("Sku", apple.id), 3),
                                                                        (gid("Sku", pear.id), 1)]
    assert order["payable"] == {"amount": 2300}
    assert payment["package"].startswith("prepay_id=")
    assert (await gql.data(CART, token=customer_token))["cart"]["lines"] == []
    assert (await shop.available(apple), await shop.available(pear)) == (6, 8)


async def test_an_empty_cart_cannot_be_checked_out(shop, customer_token):
    result = await shop.checkout(customer_token, fromCart=True)
    assert result["order"] is None and result["payment"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["fromCart"])]
    assert await nothing_written()


@pytest.mark.parametrize("from_cart", [True, False])
async def test_lines_and_from_cart_are_one_or_the_other(shop, customer_token, from_cart):
    sku = await shop.sku()
    lines = [(sku, 1)] if from_cart else []
    result = await shop.checkout(customer_token, *lines, fromCart=from_cart)
    assert result["order"] is None
    assert [e["code"] for e in result["errors"]] == ["INVALID"]
    assert await nothing_written()
    assert await shop.available(sku) == 5


@pytest.mark.parametrize("sku_id", [gid("Sku", 999_999), gid("Product", 1), "not-an-id"])
async def test_an_unknown_sku_is_not_found_and_nothing_is_written(shop, customer_token, sku_id):
    real = await shop.sku()
    lines = [{"skuId": gid("Sku", real.id), "quantity": 1}, {"skuId": sku_id, "quantity": 1}]
    result = await shop.checkout(customer_token, lines=lines)
    assert result["order"] is None
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert await nothing_written()
    assert await shop.available(real) == 5


async def test_an_unpublished_product_cannot_be_ordered(shop, customer_token, make_sku):
    hidden = await make_sku(published=False)
    result = await shop.checkout(customer_token, (hidden, 1))
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert await nothing_written()


async def test_more_than_available_is_sold_out_and_nothing_is_written(shop, customer_token):
    plenty, scarce = await shop.sku(stock=10), await shop.sku(stock=3)

    result = await shop.checkout(customer_token, (plenty, 1), (scarce, 4))

    assert result["order"] is None and result["payment"] is None
    assert [e["code"] for e in result["errors"]] == ["SOLD_OUT"]
    assert await nothing_written()
    assert (await stock(plenty), await stock(scarce)) == ((10, 0), (3, 0))
    assert (await shop.available(plenty), await shop.available(scarce)) == (10, 3)
    order, _ = await shop.place(customer_token, (scarce, 3))  # the refusal took nothing from the counter either
    assert order["lines"][0]["quantity"] == 3 and await shop.available(scarce) == 0


async def test_stock_held_by_a_pending_order_is_sold_out_for_the_next_buyer(shop, customer_token, other_customer_token):
    sku = await shop.sku(stock=2)
    await shop.place(customer_token, (sku, 2))
    result = await shop.checkout(other_customer_token, (sku, 1))
    assert [e["code"] for e in result["errors"]] == ["SOLD_OUT"]
    assert await Order.filter(customer_id=(await customer("o-customer-b")).id).count() == 0
    assert await stock(sku) == (2, 2)


async def test_a_quantity_over_the_limit_is_refused(shop, customer_token):
    sku = await shop.sku(stock=500)
    zero = await shop.checkout(customer_token, (sku, 0))
    assert [(e["code"], e["field"]) for e in zero["errors"]] == [("INVALID", ["lines", "0", "quantity"])]
    too_many = await shop.checkout(customer_token, (sku, 60), (sku, 60))
    assert [e["code"] for e in too_many["errors"]] == ["LIMIT_EXCEEDED"]
    assert await nothing_written()


async def test_pickup_delivery_keeps_a_snapshot_of_the_point(shop, customer_token, store_pickup):
    sku = await shop.sku()
    point_id = gid("PickupPoint", store_pickup.id)
    order, _ = await shop.place(customer_token, (sku, 1), delivery={"pickupPointId": point_id})
    store_pickup.name = "改名后的自提点"
    await store_pickup.save()
    again = await shop.read(order, customer_token)
    assert again["delivery"] == {
        "address": None,
        "pickupPoint": {"id": point_id, "name": "科技园自提点", "address": "深圳市南山区科苑路 8 号",
                        "phone": "0755-86000000"},
    }
    assert (await order_row(order)).pickup_point_id == store_pickup.id


async def test_an_inactive_pickup_point_is_not_found(shop, customer_token, closed_pickup):
    sku = await shop.sku()
    delivery = {"pickupPointId": gid("PickupPoint", closed_pickup.id)}
    result = await shop.checkout(customer_token, (sku, 1), delivery=delivery)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["delivery", "pickupPointId"])]
    assert await nothing_written()
    assert await shop.available(sku) == 5


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        ({}, ["delivery"]),
        ({"address": {**ADDRESS, "phone": "call me"}}, ["delivery", "address", "phone"]),
        ({"address": {**ADDRESS, "detail": "  "}}, ["delivery", "address", "detail"]),
        ({"address": ADDRESS, "pickupPointId": gid("PickupPoint", 1)}, ["delivery"]),
    ],
)
async def test_a_bad_delivery_is_invalid(shop, customer_token, delivery, field):
    sku = await shop.sku()
    result = await shop.checkout(customer_token, (sku, 1), delivery=delivery)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", field)]
    assert await nothing_written()


async def test_placed_orders_hold_their_units_in_reservations(shop, customer_token):
    sku = await shop.sku(stock=4)
    order, _ = await shop.place(customer_token, (sku, 3))
    assert await reservations(order) == [(sku.id, 3, "HELD")]
    assert (await order_row(order)).customer_id == (await customer("o-customer-a")).id


async def test_when_wechat_pay_refuses_the_prepay_the_order_never_existed(shop, gql, customer_token):
    sku = await shop.sku(stock=5)
    response = await shop.http.post("/__sim/wechatpay/__sim/faults", json={"api_error": "SYSTEM_ERROR"})
    assert response.status_code == 200

    failed = await shop.checkout(customer_token, (sku, 2), idempotencyKey="tap-x")

    assert (failed["order"], failed["payment"]) == (None, None)
    assert [e["code"] for e in failed["errors"]] == ["PAYMENT_FAILED"]
    assert await shop.available(sku) == 5 and await stock(sku) == (5, 0)
    orders = await gql.data("{ orders { totalCount edges { node { id } } } }", token=customer_token)
    assert orders["orders"]["totalCount"] == 0
    retried = await shop.checkout(customer_token, (sku, 2), idempotencyKey="tap-x")
    assert retried["errors"] == [] and retried["order"]["status"] == "PENDING_PAYMENT"
    assert await shop.available(sku) == 3
