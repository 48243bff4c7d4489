"""Joining a relay: a RELAY order at the relay price through checkout, and every refusal changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.orders import payment
from domain.orders.models import Order
from domain.relay.models import Relay, RelayEntry, RelayItem
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REQUEST_REFUND, REFUND_APPROVE, pk, stock
from tests.fixtures.relays import ADDRESS_DELIVERY, JOIN, codes
from tests.support.graphql import error_codes

pytestmark = pytest.mark.usefixtures("audited")


async def _nothing_joined() -> bool:
    return await Order.all().count() == 0 and await RelayEntry.all().count() == 0


async def test_joining_places_a_relay_order_at_the_relay_price(relays, customer_token):
    apples = await relays.shop.sku(price=3990, stock=10)
    pears = await relays.shop.sku(price=1990, stock=10)
    relay = await relays.relay((apples, 2990, 5), (pears, 1990))
    joined = await relays.joined(customer_token, relay, (apples, 2), (pears, 1), remark="周六下午来拿")
    order = joined["order"]
    assert (order["kind"], order["status"], order["remark"]) == ("RELAY", "PENDING_PAYMENT", "周六下午来拿")
    assert [(line["unitPrice"]["amount"], line["quantity"]) for line in order["lines"]] == [(2990, 2), (1990, 1)]
    assert order["payable"]["amount"] == 2 * 2990 + 1990
    assert order["delivery"]["pickupPoint"]["id"] == gid("PickupPoint", relays.point.id)
    assert order["pickupCode"] is None  # not paid yet
    assert joined["payment"]["package"].startswith("prepay_id=")
    assert joined["relay"] == {"id": relay["id"], "entryCount": 0}  # numbered when paid
    assert await stock(apples) == (10, 2)  # the SKU's own stock is held like any checkout's
    read = await relays.read(relay)
    assert [item["sold"] for item in read["items"]] == [2, 1]
    assert read["entries"]["edges"] == []  # unpaid entries are not on the public list


async def test_joins_before_the_start_after_the_deadline_and_after_close_are_refused(relays, customer_token):
    sku = await relays.shop.sku(stock=10)
    later = await relays.relay((sku, 100), starts=600)
    assert codes(await relays.join(customer_token, later, (sku, 1))) == ["NOT_STARTED"]
    past = await relays.relay((sku, 100))
    await Relay.filter(id=pk(past["id"])).update(deadline=datetime.now(UTC) - timedelta(seconds=1))
    assert codes(await relays.join(customer_token, past, (sku, 1))) == ["ENDED"]
    closed = await relays.relay((sku, 100))
    await relays.close(closed)
    assert codes(await relays.join(customer_token, closed, (sku, 1))) == ["ENDED"]
    assert await _nothing_joined()
    assert await stock(sku) == (10, 0)


async def test_units_per_entry_lines_and_delivery_are_checked(relays, customer_token, closed_pickup):
    sku = await relays.shop.sku(stock=50)
    stranger = await relays.shop.sku(stock=50)
    relay = await relays.relay((sku, 100), minUnits=2, maxUnits=5)
    cases = [
        ({"lines": [(sku, 1)]}, "INVALID", ["lines"]),  # below minUnits
        ({"lines": [(sku, 3), (sku, 3)]}, "LIMIT_EXCEEDED", ["lines"]),  # 6 units in all
        ({"lines": [(stranger, 2)]}, "NOT_FOUND", ["lines", "0", "skuId"]),  # not in the relay
        ({"lines": [(sku, 0)]}, "INVALID", ["lines", "0", "quantity"]),
        ({"lines": []}, "INVALID", ["lines"]),
        ({"delivery": ADDRESS_DELIVERY}, "INVALID", ["delivery", "address"]),  # pickup only
        ({"delivery": {"pickupPointId": gid("PickupPoint", closed_pickup.id)}}, "INVALID",
         ["delivery", "pickupPointId"]),  # a point the relay does not serve
        ({"delivery": {"pickupPointId": "bm90LWFuLWlk"}}, "NOT_FOUND", ["delivery", "pickupPointId"]),
        ({"remark": "长" * 201}, "INVALID", ["remark"]),
        ({"idempotencyKey": "k" * 65}, "INVALID", ["idempotencyKey"]),
        ({"relayId": gid("Relay", 999_999)}, "NOT_FOUND", ["relayId"]),
        ({"relayId": gid("Sku", sku.id)}, "NOT_FOUND", ["relayId"]),
    ]
    for change, code, field in cases:
        lines = change.pop("lines", [(sku, 2)])
        result = await relays.join(customer_token, relay, *lines, **change)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)], change
    assert await _nothing_joined()


async def test_an_address_is_accepted_when_the_relay_delivers(relays, customer_token):
    sku = await relays.shop.sku(stock=5)
    relay = await relays.relay((sku, 100), addressDelivery=True)
    order = (await relays.joined(customer_token, relay, (sku, 1), delivery=ADDRESS_DELIVERY))["order"]
    assert order["delivery"]["address"]["name"] == "张三"


async def test_a_cap_under_a_rush_sells_exactly_the_cap(relays):
    sku = await relays.shop.sku(stock=100)
    relay = await relays.relay((sku, 100, 7))
    tokens = [await relays.member(f"买家{n}") for n in range(30)]
    results = await asyncio.gather(*(relays.join(token, relay, (sku, 1)) for token in tokens))
    assert sorted(tuple(codes(r)) for r in results) == [()] * 7 + [("SOLD_OUT",)] * 23
    assert (await RelayItem.get()).sold == 7
    assert await Order.all().count() == 7 == await RelayEntry.all().count()
    assert await stock(sku) == (100, 7)  # the refused joins hold nothing


async def test_a_late_payment_revives_an_entry_only_if_the_cap_still_has_room(relays, customer_token,
                                                                              other_customer_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100, 1))
    late = await relays.joined(customer_token, relay, (sku, 1))
    await payment.cancel(relays.shop.deps, await Order.get(id=pk(late["order"]["id"])), "expired")
    await relays.shop.pay(late["payment"])  # nobody took the unit meanwhile: the entry comes back, numbered
    assert (await Order.get(id=pk(late["order"]["id"]))).status == "PAID"
    assert [e["node"]["seq"] for e in (await relays.read(relay))["entries"]["edges"]] == [1]
    assert (await RelayItem.get()).sold == 1

    other = await relays.relay((sku, 100, 1))
    cancelled = await relays.joined(customer_token, other, (sku, 1))
    await payment.cancel(relays.shop.deps, await Order.get(id=pk(cancelled["order"]["id"])), "expired")
    await relays.joined(other_customer_token, other, (sku, 1))  # takes the relay's last unit
    await relays.shop.pay(cancelled["payment"])
    row = await Order.get(id=pk(cancelled["order"]["id"]))
    assert (row.status, row.status_before_refund) == ("REFUNDING", "CANCELLED")  # the money goes back
    assert (await RelayItem.get(relay_id=pk(other["id"]))).sold == 1
    assert (await RelayEntry.get(order_id=row.id)).seq is None


async def test_a_cancelled_entry_gives_its_units_back_to_the_cap(relays, customer_token, other_customer_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100, 2))
    order = (await relays.joined(customer_token, relay, (sku, 2)))["order"]
    assert codes(await relays.join(other_customer_token, relay, (sku, 1))) == ["SOLD_OUT"]
    cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { order { status } errors { code } } }"
    cancelled = (await relays.gql.data(cancel, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert (await relays.read(relay))["items"][0]["sold"] == 0
    assert (await relays.join(other_customer_token, relay, (sku, 2)))["errors"] == []


async def test_the_skus_own_stock_still_decides(relays, customer_token):
    sku = await relays.shop.sku(stock=1)
    relay = await relays.relay((sku, 100))
    assert codes(await relays.join(customer_token, relay, (sku, 2))) == ["SOLD_OUT"]
    assert await _nothing_joined()
    assert (await RelayItem.get()).sold == 0


async def test_a_double_tap_joins_once(relays, customer_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    taps = await asyncio.gather(*(relays.join(customer_token, relay, (sku, 1), idempotencyKey="tap") for _ in range(3)))
    assert len({tap["order"]["id"] for tap in taps}) == 1
    assert await RelayEntry.all().count() == 1
    assert (await RelayItem.get()).sold == 1


async def test_only_customers_join(relays):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    data = {"relayId": relay["id"], "lines": [{"skuId": gid("Sku", sku.id), "quantity": 1}],
            "delivery": {"pickupPointId": gid("PickupPoint", relays.point.id)}}
    assert error_codes(await relays.gql(JOIN, {"i": data})) == ["UNAUTHENTICATED"]
    assert error_codes(await relays.gql(JOIN, {"i": data}, relays.staff_token)) == ["FORBIDDEN"]
    assert await _nothing_joined()


async def test_an_entry_refunded_before_pickup_gives_its_units_back_to_the_cap(relays, customer_token,
                                                                                 other_customer_token, finance_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100, 2))
    joined = await relays.joined(customer_token, relay, (sku, 2))
    await relays.shop.pay(joined["payment"])
    assert codes(await relays.join(other_customer_token, relay, (sku, 1))) == ["SOLD_OUT"]
    asked = (await relays.gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": joined["order"]["id"], "reason": "不要了"}},
                                   customer_token))["orderRequestRefund"]
    assert asked["errors"] == []
    approved = (await relays.gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}},
                                      finance_token))["refundApprove"]
    assert approved["errors"] == []
    await relays.shop.finish_refund(asked["refund"]["id"])
    assert (await Order.get(id=pk(joined["order"]["id"]))).status == "REFUNDED"
    assert (await relays.read(relay))["items"][0]["sold"] == 0  # the goods never left: back on sale, in the relay too
    assert await stock(sku) == (10, 0)
    assert (await relays.join(other_customer_token, relay, (sku, 2)))["errors"] == []
