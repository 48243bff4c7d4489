"""The pick list: per pickup point and for address deliveries, item totals and every paid entry not refunded; the
same as CSV for staff only."""

from __future__ import annotations

import csv
import io

from domain.catalog.models import Product
from domain.orders.models import PickupPoint
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REFUND
from tests.fixtures.relays import ADDRESS_DELIVERY
from tests.support.graphql import error_codes

PICK_LIST = """query($id: ID!) { relayPickList(relayId: $id) { relay { id } groups { name pickupPoint { id }
  totals { skuId title units } entries { seq name phone orderNumber lines { title quantity } } } } }"""


async def _setup(relays, finance_token):
    """Two pickup points and address delivery; four entries paid (one then refunded), one unpaid."""
    second = await PickupPoint.create(name="东门店", address="幸福路 1 号")
    apples = await relays.shop.sku(price=3990, stock=50)
    pears = await relays.shop.sku(price=1990, stock=50)
    relay = await relays.relay((apples, 2990), (pears, 1500), points=[relays.point, second], addressDelivery=True)
    at_second = {"pickupPointId": gid("PickupPoint", second.id)}
    plan = [("张三", [(apples, 2)], None), ("李四", [(apples, 1), (pears, 3)], at_second),
            ("王五", [(pears, 1)], ADDRESS_DELIVERY), ("赵六", [(apples, 5)], None)]
    joins = []
    for name, lines, delivery in plan:
        fields = {"delivery": delivery} if delivery else {}
        joined = await relays.joined(await relays.member(name), relay, *lines, **fields)
        await relays.shop.pay(joined["payment"])
        joins.append(joined)
    refund = await relays.gql.data(ORDER_REFUND, {"i": {"orderId": joins[3]["order"]["id"], "reason": "缺货"}},
                                   finance_token)
    await relays.shop.finish_refund(refund["orderRefund"]["refund"]["id"])
    await relays.joined(await relays.member("未付"), relay, (apples, 1))
    return relay, apples, pears, second, joins


async def test_the_pick_list_groups_paid_entries_by_where_they_are_collected(relays, finance_token):
    relay, apples, pears, second, joins = await _setup(relays, finance_token)
    data = (await relays.gql.data(PICK_LIST, {"id": relay["id"]}, relays.staff_token))["relayPickList"]
    apple_title = (await Product.get(id=apples.product_id)).title
    pear_title = (await Product.get(id=pears.product_id)).title
    groups = {group["name"]: group for group in data["groups"]}
    assert list(groups) == [relays.point.name, "东门店", "快递配送"]
    first = groups[relays.point.name]
    assert first["pickupPoint"] == {"id": gid("PickupPoint", relays.point.id)}
    assert [(e["seq"], e["name"], e["phone"]) for e in first["entries"]] == [(1, "张三", "13900139000")]
    assert first["totals"] == [{"skuId": gid("Sku", apples.id), "title": apple_title, "units": 2}]
    east = groups["东门店"]
    assert [(e["seq"], [(line["title"], line["quantity"]) for line in e["lines"]]) for e in east["entries"]] == [
        (2, [(apple_title, 1), (pear_title, 3)])]
    assert [(t["title"], t["units"]) for t in east["totals"]] == [(apple_title, 1), (pear_title, 3)]
    post = groups["快递配送"]
    assert post["pickupPoint"] is None
    assert [(e["seq"], e["name"], e["phone"]) for e in post["entries"]] == [(3, "张三", "13800138000")]  # the address
    assert joins[0]["order"]["number"] == first["entries"][0]["orderNumber"]


async def test_the_csv_has_the_same_list_with_a_bom_for_excel(relays, finance_token):
    relay, apples, _pears, _second, joins = await _setup(relays, finance_token)
    response = await relays.shop.http.get(f"/staff/relays/{relay['id']}/pick-list.csv",
                                          headers={"authorization": f"Bearer {relays.staff_token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["自提点", "序号", "姓名", "电话", "商品", "规格", "数量", "订单号"]
    apple_title = (await Product.get(id=apples.product_id)).title
    assert rows[1] == [relays.point.name, "1", "张三", "13900139000", apple_title, "", "2", joins[0]["order"]["number"]]
    assert [relays.point.name, "合计", "", "", apple_title, "", "2", ""] in rows
    seqs = [row[1] for row in rows[1:] if row[1] != "合计"]
    assert seqs == ["1", "2", "2", "3"]  # the refunded 4 and the unpaid entry are not there


async def test_the_csv_is_for_staff_who_fulfil_orders(relays, customer_token, finance_token):
    sku = await relays.shop.sku()
    relay = await relays.relay((sku, 100))
    path = f"/staff/relays/{relay['id']}/pick-list.csv"
    http = relays.shop.http
    assert (await http.get(path)).status_code == 401
    assert (await http.get(path, headers={"authorization": "Bearer not-a-token"})).status_code == 401
    assert (await http.get(path, headers={"authorization": f"Bearer {customer_token}"})).status_code == 403
    assert (await http.get(path, headers={"authorization": f"Bearer {finance_token}"})).status_code == 403
    staff = {"authorization": f"Bearer {relays.staff_token}"}
    assert (await http.get(f"/staff/relays/{gid('Relay', 999_999)}/pick-list.csv", headers=staff)).status_code == 404
    assert (await http.get("/staff/relays/garbage/pick-list.csv", headers=staff)).status_code == 404
    assert (await http.get(path, headers=staff)).status_code == 200


async def test_the_pick_list_query_is_for_staff_and_null_for_no_relay(relays, customer_token):
    assert error_codes(await relays.gql(PICK_LIST, {"id": gid("Relay", 1)}, customer_token)) == ["FORBIDDEN"]
    assert error_codes(await relays.gql(PICK_LIST, {"id": gid("Relay", 1)})) == ["UNAUTHENTICATED"]
    missing = await relays.gql.data(PICK_LIST, {"id": gid("Relay", 999_999)}, relays.staff_token)
    assert missing["relayPickList"] is None
