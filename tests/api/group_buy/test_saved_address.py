"""A group-buy takes a saved address as its delivery (`delivery: {addressId}`), the order keeping its own copy."""

from __future__ import annotations

from tests.api.test_addresses import create
from tests.fixtures.orders import order_row


async def test_a_group_buy_leader_and_a_member_deliver_to_saved_addresses(desk, shop, gql):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=2, limit=5)
    leader = await desk.customer("o-leader")
    saved = (await create(gql, leader, detail="团长家"))["address"]
    started = await desk.start(leader, campaign, sku, delivery={"addressId": saved["id"]})
    assert started["errors"] == []
    await shop.pay(started["payment"])  # the group opens
    member = await desk.customer("o-member")
    theirs = (await create(gql, member, detail="团员家"))["address"]
    stolen = await desk.join(member, started["group"], sku, delivery={"addressId": saved["id"]})
    assert [(e["code"], e["field"]) for e in stolen["errors"]] == [("NOT_FOUND", ["delivery", "addressId"])]
    joined = await desk.join(member, started["group"], sku, delivery={"addressId": theirs["id"]})
    assert joined["errors"] == []
    assert (await order_row(started["order"])).delivery["address"]["detail"] == "团长家"
    assert (await order_row(joined["order"])).delivery["address"]["detail"] == "团员家"
