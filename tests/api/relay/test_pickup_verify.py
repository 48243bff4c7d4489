"""Pickup codes (核销): a paid pickup order of any kind gets one, only its customer and staff see it, and staff hand
the order over against it exactly once."""

from __future__ import annotations

import asyncio
import re

from domain.orders.models import Order, PickupCode
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REFUND, pk
from tests.support.graphql import error_codes

VERIFY = """mutation($i: OrderPickupVerifyInput!) { orderPickupVerify(input: $i) {
  order { id status completedAt pickupCode } errors { field code message } } }"""
CODE_OF = "query($id: ID!) { order(id: $id) { pickupCode } }"
STAFF_CODE_OF = "query($id: ID!) { staffOrder(id: $id) { pickupCode } }"
NODE_CODE_OF = "query($id: ID!) { node(id: $id) { ... on Order { pickupCode } } }"


async def _paid_pickup_order(shop, token: str, point) -> dict:
    sku = await shop.sku(stock=10)
    order, payment = await shop.place(token, (sku, 1), delivery={"pickupPointId": gid("PickupPoint", point.id)})
    await shop.pay(payment)
    return order


async def _verify(gql, token: str, code: str) -> dict:
    return (await gql.data(VERIFY, {"i": {"pickupCode": code}}, token))["orderPickupVerify"]


async def test_a_paid_pickup_order_gets_a_six_digit_code_only_its_customer_and_staff_see(
        shop, gql, store_pickup, customer_token, other_customer_token, operator_token):
    order, payment = await shop.place(customer_token, (await shop.sku(stock=5), 1),
                                      delivery={"pickupPointId": gid("PickupPoint", store_pickup.id)})
    assert (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"] is None
    await shop.pay(payment)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    assert re.fullmatch(r"[0-9]{6}", code)
    assert (await gql.data(STAFF_CODE_OF, {"id": order["id"]}, operator_token))["staffOrder"]["pickupCode"] == code
    assert (await gql.data(CODE_OF, {"id": order["id"]}, other_customer_token))["order"] is None
    assert (await gql.data(NODE_CODE_OF, {"id": order["id"]}, other_customer_token))["node"] in (None, {})
    assert (await gql.data(NODE_CODE_OF, {"id": order["id"]}))["node"] in (None, {})


async def test_an_address_order_gets_no_code(shop, gql, customer_token):
    order = await shop.paid_order(customer_token, (await shop.sku(stock=5), 1))
    assert (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"] is None
    assert await PickupCode.all().count() == 0


async def test_verifying_hands_the_order_over_once(shop, gql, store_pickup, customer_token, operator_token):
    order = await _paid_pickup_order(shop, customer_token, store_pickup)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    verified = await _verify(gql, operator_token, code)
    assert verified["errors"] == []
    assert (verified["order"]["id"], verified["order"]["status"]) == (order["id"], "COMPLETED")
    assert verified["order"]["completedAt"] is not None
    row = await PickupCode.get(order_id=pk(order["id"]))
    assert row.picked_up_by.startswith("staff:") and row.picked_up_at is not None and row.waiting_code is None
    again = await _verify(gql, operator_token, code)
    assert again["order"] is None
    assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
    assert "already picked up at" in again["errors"][0]["message"]


async def test_two_verifies_at_once_hand_it_over_once(shop, gql, store_pickup, customer_token, operator_token):
    order = await _paid_pickup_order(shop, customer_token, store_pickup)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    results = await asyncio.gather(*(_verify(gql, operator_token, code) for _ in range(2)))
    assert sorted(tuple(e["code"] for e in r["errors"]) for r in results) == [(), ("INVALID_STATE",)]
    assert (await Order.get(id=pk(order["id"]))).status == "COMPLETED"


async def test_unknown_malformed_and_refunding_codes_are_refused(
        shop, gql, store_pickup, customer_token, operator_token, finance_token):
    order = await _paid_pickup_order(shop, customer_token, store_pickup)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    unknown = "000000" if code != "000000" else "000001"
    assert [(e["code"], e["field"]) for e in (await _verify(gql, operator_token, unknown))["errors"]] == [
        ("NOT_FOUND", ["pickupCode"])]
    for bad in ("12345", "1234567", "abcdef", ""):
        assert [e["code"] for e in (await _verify(gql, operator_token, bad))["errors"]] == ["INVALID"]
    refund = await gql.data(ORDER_REFUND, {"i": {"orderId": order["id"], "reason": "缺货"}}, finance_token)
    assert refund["orderRefund"]["errors"] == []
    refused = await _verify(gql, operator_token, code)
    assert [e["code"] for e in refused["errors"]] == ["INVALID_STATE"]
    assert (await Order.get(id=pk(order["id"]))).status == "REFUNDING"


async def test_only_owners_and_operators_verify(shop, gql, store_pickup, customer_token, finance_token):
    order = await _paid_pickup_order(shop, customer_token, store_pickup)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    for token, expected in ((None, "UNAUTHENTICATED"), (customer_token, "FORBIDDEN"), (finance_token, "FORBIDDEN")):
        assert error_codes(await gql(VERIFY, {"i": {"pickupCode": code}}, token)) == [expected]
    assert (await Order.get(id=pk(order["id"]))).status == "PAID"


async def test_a_relay_entry_collected_at_a_point_is_handed_over_with_its_code(relays, customer_token):
    sku = await relays.shop.sku(stock=5)
    relay = await relays.relay((sku, 100))
    joined = await relays.joined(customer_token, relay, (sku, 1))
    await relays.shop.pay(joined["payment"])
    code = (await relays.gql.data(CODE_OF, {"id": joined["order"]["id"]}, customer_token))["order"]["pickupCode"]
    assert (await _verify(relays.gql, relays.staff_token, code))["order"]["status"] == "COMPLETED"
