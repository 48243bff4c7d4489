"""Group-buy campaigns through the API: staff set one up, change it and end it; every bad field is refused alone."""

from __future__ import annotations

from typing import Any

import pytest

from domain.group_buy.models import GroupBuyCampaign, GroupBuyItem
from tests.api.group_buy.conftest import STAFF_CAMPAIGNS, at, campaign_input, codes
from tests.fixtures.catalog import gid

PRODUCT = """query($id: ID!) { product(id: $id) { groupBuyCampaign { id title status groupSize
  items { groupPrice { amount } leaderPrice { amount } sku { id } } openGroups(first: 5) { id } } } }"""


async def test_a_campaign_is_set_up_and_the_product_shows_it(desk, shop, gql):
    sku = await shop.sku(price=5990, stock=30)
    campaign = await desk.campaign((sku, 3990, 2990), size=3, hours=24, virtualFillPercent=60)
    assert campaign["status"] == "ACTIVE"
    assert (campaign["groupSize"], campaign["groupHours"], campaign["virtualFillPercent"]) == (3, 24, 60)
    assert campaign["product"] == {"id": gid("Product", sku.product_id)}
    assert campaign["items"] == [{"groupPrice": {"amount": 3990}, "leaderPrice": {"amount": 2990},
                                  "sku": {"id": gid("Sku", sku.id)}}]
    product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
    assert product["groupBuyCampaign"]["id"] == campaign["id"]
    assert product["groupBuyCampaign"]["openGroups"] == []
    assert await shop.available(sku) == 30  # nothing is set aside: units come from the SKU's stock per order


async def test_a_scheduled_campaign_is_not_the_product_s_running_one(desk, shop, gql):
    sku = await shop.sku(price=5990)
    later = await desk.campaign((sku, 3990, None), starts=3600, ends=7200)
    assert later["status"] == "SCHEDULED"
    product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
    assert product["groupBuyCampaign"] is None


BAD_FIELDS: list[tuple[dict[str, Any], list[str]]] = [
    ({"title": ""}, ["title"]),
    ({"title": "团" * 65}, ["title"]),
    ({"endsAt": -30}, ["endsAt"]),  # seconds from now: after startsAt, but over
    ({"groupSize": 1}, ["groupSize"]),
    ({"groupSize": 51}, ["groupSize"]),
    ({"groupHours": 0}, ["groupHours"]),
    ({"groupHours": 73}, ["groupHours"]),
    ({"perCustomerLimit": 0}, ["perCustomerLimit"]),
    ({"perOrderMax": 0}, ["perOrderMax"]),
    ({"perOrderMax": 6}, ["perOrderMax"]),  # above the per-customer limit (5)
    ({"virtualFillPercent": 0}, ["virtualFillPercent"]),
    ({"virtualFillPercent": 101}, ["virtualFillPercent"]),
]


@pytest.mark.parametrize(("change", "field"), BAD_FIELDS)
async def test_each_bad_field_is_invalid_with_its_path_and_creates_nothing(desk, shop, change, field):
    sku = await shop.sku(price=5990)
    if "endsAt" in change:
        change = {"endsAt": at(change["endsAt"])}  # a time, taken when the test runs
    created = await desk.create({**campaign_input((sku, 3990, None)), **change})
    assert created["groupBuyCampaign"] is None
    assert [(e["code"], e["field"]) for e in created["errors"]] == [("INVALID", field)]
    assert await GroupBuyCampaign.all().count() == 0


async def test_bad_items_are_refused_with_their_paths(desk, shop):
    sku = await shop.sku(price=5990)
    other_product = await shop.sku(price=5990)
    cases = [
        ([(sku, 5990, None)], "INVALID", ["items", "0", "groupPrice"]),  # not below the list price
        ([(sku, 0, None)], "INVALID", ["items", "0", "groupPrice"]),
        ([(sku, 3990, 3990)], "INVALID", ["items", "0", "leaderPrice"]),  # not below the group price
        ([(sku, 3990, 0)], "INVALID", ["items", "0", "leaderPrice"]),
        ([(sku, 3990, None), (other_product, 3990, None)], "INVALID", ["items", "1", "skuId"]),  # two products
        ([(sku, 3990, None), (sku, 3000, None)], "DUPLICATE", ["items", "1", "skuId"]),
    ]
    for items, code, field in cases:
        created = await desk.create(campaign_input(*items))
        assert [(e["code"], e["field"]) for e in created["errors"]][-1:] == [(code, field)], (items, created)
    empty = await desk.create({**campaign_input((sku, 3990, None)), "items": []})
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("INVALID", ["items"])]
    unknown = await desk.create({**campaign_input((sku, 3990, None)),
                                 "items": [{"skuId": gid("Sku", 999_999), "groupPrice": 1}]})
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", ["items", "0", "skuId"])]
    assert await GroupBuyCampaign.all().count() == 0


