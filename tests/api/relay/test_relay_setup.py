"""Staff set relays up: what is stored, every bad field refused (changing nothing), items fixed once joined."""

from __future__ import annotations

from domain.identity.models import StaffRole
from domain.relay.models import Relay, RelayItem
from tests.fixtures.catalog import gid
from tests.fixtures.relays import CLOSE, CREATE, STAFF_RELAYS, UPDATE, codes, relay_input
from tests.support.graphql import error_codes


async def test_a_relay_is_created_with_its_items_story_and_pickup_points(relays):
    sku = await relays.shop.sku(price=3990, stock=50)
    relay = await relays.relay((sku, 2990, 20))
    assert relay["title"] == "周五水果接龙"
    assert relay["status"] == "OPEN"
    assert relay["story"] == {"text": "今日现摘,周六自提", "images": ["https://img.pond.example/relay-1.jpg"]}
    assert relay["items"] == [{"price": {"amount": 2990}, "cap": 20, "sold": 0, "remaining": 20,
                               "sku": {"id": gid("Sku", sku.id)}}]
    assert relay["pickupPoints"] == [{"id": gid("PickupPoint", relays.point.id), "name": relays.point.name}]
    assert (relay["addressDelivery"], relay["minUnits"], relay["maxUnits"], relay["entryCount"]) == (False, 1, 99, 0)
    later = await relays.relay((sku, 3990), starts=600)
    assert later["status"] == "SCHEDULED"
    assert (await relays.read(later))["status"] == "SCHEDULED"  # public, anonymous
    for unknown in (gid("Relay", 999_999), gid("Sku", sku.id), "garbage"):
        assert (await relays.gql.data("query($id: ID!) { relay(id: $id) { id } }", {"id": unknown}))["relay"] is None


async def test_every_bad_field_is_reported_at_once_and_nothing_is_created(relays, closed_pickup):
    sku = await relays.shop.sku(price=3990)
    bad = relay_input(
        (sku, 4000, 0), (sku, 0),
        title=" ", starts=60, deadline=30, points=[closed_pickup],
        story={"text": "长" * 2001, "images": ["ftp://x"]},
        minUnits=0, maxUnits=1000,
    )
    result = await relays.create(bad)
    assert result["relay"] is None
    fields = sorted(".".join(error["field"]) for error in result["errors"])
    assert fields == sorted(["title", "story.text", "story.images.0", "deadline", "items.1.skuId",
                             "items.0.cap", "items.0.price", "items.1.price", "minUnits", "maxUnits",
                             "pickupPointIds.0"])
    assert await Relay.all().count() == 0 and await RelayItem.all().count() == 0


async def test_field_rules_one_by_one(relays, closed_pickup):
    sku = await relays.shop.sku(price=3990)
    here = [relays.point]
    cases = [
        (relay_input((sku, 3991), points=here), "items.0.price", "INVALID"),  # above the list price
        (relay_input((sku, 100)), "pickupPointIds", "INVALID"),  # nowhere to collect it
        (relay_input((sku, 100), points=[closed_pickup]), "pickupPointIds.0", "NOT_FOUND"),
        (relay_input((sku, 100), points=[relays.point, relays.point]), "pickupPointIds", "DUPLICATE"),
        (relay_input((sku, 100), points=here, starts=-60, deadline=-1), "deadline", "INVALID"),  # in the past
        (relay_input(points=here), "items", "INVALID"),
        (relay_input((sku, 100), points=here, minUnits=5, maxUnits=4), "maxUnits", "INVALID"),
        (relay_input((sku, 100), points=here, title="长" * 65), "title", "INVALID"),
        (relay_input((sku, 100), points=here, story={"images": [f"https://img/{n}.jpg" for n in range(10)]}),
         "story.images", "INVALID"),
        (relay_input((sku, 100, 1_000_001), points=here), "items.0.cap", "INVALID"),
        (relay_input((sku, 100), (sku, 90), points=here), "items.1.skuId", "DUPLICATE"),
    ]
    for data, field, code in cases:
        result = await relays.create(data)
        assert [(".".join(e["field"]), e["code"]) for e in result["errors"]] == [(field, code)], field
    bad_sku = relay_input((sku, 100), points=here)
    bad_sku["items"][0]["skuId"] = gid("Product", sku.id)
    assert [e["field"] for e in (await relays.create(bad_sku))["errors"]] == [["items", "0", "skuId"]]
    assert await Relay.all().count() == 0


