"""The public numbered list: numbers given at payment, 1, 2, 3 … with no gap or twin, kept by cancelled entries."""

from __future__ import annotations

import asyncio

import pytest

from domain.catalog.models import Product
from domain.orders.models import Order
from domain.relay.models import RelayEntry, RelaySequence
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REFUND, pk
from tests.fixtures.relays import RelayDesk
from tests.support.graphql import count_queries

pytestmark = pytest.mark.usefixtures("audited")

RUSH = 300
RUSH_SECONDS = 240.0


async def _pay_all(relays: RelayDesk, payments: list[dict]) -> None:
    """Every buyer confirms at once; WeChat Pay's notifications reach Pond concurrently."""
    confirmed = await asyncio.gather(*(relays.shop.confirm(p["package"], p["paySign"], p["timeStamp"], p["nonceStr"])
                                       for p in payments))
    assert all(response.status_code == 200 for response in confirmed)
    async with asyncio.timeout(RUSH_SECONDS):
        await relays.shop.sim.drain()


async def _public_seqs(relays: RelayDesk, relay: dict) -> list[int]:
    seqs: list[int] = []
    after = None
    while True:
        page = (await relays.read(relay, first=100, after=after))["entries"]
        seqs += [edge["node"]["seq"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seqs
        after = page["pageInfo"]["endCursor"]


async def test_300_concurrent_payments_number_the_entries_1_to_300(relays):
    sku = await relays.shop.sku(stock=RUSH)
    relay = await relays.relay((sku, 100))
    tokens = [await relays.member(f"成员{n}") for n in range(RUSH)]
    joins = await asyncio.gather(*(relays.joined(token, relay, (sku, 1)) for token in tokens))
    await _pay_all(relays, [joined["payment"] for joined in joins])
    assert await Order.filter(status="PAID").count() == RUSH
    seqs = sorted(await RelayEntry.all().values_list("seq", flat=True))
    assert seqs == list(range(1, RUSH + 1))
    assert (await RelaySequence.get(relay_id=pk(relay["id"]))).last_seq == RUSH
    assert await _public_seqs(relays, relay) == list(range(1, RUSH + 1))
    read = await relays.read(relay, first=1)
    assert (read["entryCount"], read["entries"]["totalCount"]) == (RUSH, RUSH)


async def test_joins_and_payments_racing_each_other_still_number_without_gaps(relays):
    sku = await relays.shop.sku(stock=100)
    relay = await relays.relay((sku, 100, 60))
    tokens = [await relays.member(f"混{n}") for n in range(40)]
    early = await asyncio.gather(*(relays.joined(token, relay, (sku, 1)) for token in tokens[:20]))
    late, _ = await asyncio.gather(
        asyncio.gather(*(relays.joined(token, relay, (sku, 1)) for token in tokens[20:])),
        _pay_all(relays, [joined["payment"] for joined in early]),
    )
    await _pay_all(relays, [joined["payment"] for joined in late])
    assert sorted(await RelayEntry.all().values_list("seq", flat=True)) == list(range(1, 41))
    assert (await relays.read(relay))["items"][0]["sold"] == 40


async def test_numbers_follow_payment_not_joining_and_skip_nobody(relays):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    first, second, third = [await relays.joined(await relays.member(name), relay, (sku, 1))
                            for name in ("张三", "李四", "王五")]
    await relays.shop.pay(second["payment"])
    cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { errors { code } } }"
    assert (await relays.gql.data(cancel, {"i": {"orderId": first["order"]["id"]}},
                                  await _token_of(relays, first)))["orderCancel"]["errors"] == []
    await relays.shop.pay(third["payment"])
    entries = (await relays.read(relay))["entries"]["edges"]
    assert [(e["node"]["seq"], e["node"]["nickname"], e["node"]["cancelled"]) for e in entries] == [
        (1, "李**", False), (2, "王**", False)]  # the cancelled unpaid entry never had a number
    line = entries[0]["node"]["lines"][0]
    assert (line["title"], line["quantity"]) == ((await Product.get(id=sku.product_id)).title, 1)
    assert entries[0]["node"]["joinedAt"] is not None


async def test_a_refunded_entry_keeps_its_number_and_shows_as_cancelled(relays, finance_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    joins = [await relays.joined(await relays.member(name), relay, (sku, 1)) for name in ("甲一", "乙二", "丙三")]
    for joined in joins:
        await relays.shop.pay(joined["payment"])
    variables = {"i": {"orderId": joins[1]["order"]["id"], "reason": "不要了"}}
    refund = (await relays.gql.data(ORDER_REFUND, variables, finance_token))["orderRefund"]
    assert refund["errors"] == []
    await relays.shop.finish_refund(refund["refund"]["id"])
    assert (await Order.get(id=pk(joins[1]["order"]["id"]))).status == "REFUNDED"
    later = await relays.joined(await relays.member("丁四"), relay, (sku, 1))
    await relays.shop.pay(later["payment"])
    entries = [edge["node"] for edge in (await relays.read(relay))["entries"]["edges"]]
    assert [(e["seq"], e["cancelled"]) for e in entries] == [(1, False), (2, True), (3, False), (4, False)]
    assert (await relays.read(relay))["entryCount"] == 4


async def test_entries_page_by_number(relays):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    for n in range(5):
        await relays.shop.pay((await relays.joined(await relays.member(f"页{n}"), relay, (sku, 1)))["payment"])
    page = (await relays.read(relay, first=2))["entries"]
    assert [e["node"]["seq"] for e in page["edges"]] == [1, 2]
    rest = (await relays.read(relay, first=10, after=page["pageInfo"]["endCursor"]))["entries"]
    assert [e["node"]["seq"] for e in rest["edges"]] == [3, 4, 5]
    assert (await relays.gql(
        "query($id: ID!) { relay(id: $id) { entries(first: 101) { totalCount } } }", {"id": relay["id"]}
    ))["errors"][0]["extensions"]["code"] == "INVALID"


async def _token_of(relays: RelayDesk, joined: dict) -> str:
    order = await Order.get(id=pk(joined["order"]["id"]))
    return relays.app.state.services.tokens.issue_customer(order.customer_id)


async def test_the_public_list_costs_the_same_queries_for_2_and_12_entries(relays):
    sku = await relays.shop.sku(stock=20)
    relay = await relays.relay((sku, 100))
    for n in range(12):
        await relays.shop.pay((await relays.joined(await relays.member(f"数{n}"), relay, (sku, 1)))["payment"])
    with count_queries() as small:
        assert len((await relays.read(relay, first=2))["entries"]["edges"]) == 2
    with count_queries() as large:
        assert len((await relays.read(relay, first=12))["entries"]["edges"]) == 12
    # relay, its sequence (entryCount), its items, their SKUs, its pickup points, the page, its count, nicknames,
    # lines, orders (cancelled)
    assert len(small) == len(large) <= 10, large


async def test_entries_and_relays_are_nodes_and_an_unpaid_entry_is_not_one(relays, customer_token):
    sku = await relays.shop.sku(stock=10)
    relay = await relays.relay((sku, 100))
    paid = await relays.joined(await relays.member("付了"), relay, (sku, 1))
    await relays.shop.pay(paid["payment"])
    await relays.joined(customer_token, relay, (sku, 1))
    node = "query($id: ID!) { node(id: $id) { id ... on RelayEntry { seq nickname } ... on Relay { title } } }"
    [shown] = (await relays.read(relay))["entries"]["edges"]
    assert (await relays.gql.data(node, {"id": shown["node"]["id"]}))["node"] == {
        "id": shown["node"]["id"], "seq": 1, "nickname": "付**"}
    assert (await relays.gql.data(node, {"id": relay["id"]}))["node"]["title"] == relay["title"]
    unpaid = await RelayEntry.get(seq=None)
    assert (await relays.gql.data(node, {"id": gid("RelayEntry", unpaid.id)}, customer_token))["node"] is None
