"""No N+1: a product's open groups with their members, and a customer's groups, cost the same few SQL statements
for 2 groups as for 8."""

from __future__ import annotations

from tests.api.test_query_counts import seen_once
from tests.fixtures.catalog import gid
from tests.support.graphql import count_queries

OPEN_GROUPS = """query($id: ID!, $first: Int!) { product(id: $id) { groupBuyCampaign { title
  openGroups(first: $first) { id status paidCount seatsLeft expiresAt members { nickname avatarUrl leader virtual }
  campaign { title groupSize } } } } }"""
MY_GROUPS = """query($first: Int!) { me { groupBuys(first: $first) { edges { node { id status seatsLeft
  members { nickname leader } campaign { title items { groupPrice { amount } sku { id } } } } } } } }"""


async def test_open_groups_and_my_groups_cost_the_same_queries_for_2_groups_as_for_8(desk, shop, gql):
    sku = await shop.sku(price=5990, stock=100)
    campaign = await desk.campaign((sku, 3990, None), size=5, limit=20)
    member = await desk.customer("o-everywhere")
    for i in range(8):
        group = await desk.open_group(campaign, sku, await desk.customer(f"o-leader-{i}"))
        joined = await desk.join(member, group, sku)
        await shop.pay(joined["payment"])
    await seen_once(gql, member)
    product = {"id": gid("Product", sku.product_id)}
    with count_queries() as small:
        few = await gql.data(OPEN_GROUPS, {**product, "first": 2}, member)
    with count_queries() as large:
        many = await gql.data(OPEN_GROUPS, {**product, "first": 8}, member)
    assert len(few["product"]["groupBuyCampaign"]["openGroups"]) == 2
    groups = many["product"]["groupBuyCampaign"]["openGroups"]
    assert len(groups) == 8 and all(len(group["members"]) == 2 for group in groups)
    assert len(small) == len(large), large
    with count_queries() as small:
        few = await gql.data(MY_GROUPS, {"first": 2}, member)
    with count_queries() as large:
        many = await gql.data(MY_GROUPS, {"first": 8}, member)
    assert len(few["me"]["groupBuys"]["edges"]) == 2 and len(many["me"]["groupBuys"]["edges"]) == 8
    assert len(small) == len(large), large