async def test_address_delivery_alone_is_enough(relays):
    sku = await relays.shop.sku()
    relay = await relays.relay((sku, 100), points=[], addressDelivery=True)
    assert (relay["addressDelivery"], relay["pickupPoints"]) == (True, [])


async def test_update_changes_what_is_given_and_items_only_until_someone_joins(relays, customer_token):
    sku = await relays.shop.sku(price=3990, stock=20)
    other = await relays.shop.sku(price=1990, stock=20)
    relay = await relays.relay((sku, 2990))
    updated = await relays.update({"id": relay["id"], "title": "改名了", "maxUnits": 5,
                                   "items": [{"skuId": gid("Sku", other.id), "price": 1000, "cap": 3}]})
    assert updated["errors"] == []
    assert (updated["relay"]["title"], updated["relay"]["maxUnits"]) == ("改名了", 5)
    assert [item["sku"]["id"] for item in updated["relay"]["items"]] == [gid("Sku", other.id)]
    assert updated["relay"]["story"]["text"] == "今日现摘,周六自提"  # untouched
    await relays.joined(customer_token, relay, (other, 1))
    locked = await relays.update({"id": relay["id"], "items": [{"skuId": gid("Sku", sku.id), "price": 100}]})
    assert [(e["code"], e["field"]) for e in locked["errors"]] == [("INVALID_STATE", ["items"])]
    assert [item.sku_id for item in await RelayItem.filter(relay_id=(await Relay.first()).id)] == [other.id]
    assert (await relays.update({"id": relay["id"], "title": "还能改标题"}))["errors"] == []
    bad = await relays.update({"id": relay["id"], "minUnits": 9})
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["maxUnits"])]
    assert (await Relay.first()).min_units == 1


async def test_a_closed_relay_is_ended_and_cannot_change(relays):
    sku = await relays.shop.sku()
    relay = await relays.relay((sku, 100))
    closed = await relays.close(relay)
    assert closed["relay"]["status"] == "ENDED" and closed["relay"]["closedAt"] is not None
    assert codes(await relays.close(relay)) == ["INVALID_STATE"]
    assert codes(await relays.update({"id": relay["id"], "title": "x"})) == ["INVALID_STATE"]
    assert codes(await relays.update({"id": gid("Relay", 999_999), "title": "x"})) == ["NOT_FOUND"]


async def test_staff_list_relays_by_status(relays):
    sku = await relays.shop.sku()
    running = await relays.relay((sku, 100))
    later = await relays.relay((sku, 100), starts=600, deadline=1200)
    ended = await relays.relay((sku, 100))
    await relays.close(ended)

    async def listed(status: str | None) -> list[str]:
        data = await relays.gql.data(STAFF_RELAYS, {"status": status}, relays.staff_token)
        return [edge["node"]["id"] for edge in data["staffRelays"]["edges"]]

    assert await listed(None) == [ended["id"], later["id"], running["id"]]
    assert await listed("OPEN") == [running["id"]]
    assert await listed("SCHEDULED") == [later["id"]]
    assert await listed("ENDED") == [ended["id"]]


async def test_only_owners_and_operators_set_relays_up(relays, customer_token, issue_staff_token):
    sku = await relays.shop.sku()
    relay = await relays.relay((sku, 100))
    finance = await issue_staff_token(StaffRole.FINANCE)
    for token, code in ((None, "UNAUTHENTICATED"), (customer_token, "FORBIDDEN"), (finance, "FORBIDDEN")):
        body = await relays.gql(CREATE, {"i": relay_input((sku, 100), points=[relays.point])}, token)
        assert error_codes(body) == [code]
        assert error_codes(await relays.gql(STAFF_RELAYS, {}, token)) == [code]
        for mutation, data in ((UPDATE, {"id": relay["id"], "title": "x"}), (CLOSE, {"id": relay["id"]})):
            assert error_codes(await relays.gql(mutation, {"i": data}, token)) == [code]
    assert await Relay.all().count() == 1
    assert (await Relay.get()).title == "周五水果接龙" and (await Relay.get()).closed_at is None
    owner = await issue_staff_token(StaffRole.OWNER)
    assert (await relays.create(relay_input((sku, 100), points=[relays.point]), owner))["errors"] == []
