"""A relay entry takes a saved address as its delivery (`delivery: {addressId}`)."""

from __future__ import annotations

from tests.api.test_addresses import create
from tests.fixtures.orders import order_row


async def test_a_relay_entry_delivers_to_a_saved_address(relays, shop, gql):
    sku = await shop.sku(price=1990, stock=20)
    relay = await relays.relay((sku, 990))
    member = await relays.member("阿明")
    saved = (await create(gql, member, detail="小区 3 栋"))["address"]
    joined = await relays.join(member, relay, (sku, 1), delivery={"addressId": saved["id"]})
    assert joined["errors"] == [], joined["errors"]
    assert (await order_row(joined["order"])).delivery["address"]["detail"] == "小区 3 栋"
