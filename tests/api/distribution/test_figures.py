"""What a KOC sees and the merchant's report: per link and per distributor, orders, GMV, paying and new customers,
the fission coefficient; commission totals that are sums of the ledger; ranges validated; nothing of another's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.commissions import balance
from tests.api.distribution.conftest import SHARE, Distribution, Person
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_REFUND, Shop, pk

pytestmark = pytest.mark.usefixtures("audited")

MINE = """{ me { distributor {
  summary { teamSize pending { amount } available { amount } withdrawn { amount } clawedBack { amount }
            lifetime { amount } }
  figures { opens customersBound payingCustomers orders gmv { amount } newCustomers fissionCoefficient }
  commissions(first: 10) { totalCount edges { node { orderNumber productTitle level amount { amount }
                                                     net { amount } status } } }
  pending: commissions(status: PENDING) { totalCount }
  shareLinks { edges { node { code opens orders gmv { amount } payingCustomers newCustomers fissionCoefficient } } }
} } }"""
REPORT = """query($f: DateTime!, $t: DateTime!) { staffDistributionReport(from: $f, to: $t) {
  topByGmv { distributor { id } gmv { amount } newCustomers }
  topByNewCustomers { distributor { id } newCustomers }
  pending { amount } available { amount } paid { amount } clawedBack { amount } } }"""


async def share_product(dist: Distribution, person: Person, product_id: int) -> str:
    made = (await dist.gql.data(SHARE, {"i": {"productId": gid("Product", product_id)}}, person.token))
    assert made["shareLinkCreate"]["errors"] == []
    return made["shareLinkCreate"]["shareLink"]["code"]


async def buy_through(dist: Distribution, shop: Shop, person: Person, sku, code: str, quantity: int = 1) -> dict:
    assert (await dist.open(code, person))["errors"] == []
    order, payment = await shop.place(person.token, (sku, quantity), shareCode=code)
    await shop.pay(payment)
    return order


async def test_a_kocs_figures_commissions_and_links_add_up(dist, shop, gql, finance_token, owner_token):
    await dist.turn_on(levels=1, directRateBp=1000)
    koc = await dist.distributor("KOC")
    sku = await shop.sku(price=1000, stock=50)
    code = await share_product(dist, koc, sku.product_id)
    a, b, c, d = [await dist.customer(name) for name in ("甲", "乙", "丙", "丁")]
    await buy_through(dist, shop, a, sku, code, 2)
    await buy_through(dist, shop, a, sku, code)
    await buy_through(dist, shop, b, sku, code)
    refunded = await buy_through(dist, shop, c, sku, code)
    done = (await gql.data(ORDER_REFUND, {"i": {"orderId": refunded["id"], "reason": "缺货"}},
                           finance_token))["orderRefund"]
    await shop.finish_refund(done["refund"]["id"])
    a_code = await share_product(dist, a, sku.product_id)  # a shares on: d is a new paying customer a brought
    await buy_through(dist, shop, d, sku, a_code)

    mine = (await gql.data(MINE, token=koc.token))["me"]["distributor"]
    figures = mine["figures"]
    # a, b and c are bound to the KOC; c's order was refunded in full; d came through a's link (a is no distributor,
    # so d is bound to nobody and d's order earns the KOC nothing), and counts as a new customer a brought
    assert figures == {"opens": 4, "customersBound": 3, "payingCustomers": 2, "orders": 3, "gmv": {"amount": 4000},
                       "newCustomers": 2, "fissionCoefficient": 0.5}
    link = mine["shareLinks"]["edges"][0]["node"]
    assert (link["orders"], link["gmv"], link["payingCustomers"], link["newCustomers"]) == (3, {"amount": 4000}, 2, 2)
    assert link["fissionCoefficient"] == 0.5  # a and b paid; a brought d
    summary = mine["summary"]
    koc_id = pk(koc.distributor_id or "")
    ledger = await balance.summary(koc_id)
    assert summary["pending"] == {"amount": ledger.pending} and summary["lifetime"] == {"amount": ledger.lifetime}
    assert summary["pending"]["amount"] == sum(edge["node"]["net"]["amount"] for edge in mine["commissions"]["edges"])
    assert mine["commissions"]["totalCount"] == 4 and mine["pending"]["totalCount"] == 3  # c's was cancelled
    assert {edge["node"]["productTitle"] for edge in mine["commissions"]["edges"]} == {(await sku.product).title}

    now = datetime.now(UTC)
    report = (await gql.data(REPORT, {"f": (now - timedelta(hours=1)).isoformat(),
                                      "t": (now + timedelta(hours=1)).isoformat()}, finance_token))
    report = report["staffDistributionReport"]
    assert report["topByGmv"] == [{"distributor": {"id": koc.distributor_id}, "gmv": {"amount": 4000},
                                   "newCustomers": 2}]
    assert report["pending"] == {"amount": ledger.pending} and report["paid"] == {"amount": 0}

    outsider = (await gql.data(MINE, token=a.token))["me"]["distributor"]
    assert outsider is None  # a customer who is no distributor sees no commissions of anyone


async def test_the_report_range_is_validated(gql, finance_token, customer_token):
    now = datetime.now(UTC)
    for start, end in ((now, now), (now, now - timedelta(days=1)), (now - timedelta(days=400), now)):
        body = await gql(REPORT, {"f": start.isoformat(), "t": end.isoformat()}, finance_token)
        assert body["errors"][0]["extensions"]["code"] == "INVALID"
    refused = await gql(REPORT, {"f": now.isoformat(), "t": now.isoformat()}, customer_token)
    assert refused["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")


