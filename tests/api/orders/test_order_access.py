"""Whose orders are whose: a customer sees and acts on their own only; another's order does not exist for them."""

from __future__ import annotations

import pytest

from domain.orders.models import Order, Refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import (
    CHECKOUT,
    ORDER,
    ORDER_CANCEL,
    ORDER_CONFIRM,
    ORDER_PAY,
    ORDER_REQUEST_REFUND,
    order_row,
    stock,
)
from tests.support.graphql import error_codes

ORDERS = """query($status: OrderStatus, $first: Int, $after: String) {
  orders(status: $status, first: $first, after: $after) {
    totalCount edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }"""
CUSTOMER_MUTATIONS = [
    ("orderPay", ORDER_PAY, {}),
    ("orderCancel", ORDER_CANCEL, {}),
    ("orderConfirmReceipt", ORDER_CONFIRM, {}),
    ("orderRequestRefund", ORDER_REQUEST_REFUND, {"reason": "不是我的"}),
]


async def test_a_customer_lists_only_their_own_orders_newest_first(
    shop, gql, customer_token, other_customer_token
):
    sku = await shop.sku(stock=10)
    first, _ = await shop.place(customer_token, (sku, 1))
    second = await shop.paid_order(customer_token, (sku, 1))
    await shop.place(other_customer_token, (sku, 1))

    mine = (await gql.data(ORDERS, {}, customer_token))["orders"]

    assert mine["totalCount"] == 2
    assert [e["node"]["id"] for e in mine["edges"]] == [second["id"], first["id"]]
    paid = (await gql.data(ORDERS, {"status": "PAID"}, customer_token))["orders"]
    assert [e["node"]["id"] for e in paid["edges"]] == [second["id"]] and paid["totalCount"] == 1
    page = (await gql.data(ORDERS, {"first": 1}, customer_token))["orders"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.data(ORDERS, {"first": 1, "after": page["pageInfo"]["endCursor"]}, customer_token))["orders"]
    assert [e["node"]["id"] for e in rest["edges"]] == [first["id"]] and rest["pageInfo"]["hasNextPage"] is False


async def test_first_is_capped_at_100(gql, customer_token):
    body = await gql(ORDERS, {"first": 101}, customer_token)
    assert error_codes(body) == ["INVALID"]


async def test_another_customers_order_reads_as_null(shop, gql, customer_token, other_customer_token):
    sku = await shop.sku()
    order, _ = await shop.place(customer_token, (sku, 1))
    assert (await gql.data(ORDER, {"id": order["id"]}, other_customer_token))["order"] is None
    assert (await gql.data(ORDERS, {}, other_customer_token))["orders"]["totalCount"] == 0
    assert (await gql.data(ORDER, {"id": order["id"]}, customer_token))["order"]["number"] == order["number"]


@pytest.mark.parametrize("order_id", [gid("Order", 99_999), gid("Sku", 1), "garbage"])
async def test_a_missing_or_malformed_order_id_reads_as_null(gql, customer_token, order_id):
    assert (await gql.data(ORDER, {"id": order_id}, customer_token))["order"] is None


@pytest.mark.parametrize(("name", "mutation", "extra"), CUSTOMER_MUTATIONS)
async def test_acting_on_another_customers_order_is_not_found_and_changes_nothing(
    shop, gql, customer_token, other_customer_token, name, mutation, extra
):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1)) if name == "orderRequestRefund" else None
    if order is None:
        order, _ = await shop.place(customer_token, (sku, 1))
    before = await order_row(order)

    result = (await gql.data(mutation, {"i": {"orderId": order["id"], **extra}}, other_customer_token))[name]

    assert result["order"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["orderId"])]
    after = await order_row(order)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)
    assert not await Refund.exists()


@pytest.mark.parametrize(("name", "mutation", "extra"), CUSTOMER_MUTATIONS)
async def test_an_unknown_order_id_is_not_found(gql, customer_token, name, mutation, extra):
    result = (await gql.data(mutation, {"i": {"orderId": gid("Order", 99_999), **extra}}, customer_token))[name]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["orderId"])]


async def test_anonymous_callers_must_log_in(shop, gql):
    sku = await shop.sku()
    checkout = {"i": {"lines": [{"skuId": gid("Sku", sku.id), "quantity": 1}],
                      "delivery": {"pickupPointId": gid("PickupPoint", 1)}}}
    for query, variables in (
        (CHECKOUT, checkout),
        (ORDERS, {}),
        (ORDER, {"id": gid("Order", 1)}),
        *((mutation, {"i": {"orderId": gid("Order", 1), **extra}}) for _, mutation, extra in CUSTOMER_MUTATIONS),
    ):
        body = await gql(query, variables)
        assert error_codes(body) == ["UNAUTHENTICATED"], query
        assert not any((body["data"] or {}).values())
    assert not await Order.exists()
    assert await stock(sku) == (5, 0)


async def test_staff_cannot_check_out_as_a_customer(shop, gql, operator_token):
    sku = await shop.sku()
    checkout = {"i": {"lines": [{"skuId": gid("Sku", sku.id), "quantity": 1}],
                      "delivery": {"pickupPointId": gid("PickupPoint", 1)}}}
    assert error_codes(await gql(CHECKOUT, checkout, operator_token)) == ["FORBIDDEN"]
    assert error_codes(await gql(ORDERS, {}, operator_token)) == ["FORBIDDEN"]
    assert not await Order.exists()
