"""The merchant console: every order, filters, and which role may ship and which may move money."""

from __future__ import annotations

import pytest

from domain.orders.models import Refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REFUND, ORDER_REQUEST_REFUND, ORDER_SHIP, REFUND_APPROVE, order_row
from tests.support.graphql import error_codes

STAFF_ORDERS = """query($status: OrderStatus, $number: String, $first: Int, $after: String) {
  staffOrders(status: $status, number: $number, first: $first, after: $after) {
    totalCount edges { node { id number status } } pageInfo { hasNextPage endCursor } } }"""
STAFF_ORDER = "query($id: ID!) { staffOrder(id: $id) { id number status lines { title sku { id } } } }"


async def staff_orders(gql, token, **variables):
    return (await gql.data(STAFF_ORDERS, variables, token))["staffOrders"]


async def test_staff_see_every_customers_orders_newest_first(
    shop, gql, customer_token, other_customer_token, operator_token
):
    sku = await shop.sku()
    first, _ = await shop.place(customer_token, (sku, 1))
    second = await shop.paid_order(other_customer_token, (sku, 1))

    page = await staff_orders(gql, operator_token)

    assert page["totalCount"] == 2
    assert [e["node"]["id"] for e in page["edges"]] == [second["id"], first["id"]]
    paid = await staff_orders(gql, operator_token, status="PAID")
    assert [(e["node"]["id"], e["node"]["status"]) for e in paid["edges"]] == [(second["id"], "PAID")]
    found = await staff_orders(gql, operator_token, number=f" {first['number']} ")
    assert [e["node"]["number"] for e in found["edges"]] == [first["number"]]
    assert (await staff_orders(gql, operator_token, number="P0000000000000000"))["totalCount"] == 0


async def test_staff_orders_page_with_cursors(shop, gql, customer_token, finance_token):
    sku = await shop.sku(stock=20)
    placed = [(await shop.place(customer_token, (sku, 1)))[0]["id"] for _ in range(3)]
    page = await staff_orders(gql, finance_token, first=2)
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await staff_orders(gql, finance_token, first=2, after=page["pageInfo"]["endCursor"])
    seen = [e["node"]["id"] for e in page["edges"] + rest["edges"]]
    assert seen == placed[::-1] and rest["pageInfo"]["hasNextPage"] is False


async def test_staff_read_any_order_by_id(shop, gql, customer_token, finance_token):
    sku = await shop.sku()
    order, _ = await shop.place(customer_token, (sku, 1))
    read = (await gql.data(STAFF_ORDER, {"id": order["id"]}, finance_token))["staffOrder"]
    assert (read["number"], read["lines"][0]["sku"]["id"]) == (order["number"], gid("Sku", sku.id))
    assert (await gql.data(STAFF_ORDER, {"id": gid("Order", 99_999)}, finance_token))["staffOrder"] is None


@pytest.mark.parametrize(("customer", "code"), [(True, "FORBIDDEN"), (False, "UNAUTHENTICATED")])
async def test_staff_orders_need_a_staff_token(gql, issue_customer_token, customer, code):
    token = await issue_customer_token("o-curious") if customer else None
    body = await gql(STAFF_ORDERS, {}, token)
    assert body["data"] is None
    assert error_codes(body) == [code]


async def test_finance_can_refund_but_not_ship(shop, gql, customer_token, finance_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))

    ship = {"i": {"orderId": order["id"], "carrier": "顺丰速运", "trackingNumber": "SF1"}}
    body = await gql(ORDER_SHIP, ship, finance_token)
    assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert (await order_row(order)).status == "PAID"

    refund = {"i": {"orderId": order["id"], "reason": "协商退款"}}
    result = (await gql.data(ORDER_REFUND, refund, finance_token))["orderRefund"]
    assert result["errors"] == [] and result["order"]["status"] == "REFUNDING"


async def test_operator_can_ship_but_not_refund(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": order["id"], "reason": "x"}}, customer_token))

    for query, variables in (
        (ORDER_REFUND, {"i": {"orderId": order["id"], "reason": "协商退款"}}),
        (REFUND_APPROVE, {"i": {"refundId": asked["orderRequestRefund"]["refund"]["id"]}}),
    ):
        body = await gql(query, variables, operator_token)
        assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert await Refund.filter(status="REQUESTED").count() == 1
    assert (await order_row(order)).status == "REFUNDING"


async def test_operator_ships(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    ship = {"i": {"orderId": order["id"], "carrier": "顺丰速运", "trackingNumber": "SF1"}}
    result = (await gql.data(ORDER_SHIP, ship, operator_token))["orderShip"]
    assert result["errors"] == [] and (await order_row(order)).status == "SHIPPED"


async def test_customers_cannot_call_staff_mutations(shop, gql, customer_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    ship = {"i": {"orderId": order["id"], "carrier": "顺丰速运", "trackingNumber": "SF1"}}
    assert error_codes(await gql(ORDER_SHIP, ship, customer_token)) == ["FORBIDDEN"]
    refund = {"i": {"orderId": order["id"], "reason": "自己退"}}
    assert error_codes(await gql(ORDER_REFUND, refund, customer_token)) == ["FORBIDDEN"]
    assert (await order_row(order)).status == "PAID" and not await Refund.exists()


async def test_staff_cannot_ship_an_unknown_order(gql, operator_token):
    ship = {"i": {"orderId": gid("Order", 99_999), "carrier": "顺丰速运", "trackingNumber": "SF1"}}
    result = (await gql.data(ORDER_SHIP, ship, operator_token))["orderShip"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["orderId"])]
