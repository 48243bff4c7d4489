"""Share links: their codes, one per customer and target, opens, and what others cannot read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from domain.distribution.models import ShareLink, ShareOpen
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupStatus
from domain.relay.models import Relay
from tests.api.distribution.conftest import MY_DISTRIBUTOR, SHARE
from tests.fixtures.catalog import gid
from tests.fixtures.orders import pk

CODE_RE = re.compile(r"[0-9A-Za-z]{1,32}")


async def share(gql, person, **target):
    return (await gql.data(SHARE, {"i": target}, person.token))["shareLinkCreate"]


async def _group_and_relay(product, leader_id: int) -> tuple[str, str]:
    """A forming group and a relay, as global ids (written directly: their own tests set them up through GraphQL)."""
    now = datetime.now(UTC)
    campaign = await GroupBuyCampaign.create(title="团", product_id=product.id, starts_at=now,
                                             ends_at=now + timedelta(days=1), group_size=2, group_hours=1,
                                             per_customer_limit=1, per_order_max=1)
    group = await GroupBuyGroup.create(campaign_id=campaign.id, leader_id=leader_id, share_code="share1",
                                       status=GroupStatus.FORMING, required_size=2)
    hidden = await GroupBuyGroup.create(campaign_id=campaign.id, leader_id=leader_id, share_code="share2",
                                        required_size=2)  # its leader has not paid: nobody may share it
    relay = await Relay.create(title="接龙", starts_at=now, deadline=now + timedelta(days=1))
    assert hidden.status is GroupStatus.OPENING
    return gid("GroupBuy", group.id), gid("Relay", relay.id)


async def test_a_share_code_is_short_random_and_the_same_for_one_customer_and_target(dist, gql, make_product):
    product, other_product = await make_product(), await make_product()
    a, b = await dist.customer(), await dist.customer()
    first = await share(gql, a, productId=gid("Product", product.id))
    assert first["errors"] == []
    link = first["shareLink"]
    assert CODE_RE.fullmatch(link["code"]) and str(a.id) not in link["code"]
    assert link["path"] == f"pages/product/index?scene={link['code']}"
    assert link["target"] == {"kind": "Product", "id": gid("Product", product.id)}
    assert (link["opens"], link["customersBound"], link["orders"], link["gmv"]) == (0, 0, 0, {"amount": 0})
    assert (await share(gql, a, productId=gid("Product", product.id)))["shareLink"]["code"] == link["code"]
    others = {(await share(gql, b, productId=gid("Product", product.id)))["shareLink"]["code"],
              (await share(gql, a, productId=gid("Product", other_product.id)))["shareLink"]["code"]}
    assert link["code"] not in others and len(others) == 2
    group_id, relay_id = await _group_and_relay(product, a.id)
    group = (await share(gql, a, groupId=group_id))["shareLink"]
    assert group["path"].startswith("pages/group-buy/index?scene=") and group["target"] == {
        "kind": "GroupBuy", "id": group_id}
    relay = (await share(gql, a, relayId=relay_id))["shareLink"]
    assert relay["target"] == {"kind": "Relay", "id": relay_id}
    missing = [await share(gql, a, groupId=gid("GroupBuy", 999999)), await share(gql, a, relayId=gid("Relay", 999999)),
               await share(gql, a, groupId=gid("GroupBuy", pk(group_id) + 1))]
    assert [[e["code"] for e in result["errors"]] for result in missing] == [["NOT_FOUND"]] * 3
    assert await ShareLink.all().count() == 5


async def test_bad_targets_create_nothing(dist, gql, make_product):
    a = await dist.customer()
    hidden = await make_product(published=False)
    cases = [({}, ["INVALID", ["productId"]]),
             ({"productId": gid("Product", 1), "relayId": gid("Relay", 1)}, ["INVALID", ["productId"]]),
             ({"productId": gid("Product", 999999)}, ["NOT_FOUND", ["productId"]]),
             ({"productId": gid("Product", hidden.id)}, ["NOT_FOUND", ["productId"]]),
             ({"productId": gid("Relay", 1)}, ["NOT_FOUND", ["productId"]]),
             ({"groupId": "garbage"}, ["NOT_FOUND", ["groupId"]]),
             ({"relayId": gid("GroupBuy", 1)}, ["NOT_FOUND", ["relayId"]])]
    for target, expected in cases:
        result = await share(gql, a, **target)
        assert result["shareLink"] is None
        assert [[error["code"], error["field"]] for error in result["errors"]] == [expected], target
    assert await ShareLink.all().count() == 0


async def test_opens_are_recorded_anonymous_or_not_and_an_unknown_code_is_not_found(dist, gql, make_product):
    product = await make_product()
    a, b = await dist.customer(), await dist.customer()
    code = (await share(gql, a, productId=gid("Product", product.id)))["shareLink"]["code"]
    assert (await dist.open(code))["target"] == {"kind": "Product", "id": gid("Product", product.id)}
    await dist.open(code, b)
    assert [row.customer_id for row in await ShareOpen.all().order_by("id")] == [None, b.id]
    assert (await share(gql, a, productId=gid("Product", product.id)))["shareLink"]["opens"] == 2
    for unknown in ["Zz9Zz9Zz9Zz9Zz9Z", "bad code!", "x" * 33, ""]:
        assert (await dist.open(unknown)) == {"target": None, "errors": [{"code": "NOT_FOUND", "field": ["code"]}]}
    assert await ShareOpen.all().count() == 2


async def test_my_team_two_levels_masked_and_nobody_elses(dist, gql):
    await dist.turn_on("FIRST_TOUCH")
    top = await dist.distributor("顶级")
    middle = await dist.distributor("中间人")
    await dist.open(top.share_code, middle)
    shopper = await dist.customer("王小明")
    await dist.open(middle.share_code, shopper)
    mine = await dist.me(top)
    assert mine["summary"] == {"teamSize": 1, "secondLevelSize": 1}
    assert mine["team"] == {"totalCount": 1, "edges": [{"node": {"nickname": "中**"}}]}
    assert mine["level2"] == {"totalCount": 1, "edges": [{"node": {"nickname": "王**"}}]}
    assert mine["shareLinks"]["edges"][0]["node"] == {"code": top.share_code, "opens": 1, "customersBound": 1}
    assert (await dist.me(shopper)) is None  # never applied
    bad_level = await gql("{ me { distributor { team(level: 3) { totalCount } } } }", token=top.token)
    assert bad_level["errors"][0]["extensions"]["code"] == "INVALID"
    anonymous = await gql(MY_DISTRIBUTOR)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    own_links = await gql.data("{ me { shareLinks { totalCount } } }", token=middle.token)
    assert own_links["me"]["shareLinks"]["totalCount"] == 1


async def test_nobody_reads_another_customers_distributor_side_or_links(dist, gql):
    person = await dist.distributor()
    query = """{ staffDistributors { edges { node { customer {
      distributor { status } shareLinks { totalCount } } } } } }"""
    seen = (await gql.data(query, token=dist.owner))["staffDistributors"]["edges"]
    assert seen == [{"node": {"customer": {"distributor": None, "shareLinks": None}}}]
    assert (await dist.me(person))["status"] == "APPROVED"
