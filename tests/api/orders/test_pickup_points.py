"""Pickup points: shoppers see the active ones; owners and operators manage them; orders keep their snapshot."""

from __future__ import annotations

import pytest

from domain.orders.models import PickupPoint
from tests.fixtures.catalog import gid
from tests.support.graphql import error_codes

POINTS = "{ pickupPoints { id name address phone active } }"
STAFF_POINTS = "{ staffPickupPoints { id name active } }"
FIELDS = "pickupPoint { id name address phone active } errors { field code }"
CREATE = f"mutation($i: PickupPointCreateInput!) {{ pickupPointCreate(input: $i) {{ {FIELDS} }} }}"
UPDATE = f"mutation($i: PickupPointUpdateInput!) {{ pickupPointUpdate(input: $i) {{ {FIELDS} }} }}"


async def test_anyone_sees_the_active_pickup_points(gql, store_pickup, closed_pickup):
    points = (await gql.data(POINTS))["pickupPoints"]
    assert points == [{"id": gid("PickupPoint", store_pickup.id), "name": "科技园自提点",
                       "address": "深圳市南山区科苑路 8 号", "phone": "0755-86000000", "active": True}]


async def test_staff_see_inactive_points_too(gql, finance_token, store_pickup, closed_pickup):
    points = (await gql.data(STAFF_POINTS, token=finance_token))["staffPickupPoints"]
    assert [(p["name"], p["active"]) for p in points] == [("科技园自提点", True), ("已关闭自提点", False)]


async def test_an_operator_creates_and_deactivates_a_point(gql, operator_token):
    created = (await gql.data(CREATE, {"i": {"name": " 西门店 ", "address": "幸福路 2 号"}}, operator_token))
    point = created["pickupPointCreate"]["pickupPoint"]
    assert (point["name"], point["phone"], point["active"]) == ("西门店", "", True)
    assert [p["id"] for p in (await gql.data(POINTS))["pickupPoints"]] == [point["id"]]

    changes = {"id": point["id"], "active": False, "phone": "13900000000"}
    updated = (await gql.data(UPDATE, {"i": changes}, operator_token))["pickupPointUpdate"]
    assert updated["errors"] == []
    assert (updated["pickupPoint"]["active"], updated["pickupPoint"]["phone"], updated["pickupPoint"]["name"]) == (
        False, "13900000000", "西门店")
    assert (await gql.data(POINTS))["pickupPoints"] == []


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"name": "", "address": "幸福路"}, [["name"]]),
        ({"name": "店", "address": "x" * 256}, [["address"]]),
        ({"name": "", "address": "  ", "phone": "call me"}, [["name"], ["address"], ["phone"]]),
    ],
)
async def test_invalid_points_are_refused_and_nothing_is_written(gql, owner_token, data, fields):
    result = (await gql.data(CREATE, {"i": data}, owner_token))["pickupPointCreate"]
    assert result["pickupPoint"] is None
    assert [e["field"] for e in result["errors"]] == fields and {e["code"] for e in result["errors"]} == {"INVALID"}
    assert not await PickupPoint.exists()


async def test_updating_an_unknown_point_is_not_found(gql, owner_token):
    result = (await gql.data(UPDATE, {"i": {"id": gid("PickupPoint", 9999), "name": "x"}}, owner_token))
    assert result["pickupPointUpdate"]["errors"] == [{"field": ["id"], "code": "NOT_FOUND"}]


async def test_an_update_with_errors_changes_nothing(gql, owner_token, store_pickup):
    changes = {"id": gid("PickupPoint", store_pickup.id), "name": "新名字", "address": ""}
    result = (await gql.data(UPDATE, {"i": changes}, owner_token))["pickupPointUpdate"]
    assert [e["field"] for e in result["errors"]] == [["address"]]
    await store_pickup.refresh_from_db()
    assert (store_pickup.name, store_pickup.address) == ("科技园自提点", "深圳市南山区科苑路 8 号")


async def test_finance_and_customers_cannot_manage_points(gql, finance_token, customer_token):
    for token in (finance_token, customer_token):
        body = await gql(CREATE, {"i": {"name": "店", "address": "路"}}, token)
        assert error_codes(body) == ["FORBIDDEN"] and body["data"] is None
    assert error_codes(await gql(CREATE, {"i": {"name": "店", "address": "路"}})) == ["UNAUTHENTICATED"]
    assert not await PickupPoint.exists()
