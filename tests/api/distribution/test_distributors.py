"""Applying, staff decisions and the settings: roles, states, versions and every bad field."""

from __future__ import annotations

import pytest

from domain.distribution.models import DistributionSettingsVersion, Distributor
from tests.api.distribution.conftest import APPROVE, REJECT, SET_ENABLED, SETTINGS_UPDATE, STAFF_LIST
from tests.fixtures.catalog import gid
from tests.support.graphql import error_codes


def fields_of(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


async def test_apply_approve_and_read_my_distributor_side(dist, gql):
    person = await dist.customer()
    assert (await gql.data("{ me { distributor { status } } }", token=person.token))["me"]["distributor"] is None
    applied = await dist.apply(person)
    assert applied == {"distributor": {"status": "PENDING", "level": 1, "shareCode": None, "rejectReason": ""},
                       "errors": []}
    pending = (await gql.data("{ me { distributor { status } distributorApplication { status } } }",
                              token=person.token))["me"]
    # api.md: me.distributor is null unless approved; the application shows its state
    assert pending == {"distributor": None, "distributorApplication": {"status": "PENDING"}}
    assert fields_of(await dist.apply(person)) == [("DUPLICATE", None)]
    listed = (await gql.data(STAFF_LIST, {"s": "PENDING"}, dist.owner))["staffDistributors"]
    assert listed["totalCount"] == 1
    node = listed["edges"][0]["node"]
    assert (node["realName"], node["phone"], node["status"]) == ("张三", "138****8000", "PENDING")
    approved = await dist.staff(APPROVE, {"id": node["id"]})
    assert approved["distributor"]["status"] == "APPROVED"
    assert fields_of(await dist.staff(APPROVE, {"id": node["id"]})) == [("INVALID_STATE", ["id"])]
    mine = await dist.me(person)
    assert mine["status"] == "APPROVED" and len(mine["shareCode"]) == 16
    assert mine["summary"] == {"teamSize": 0, "secondLevelSize": 0}


async def test_a_rejected_customer_may_apply_again(dist, gql):
    person = await dist.customer()
    await dist.apply(person)
    distributor_id = gid("Distributor", (await Distributor.get(customer_id=person.id)).id)
    assert fields_of(await dist.staff(REJECT, {"id": distributor_id, "reason": "  "})) == [("INVALID", ["reason"])]
    rejected = await dist.staff(REJECT, {"id": distributor_id, "reason": "资料不全"})
    assert rejected["distributor"] == {"id": distributor_id, "status": "REJECTED", "rejectReason": "资料不全"}
    assert fields_of(await dist.staff(SET_ENABLED, {"id": distributor_id, "enabled": False})) == [
        ("INVALID_STATE", ["id"])]
    again = await dist.apply(person, realName="张三丰")
    assert again["distributor"]["status"] == "PENDING" and again["distributor"]["rejectReason"] == ""
    assert await Distributor.filter(customer_id=person.id).count() == 1
    assert fields_of(await dist.staff(APPROVE, {"id": gid("Distributor", 999999)})) == [("NOT_FOUND", ["id"])]
    assert fields_of(await dist.staff(APPROVE, {"id": gid("Product", 1)})) == [("NOT_FOUND", ["id"])]


async def test_bad_applications_change_nothing(dist):
    person = await dist.customer()
    bad = await dist.apply(person, realName=" ", phone="12345", reason="x" * 501)
    assert fields_of(bad) == [("INVALID", ["realName"]), ("INVALID", ["phone"]), ("INVALID", ["reason"])]
    assert await Distributor.all().count() == 0


@pytest.mark.parametrize("role", ["customer", "finance", "anonymous"])
async def test_only_owner_and_operator_decide(dist, gql, role, customer_token, finance_token, operator_token):
    token = {"customer": customer_token, "finance": finance_token, "anonymous": None}[role]
    person = await dist.customer()
    await dist.apply(person)
    distributor_id = gid("Distributor", (await Distributor.get(customer_id=person.id)).id)
    body = await gql(APPROVE, {"i": {"id": distributor_id}}, token)
    assert error_codes(body) == ["FORBIDDEN" if token else "UNAUTHENTICATED"]
    body = await gql(STAFF_LIST, {}, token)
    assert error_codes(body) == ["FORBIDDEN" if token else "UNAUTHENTICATED"]
    approved = (await gql.data(APPROVE, {"i": {"id": distributor_id}}, operator_token))["distributorApprove"]
    assert approved["errors"] == []
    body = await gql(SETTINGS_UPDATE, {"i": {"enabled": True}}, operator_token)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_settings_are_versioned_and_read_back(dist, gql, make_product):
    product = await make_product()
    saved = await dist.settings(enabled=True, levels=2, directRateBp=800, parentRateBp=200, bindingMode="WINDOW",
                                windowDays=15, freezeDays=10, earningKinds=["NORMAL", "FLASH_SALE"],
                                selfPurchaseEarns=True, withdrawalMinimum=1000, withdrawalFeeBp=60,
                                distributorLevels=[{"level": 2, "name": "金牌", "directRateBp": 1200,
                                                    "parentRateBp": 300}],
                                productRates=[{"productId": gid("Product", product.id), "fixedFen": 150}])
    assert saved["errors"] == []
    assert saved["settings"] == {
        "version": 1, "enabled": True, "levels": 2, "directRateBp": 800, "parentRateBp": 200,
        "bindingMode": "WINDOW", "windowDays": 15, "freezeDays": 10, "earningKinds": ["NORMAL", "FLASH_SALE"],
        "selfPurchaseEarns": True, "withdrawalMinimum": 1000, "withdrawalFeeBp": 60,
        "distributorLevels": [{"level": 2, "name": "金牌", "directRateBp": 1200, "parentRateBp": 300}],
        "productRates": [{"productId": gid("Product", product.id), "rateBp": None, "fixedFen": 150}]}
    second = await dist.settings(windowDays=20)
    assert (second["settings"]["version"], second["settings"]["windowDays"], second["settings"]["levels"]) == (
        2, 20, 2)
    read = await gql.data("{ distributionSettings { version windowDays } }", token=dist.owner)
    assert read["distributionSettings"] == {"version": 2, "windowDays": 20}
    assert await DistributionSettingsVersion.all().count() == 2


async def test_defaults_before_the_first_save(gql, owner_token):
    read = await gql.data("{ distributionSettings { version enabled bindingMode windowDays freezeDays earningKinds } }",
                          token=owner_token)
    assert read["distributionSettings"] == {"version": 0, "enabled": False, "bindingMode": "FIRST_TOUCH",
                                            "windowDays": 30, "freezeDays": 7,
                                            "earningKinds": ["NORMAL", "GROUP_BUY", "RELAY"]}


async def test_every_bad_setting_is_reported_and_nothing_changes(dist):
    bad = await dist.settings(levels=3, directRateBp=-1, parentRateBp=5001, windowDays=0, freezeDays=366,
                              withdrawalMinimum=-5, withdrawalFeeBp=10001, earningKinds=["NORMAL", "NORMAL"],
                              distributorLevels=[{"level": 0, "name": "", "directRateBp": 6000},
                                                 {"level": 0, "name": "x", "directRateBp": 1}],
                              productRates=[{"productId": gid("Product", 424242), "rateBp": 10},
                                            {"productId": gid("Sku", 1), "rateBp": 10}])
    assert bad["settings"] is None
    reported = {".".join(error["field"]) for error in bad["errors"] if error["code"] == "INVALID"}
    assert reported >= {"levels", "directRateBp", "parentRateBp", "windowDays", "freezeDays", "withdrawalMinimum",
                        "withdrawalFeeBp", "earningKinds", "distributorLevels.0.level", "distributorLevels.0.name",
                        "distributorLevels.0.directRateBp", "distributorLevels.1.level"}
    unknown_product = await dist.settings(productRates=[{"productId": gid("Product", 424242), "rateBp": 10}])
    assert fields_of(unknown_product) == [("INVALID", ["productRates", "0", "productId"])]
    wrong_type = await dist.settings(productRates=[{"productId": gid("Sku", 1), "rateBp": 10}])
    assert fields_of(wrong_type) == [("INVALID", ["productRates", "0", "productId"])]
    both = await dist.settings(productRates=[{"productId": gid("Product", 1), "rateBp": 10, "fixedFen": 5}])
    assert ("INVALID", ["productRates", "0"]) in fields_of(both)
    assert await DistributionSettingsVersion.all().count() == 0