async def test_an_sku_is_in_one_live_campaign_at_a_time(desk, shop):
    sku = await shop.sku(price=5990)
    await desk.campaign((sku, 3990, None))
    again = await desk.create(campaign_input((sku, 3500, None)))
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("DUPLICATE", ["items", "0", "skuId"])]
    assert (await desk.campaign((sku, 3500, None), starts=8 * 86400, ends=9 * 86400))["status"] == "SCHEDULED"


async def test_update_changes_only_the_given_fields_and_end_stops_it(desk, shop, gql):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), virtualFillPercent=50)
    updated = await desk.update({"id": campaign["id"], "title": "五人团", "groupSize": 5})
    assert updated["errors"] == []
    changed = updated["groupBuyCampaign"]
    assert (changed["title"], changed["groupSize"], changed["groupHours"]) == ("五人团", 5, 24)
    assert changed["virtualFillPercent"] == 50
    cleared = await desk.update({"id": campaign["id"], "virtualFillPercent": None})
    assert cleared["groupBuyCampaign"]["virtualFillPercent"] is None
    bad = await desk.update({"id": campaign["id"], "groupHours": 100})
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["groupHours"])]
    repriced = await desk.update({"id": campaign["id"], "items": [{"skuId": gid("Sku", sku.id), "groupPrice": 3500}]})
    assert repriced["groupBuyCampaign"]["items"][0]["groupPrice"] == {"amount": 3500}
    ended = await desk.end(campaign)
    assert ended["groupBuyCampaign"]["status"] == "ENDED"
    assert codes(await desk.update({"id": campaign["id"], "title": "x"})) == ["INVALID_STATE"]
    assert codes(await desk.end(campaign)) == ["INVALID_STATE"]
    listed = (await gql.data(STAFF_CAMPAIGNS, {"status": "ENDED"}, desk.staff_token))["staffGroupBuyCampaigns"]
    assert listed["totalCount"] == 1
    assert (await gql.data(STAFF_CAMPAIGNS, {"status": "ACTIVE"}, desk.staff_token))[
        "staffGroupBuyCampaigns"]["totalCount"] == 0


async def test_items_cannot_change_once_a_group_exists(desk, shop, customer_token):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None))
    assert (await desk.start(customer_token, campaign, sku))["errors"] == []
    changed = await desk.update({"id": campaign["id"], "items": [{"skuId": gid("Sku", sku.id), "groupPrice": 100}]})
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [("INVALID_STATE", ["items"])]
    assert [item.group_price for item in await GroupBuyItem.all()] == [3990]


async def test_only_owners_and_operators_set_campaigns_up(shop, gql, customer_token, finance_token):
    sku = await shop.sku(price=5990)
    mutation = "mutation($i: GroupBuyCampaignCreateInput!) { groupBuyCampaignCreate(input: $i) { errors { code } } }"
    for token in (customer_token, finance_token, None):
        body = await gql(mutation, {"i": campaign_input((sku, 3990, None))}, token)
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}
    assert await GroupBuyCampaign.all().count() == 0


BAD_UPDATES: list[tuple[dict[str, Any], str, list[str]]] = [
    ({"title": " "}, "INVALID", ["title"]),
    ({"groupSize": 0}, "INVALID", ["groupSize"]),
    ({"groupHours": 100}, "INVALID", ["groupHours"]),
    ({"perCustomerLimit": 100}, "INVALID", ["perCustomerLimit"]),
    ({"perOrderMax": 100}, "INVALID", ["perOrderMax"]),
    ({"virtualFillPercent": -5}, "INVALID", ["virtualFillPercent"]),
    ({"items": []}, "INVALID", ["items"]),
    ({"items": [{"skuId": "bad", "groupPrice": 10}]}, "NOT_FOUND", ["items", "0", "skuId"]),
    ({"id": gid("FlashSale", 1)}, "NOT_FOUND", ["id"]),
]


@pytest.mark.parametrize(("change", "code", "field"), BAD_UPDATES)
async def test_each_bad_update_field_is_refused_with_its_path_and_changes_nothing(desk, shop, change, code, field):
    sku = await shop.sku(price=5990)
    campaign = await desk.campaign((sku, 3990, None), virtualFillPercent=50)
    refused = await desk.update({"id": campaign["id"], **change})
    assert refused["groupBuyCampaign"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    row = await GroupBuyCampaign.get()
    assert (row.title, row.group_size, row.group_hours, row.virtual_fill_percent) == ("三人团", 3, 24, 50)
    assert [item.sku_id for item in await GroupBuyItem.all()] == [sku.id]
