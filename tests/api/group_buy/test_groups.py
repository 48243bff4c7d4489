"""Groups through the API: a leader opens one by paying, members take seats, the N-th paid seat makes it succeed;
every refusal is clean and holds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.group_buy.models import GroupBuyGroup, GroupBuySeat, GroupStatus
from domain.orders import lifecycle
from domain.orders.models import Order
from tests.api.group_buy.conftest import codes
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS, ORDER_CANCEL, ORDER_REQUEST_REFUND, ORDER_SHIP, order_row, pk

OPEN_GROUPS = """query($id: ID!) { product(id: $id) { groupBuyCampaign { openGroups(first: 10) {
  id paidCount seatsLeft } } } }"""
MY_GROUPS = """query($status: GroupBuyStatus) { me { groupBuys(status: $status) { totalCount
  edges { node { id status } } } } }"""


def _ship(order: dict) -> dict:
    return {"i": {"orderId": order["id"], "carrier": "顺丰速运", "trackingNumber": "SF1234567890"}}


async def test_a_group_opens_when_its_leader_pays_at_the_leader_price(desk, shop, gql, customer_token):
    sku = await shop.sku(price=5990, stock=30)
    campaign = await desk.campaign((sku, 3990, 2990), size=3, hours=24)
    started = await desk.start(customer_token, campaign, sku, 2)
    assert started["errors"] == []
    order = started["order"]
    assert (order["kind"], order["status"]) == ("GROUP_BUY", "PENDING_PAYMENT")
    assert [(line["unitPrice"]["amount"], line["quantity"]) for line in order["lines"]] == [(2990, 2)]
    assert order["payable"]["amount"] == 5980
    expires = datetime.fromisoformat(order["expiresAt"])
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    group = started["group"]
    assert (group["status"], group["seatsLeft"], group["paidCount"], group["members"]) == ("FORMING", 0, 0, [])
    assert await desk.read(group) is None  # not visible before the leader pays
    assert (await gql.data(MY_GROUPS, {}, customer_token))["me"]["groupBuys"]["totalCount"] == 0
    assert await shop.available(sku) == 28

    await shop.pay(started["payment"])
    shown = await desk.read(group)
    assert (shown["status"], shown["requiredSize"], shown["paidCount"], shown["seatsLeft"]) == ("FORMING", 3, 1, 2)
    assert shown["members"] == [{"nickname": "o" + "*" * 11, "avatarUrl": "", "leader": True, "virtual": False}]
    assert shown["shareCode"] == group["shareCode"] and 1 <= len(group["shareCode"]) <= 32
    assert group["shareCode"].isalnum()
    opened = datetime.fromisoformat(shown["expiresAt"])
    assert timedelta(hours=23, minutes=59) < opened - datetime.now(UTC) <= timedelta(hours=24)
    listed = (await gql.data(OPEN_GROUPS, {"id": gid("Product", sku.product_id)}))["product"]
    assert listed["groupBuyCampaign"]["openGroups"] == [{"id": group["id"], "paidCount": 1, "seatsLeft": 2}]
    mine = (await gql.data(MY_GROUPS, {"status": "FORMING"}, customer_token))["me"]["groupBuys"]
    assert mine["edges"] == [{"node": {"id": group["id"], "status": "FORMING"}}]


async def test_a_group_never_outlives_its_campaign(desk, shop, customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), hours=72, ends=3600)
    group = await desk.open_group(campaign, sku, customer_token)
    expires = datetime.fromisoformat((await desk.read(group))["expiresAt"])
    assert expires == datetime.fromisoformat(campaign["endsAt"])


async def test_the_nth_paid_seat_makes_the_group_succeed_and_its_orders_ship(desk, shop, gql, operator_token):
    sku = await shop.sku(price=5990, stock=30)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    leader = await desk.customer("o-leader")
    started = await desk.start(leader, campaign, sku)
    await shop.pay(started["payment"])
    group = started["group"]
    by_id = await desk.join(await desk.customer("o-member-1"), group, sku)
    assert by_id["errors"] == [] and by_id["group"]["id"] == group["id"]
    assert [line["unitPrice"]["amount"] for line in by_id["order"]["lines"]] == [3990]
    second = await desk.customer("o-member-2")
    by_code = await desk.join(second, None, sku, shareCode=group["shareCode"])
    assert by_code["errors"] == [] and by_code["group"]["id"] == group["id"]
    assert (await desk.read(group))["seatsLeft"] == 0  # held by unpaid orders: nobody else may take them
    await shop.pay(by_id["payment"])

    # Paid, but the group still forms: it neither ships nor refunds on request.
    refused = (await gql.data(ORDER_SHIP, _ship(by_id["order"]), operator_token))["orderShip"]
    assert codes(refused) == ["INVALID_STATE"]
    assert "still forming: 1 seats to fill" in refused["errors"][0]["message"]
    refund = {"i": {"orderId": by_id["order"]["id"], "reason": "不想等了"}}
    stranger = await desk.customer("o-stranger")
    assert codes((await gql.data(ORDER_REQUEST_REFUND, refund, stranger))["orderRequestRefund"]) == ["NOT_FOUND"]
    assert (await order_row(by_id["order"])).status == "PAID"

    await shop.pay(by_code["payment"])
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"], shown["seatsLeft"]) == ("SUCCEEDED", 3, 0)
    assert [(m["leader"], m["virtual"]) for m in shown["members"]] == [(True, False), (False, False), (False, False)]
    for order in (started["order"], by_id["order"], by_code["order"]):
        shipped = (await gql.data(ORDER_SHIP, _ship(order), operator_token))["orderShip"]
        assert shipped["errors"] == [], shipped
    late = await desk.join(await desk.customer("o-late"), group, sku)
    assert codes(late) == ["GROUP_CLOSED"]


async def test_a_paid_seat_cannot_be_refunded_while_its_group_forms(desk, shop, gql, customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    started = await desk.start(customer_token, campaign, sku)
    await shop.pay(started["payment"])
    refund = {"i": {"orderId": started["order"]["id"], "reason": "不想等了"}}
    asked = (await gql.data(ORDER_REQUEST_REFUND, refund, customer_token))["orderRequestRefund"]
    assert codes(asked) == ["INVALID_STATE"]
    assert (await order_row(started["order"])).status == "PAID"


async def test_a_leader_who_never_pays_leaves_no_visible_group(app, desk, shop, gql, customer_token):
    sku = await shop.sku(price=5990, stock=10)
    campaign = await desk.campaign((sku, 3990, None))
    started = await desk.start(customer_token, campaign, sku)
    group = started["group"]
    joiner = await desk.customer("o-joiner")
    assert codes(await desk.join(joiner, group, sku)) == ["NOT_FOUND"]
    assert codes(await desk.join(joiner, None, sku, shareCode=group["shareCode"])) == ["NOT_FOUND"]
    deps = app.state.runtime.services.orders
    assert await lifecycle.expire_due(deps, datetime.now(UTC) + timedelta(minutes=6)) == 1
    assert await desk.read(group) is None
    assert (await GroupBuyGroup.get(id=pk(group["id"]))).status is GroupStatus.ABANDONED
    listed = (await gql.data(OPEN_GROUPS, {"id": gid("Product", sku.product_id)}))["product"]
    assert listed["groupBuyCampaign"]["openGroups"] == []
    assert (await gql.data(MY_GROUPS, {}, customer_token))["me"]["groupBuys"]["totalCount"] == 0
    assert codes(await desk.join(joiner, group, sku)) == ["NOT_FOUND"]
    assert await shop.available(sku) == 10
    again = await desk.start(customer_token, campaign, sku)  # the units and the allowance came back
    assert again["errors"] == []


async def test_an_unpaid_seat_comes_back_when_its_order_is_cancelled(desk, shop, gql):
    sku = await shop.sku(price=5990, stock=10)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    group = await desk.open_group(campaign, sku)
    first = await desk.customer("o-first")
    held = await desk.join(first, group, sku)
    assert held["errors"] == []
    second = await desk.customer("o-second")
    assert codes(await desk.join(second, group, sku)) == ["GROUP_FULL"]
    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": held["order"]["id"]}}, first))["orderCancel"]
    assert cancelled["errors"] == []
    assert (await desk.read(group))["seatsLeft"] == 1
    taken = await desk.join(second, group, sku)
    assert taken["errors"] == []
    await shop.pay(taken["payment"])
    assert (await desk.read(group))["status"] == "SUCCEEDED"


async def test_refusals_are_clean_and_hold_nothing(desk, shop, customer_token, other_customer_token):
    sku = await shop.sku(price=5990, stock=50)
    outside = await shop.sku(price=5990, stock=50)
    campaign = await desk.campaign((sku, 3990, None), size=2, limit=3, per_order=2)
    group = await desk.open_group(campaign, sku, customer_token)  # the customer's first unit
    orders = await Order.all().count()
    assert codes(await desk.join(customer_token, group, sku)) == ["DUPLICATE"]  # the leader's own seat
    assert codes(await desk.join(other_customer_token, group, sku, 3)) == ["LIMIT_EXCEEDED"]  # per order
    assert codes(await desk.join(other_customer_token, group, outside)) == ["NOT_FOUND"]  # not in the campaign
    assert await Order.all().count() == orders
    joined = await desk.join(other_customer_token, group, sku)
    assert joined["errors"] == []  # the seat was still free: no refusal held it
    assert codes(await desk.join(other_customer_token, group, sku)) == ["DUPLICATE"]  # unpaid, still a seat
    assert (await desk.start(customer_token, campaign, sku, 2))["errors"] == []  # 1 + 2 units: the limit
    assert codes(await desk.start(customer_token, campaign, sku, 1)) == ["LIMIT_EXCEEDED"]  # unpaid ones count
    later = await desk.campaign((outside, 3990, None), starts=3600, ends=7200)
    assert codes(await desk.start(customer_token, later, outside)) == ["NOT_STARTED"]
    await desk.end(campaign)
    assert codes(await desk.start(other_customer_token, campaign, sku)) == ["ENDED"]


async def test_a_double_tap_with_one_key_joins_once(desk, shop, customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    first = await desk.join(customer_token, group, sku, idempotencyKey="tap-1")
    again = await desk.join(customer_token, group, sku, idempotencyKey="tap-1")
    assert first["errors"] == [] and again["errors"] == []
    assert first["order"]["id"] == again["order"]["id"]
    assert await GroupBuySeat.filter(group_id=pk(group["id"])).count() == 2


BAD_JOINS = [
    ({"quantity": 0}, "INVALID", ["quantity"]),
    ({"idempotencyKey": "k" * 65}, "INVALID", ["idempotencyKey"]),
    ({"shareCode": "ABC"}, "INVALID", ["groupId"]),  # both groupId and shareCode
    ({"groupId": None}, "INVALID", ["groupId"]),  # neither
    ({"groupId": None, "shareCode": "不是代码"}, "NOT_FOUND", ["shareCode"]),
    ({"groupId": None, "shareCode": "x" * 33}, "NOT_FOUND", ["shareCode"]),
    ({"groupId": gid("Order", 1)}, "NOT_FOUND", ["groupId"]),
    ({"skuId": gid("Product", 1)}, "NOT_FOUND", ["skuId"]),
    ({"delivery": {}}, "INVALID", ["delivery"]),
    ({"delivery": {"address": {**ADDRESS, "phone": "call me"}}}, "INVALID", ["delivery", "address", "phone"]),
    ({"delivery": {"pickupPointId": gid("PickupPoint", 999)}}, "NOT_FOUND", ["delivery", "pickupPointId"]),
]


@pytest.mark.parametrize(("change", "code", "field"), BAD_JOINS)
async def test_each_bad_join_field_is_refused_with_its_path_and_holds_nothing(desk, shop, customer_token, change,
                                                                             code, field):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    group = await desk.open_group(campaign, sku)
    refused = await desk.join(customer_token, group, sku, **change)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert refused["order"] is None
    assert await Order.all().count() == 1
    assert (await desk.join(customer_token, group, sku))["errors"] == []  # the only seat was not held


BAD_STARTS = [
    ({"quantity": 0}, "INVALID", ["quantity"]),
    ({"quantity": 3}, "LIMIT_EXCEEDED", ["quantity"]),
    ({"idempotencyKey": ""}, "INVALID", ["idempotencyKey"]),
    ({"campaignId": gid("GroupBuyCampaign", 999)}, "NOT_FOUND", ["campaignId"]),
    ({"campaignId": gid("Sku", 1)}, "NOT_FOUND", ["campaignId"]),
    ({"skuId": gid("Sku", 999_999)}, "NOT_FOUND", ["skuId"]),
    ({"skuId": "not-an-id"}, "NOT_FOUND", ["skuId"]),
    ({"delivery": {}}, "INVALID", ["delivery"]),
    ({"delivery": {"address": {**ADDRESS, "detail": " "}}}, "INVALID", ["delivery", "address", "detail"]),
]


@pytest.mark.parametrize(("change", "code", "field"), BAD_STARTS)
async def test_each_bad_start_field_is_refused_with_its_path(desk, shop, customer_token, change, code, field):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), per_order=2)
    refused = await desk.start(customer_token, campaign, sku, **change)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert await Order.all().count() == 0
    assert await GroupBuyGroup.all().count() == 0


async def test_another_customer_s_group_order_reads_as_null_and_cannot_be_touched(desk, shop, gql, customer_token,
                                                                                  other_customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None))
    started = await desk.start(customer_token, campaign, sku)
    assert await shop.read(started["order"], other_customer_token) is None
    cancel = (await gql.data(ORDER_CANCEL, {"i": {"orderId": started["order"]["id"]}}, other_customer_token))
    assert codes(cancel["orderCancel"]) == ["NOT_FOUND"]
    await shop.pay(started["payment"])
    assert (await gql.data(MY_GROUPS, {}, other_customer_token))["me"]["groupBuys"]["totalCount"] == 0
    assert (await desk.read(started["group"], other_customer_token))["status"] == "FORMING"  # public once open


async def test_a_key_used_for_a_normal_order_is_not_replayed_as_a_group_buy(desk, shop, customer_token):
    sku = await shop.sku(price=5990, stock=10)
    await shop.place(customer_token, (sku, 1), idempotencyKey="k-1")
    campaign = await desk.campaign((sku, 3990, None))
    refused = await desk.start(customer_token, campaign, sku, idempotencyKey="k-1")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("DUPLICATE", ["idempotencyKey"])]
    assert await GroupBuyGroup.all().count() == 0


async def test_a_sold_out_sku_holds_no_seat(desk, shop, customer_token, other_customer_token):
    sku = await shop.sku(price=5990, stock=2)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    assert (await desk.join(customer_token, group, sku))["errors"] == []
    refused = await desk.join(other_customer_token, group, sku)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("SOLD_OUT", ["skuId"])]
    assert (await desk.read(group))["seatsLeft"] == 1
    assert await GroupBuySeat.filter(group_id=pk(group["id"])).count() == 2


async def test_an_order_names_its_group_once_the_group_opened(desk, shop, gql, customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None))
    started = await desk.start(customer_token, campaign, sku)
    query = "query($id: ID!) { order(id: $id) { kind groupBuy { id status } } }"
    assert (await gql.data(query, {"id": started["order"]["id"]}, customer_token))["order"]["groupBuy"] is None
    await shop.pay(started["payment"])
    read = (await gql.data(query, {"id": started["order"]["id"]}, customer_token))["order"]
    assert read == {"kind": "GROUP_BUY", "groupBuy": {"id": started["group"]["id"], "status": "FORMING"}}
    normal, _ = await shop.place(customer_token, (sku, 1))
    assert (await gql.data(query, {"id": normal["id"]}, customer_token))["order"]["groupBuy"] is None


async def test_open_groups_list_the_closest_to_full_first(desk, shop, gql):
    sku = await shop.sku(price=5990, stock=50)
    campaign = await desk.campaign((sku, 3990, None), size=4)
    groups = []
    for paid in (1, 3, 2):
        group = await desk.open_group(campaign, sku, await desk.customer(f"o-leader-{paid}"))
        for i in range(paid - 1):
            await desk.paid_member(group, sku, f"o-member-{paid}-{i}")
        groups.append(group)
    listed = (await gql.data(OPEN_GROUPS, {"id": gid("Product", sku.product_id)}))["product"]["groupBuyCampaign"]
    assert [(g["id"], g["paidCount"], g["seatsLeft"]) for g in listed["openGroups"]] == [
        (groups[1]["id"], 3, 1), (groups[2]["id"], 2, 2), (groups[0]["id"], 1, 3)]
