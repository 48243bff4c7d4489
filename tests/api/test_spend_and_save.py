"""Spend-and-save through the API: staff set tiers, the cart shows the saving live, checkout adds a coupon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.pricing.models import SpendAndSave
from tests.fixtures.catalog import gid
from tests.fixtures.orders import pk
from tests.support.graphql import error_codes

ERRORS = "errors { field code message }"
FIELDS = "id name status startsAt endsAt endedAt tiers { threshold { amount } amount { amount } }"
CREATE = f"""mutation($i: SpendAndSaveCreateInput!) {{ spendAndSaveCreate(input: $i) {{
  spendAndSave {{ {FIELDS} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($i: SpendAndSaveUpdateInput!) {{ spendAndSaveUpdate(input: $i) {{
  spendAndSave {{ {FIELDS} }} {ERRORS} }} }}"""
END = f"mutation($i: SpendAndSaveEndInput!) {{ spendAndSaveEnd(input: $i) {{ spendAndSave {{ {FIELDS} }} {ERRORS} }} }}"
ACTIVE = "{ activeSpendAndSaves { id name tiers { threshold { amount } amount { amount } } } }"
CART = """{ cart { subtotal { amount } total { amount } discounts { source amount { amount } }
  lines { discount { amount } lineTotal { amount } }
  nextSpendAndSaveTier { threshold { amount } amount { amount } missing { amount } }
  coupons { customerCoupon { code } saving { amount } } } }"""
ADD = "mutation($i: CartAddItemInput!) { cartAddItem(input: $i) { errors { code } } }"
COUPON = """mutation($i: CouponCreateInput!) { couponCreate(input: $i) { coupon { id } errors { code } } }"""
CLAIM = "mutation($i: CouponClaimInput!) { couponClaim(input: $i) { customerCoupon { code } errors { code } } }"


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def tiers(*pairs: tuple[int, int]) -> list[dict]:
    return [{"threshold": t, "amount": a} for t, a in pairs]


async def create(gql, token, *pairs: tuple[int, int], starts: float = -60, ends: float = 86400) -> dict:
    data = {"name": "满100减10", "startsAt": at(starts), "endsAt": at(ends), "tiers": tiers(*pairs)}
    created = (await gql.data(CREATE, {"i": data}, token))["spendAndSaveCreate"]
    assert created["errors"] == [], created["errors"]
    return created["spendAndSave"]


async def add(gql, token, sku, quantity: int) -> None:
    result = await gql.data(ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": quantity}}, token)
    assert result["cartAddItem"]["errors"] == []


async def test_the_cart_shows_the_best_tier_live_and_what_the_next_needs(shop, gql, operator_token, customer_token):
    apples, pears = await shop.sku(price=3000, stock=10), await shop.sku(price=2500, stock=10)
    promotion = await create(gql, operator_token, (10000, 1000), (20000, 3000))
    assert (await gql.data(ACTIVE))["activeSpendAndSaves"] == [
        {"id": promotion["id"], "name": "满100减10", "tiers": [
            {"threshold": {"amount": 10000}, "amount": {"amount": 1000}},
            {"threshold": {"amount": 20000}, "amount": {"amount": 3000}}]}]
    await add(gql, customer_token, apples, 2)
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert (cart["discounts"], cart["total"]["amount"]) == ([], 6000)
    assert cart["nextSpendAndSaveTier"] == {"threshold": {"amount": 10000}, "amount": {"amount": 1000},
                                            "missing": {"amount": 4000}}
    await add(gql, customer_token, pears, 2)
    cart = (await gql.data(CART, token=customer_token))["cart"]
    source = f"spend-and-save:{pk(promotion['id'])}"
    assert cart["discounts"] == [{"source": source, "amount": {"amount": 1000}}]
    assert [(line["discount"]["amount"], line["lineTotal"]["amount"]) for line in cart["lines"]] == [
        (545, 5455), (455, 4545)]
    assert (cart["subtotal"]["amount"], cart["total"]["amount"]) == (11000, 10000)
    assert cart["nextSpendAndSaveTier"]["missing"] == {"amount": 9000}

    ended = (await gql.data(END, {"i": {"id": promotion["id"]}}, operator_token))["spendAndSaveEnd"]
    assert ended["spendAndSave"]["status"] == "ENDED"
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert (cart["discounts"], cart["total"]["amount"], cart["nextSpendAndSaveTier"]) == ([], 11000, None)
    assert (await gql.data(ACTIVE))["activeSpendAndSaves"] == []


async def test_checkout_applies_spend_and_save_then_the_coupon_and_the_lines_add_up(
    shop, gql, operator_token, customer_token
):
    apples, pears = await shop.sku(price=3000, stock=10), await shop.sku(price=2500, stock=10)
    promotion = await create(gql, operator_token, (10000, 1000))
    coupon_input = {"name": "9折券", "kind": "PERCENT", "value": 10, "minSpend": 10000, "totalQuantity": 5,
                    "startsAt": at(-60), "endsAt": at(86400), "validDays": 3}
    coupon = (await gql.data(COUPON, {"i": coupon_input}, operator_token))["couponCreate"]["coupon"]
    code = (await gql.data(CLAIM, {"i": {"couponId": coupon["id"]}}, customer_token))["couponClaim"][
        "customerCoupon"]["code"]
    await add(gql, customer_token, apples, 2)
    await add(gql, customer_token, pears, 2)
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert cart["coupons"] == [{"customerCoupon": {"code": code}, "saving": {"amount": 1000}}]  # 10 % of 10000

    order, _ = await shop.place(customer_token, fromCart=True, couponCode=code)
    lines = [(line["unitPrice"]["amount"], line["discount"]["amount"], line["lineTotal"]["amount"])
             for line in order["lines"]]
    assert lines == [(3000, 1091, 4909), (2500, 909, 4091)]
    assert (order["subtotal"]["amount"], order["discountTotal"]["amount"], order["payable"]["amount"]) == (
        11000, 2000, 9000)
    assert sum(line[1] for line in lines) == order["discountTotal"]["amount"]
    read = (await gql.data("query($id: ID!) { order(id: $id) { discounts { source amount { amount } } } }",
                           {"id": order["id"]}, customer_token))["order"]
    assert read["discounts"] == [{"source": f"spend-and-save:{pk(promotion['id'])}", "amount": {"amount": 1000}},
                                 {"source": f"coupon:{pk(coupon['id'])}", "amount": {"amount": 1000}}]


async def test_invalid_tiers_name_their_fields_and_write_nothing(gql, operator_token):
    data = {"name": "坏的", "startsAt": at(-60), "endsAt": at(3600), "tiers": tiers((10000, 0), (10000, 20000))}
    refused = (await gql.data(CREATE, {"i": data}, operator_token))["spendAndSaveCreate"]
    assert refused["spendAndSave"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID", ["tiers", "0", "amount"]), ("DUPLICATE", ["tiers", "1", "threshold"]),
        ("INVALID", ["tiers", "1", "amount"])]
    assert not await SpendAndSave.exists()


async def test_staff_update_and_list_spend_and_saves(gql, operator_token, finance_token):
    running = await create(gql, operator_token, (10000, 1000))
    await create(gql, operator_token, (5000, 300), starts=3600, ends=7200)
    changed = (await gql.data(UPDATE, {"i": {"id": running["id"], "tiers": tiers((8000, 800))}},
                              operator_token))["spendAndSaveUpdate"]
    assert changed["spendAndSave"]["tiers"] == [{"threshold": {"amount": 8000}, "amount": {"amount": 800}}]
    query = "query($s: SpendAndSaveStatus) { staffSpendAndSaves(status: $s) { totalCount } }"
    for status, count in (("ACTIVE", 1), ("SCHEDULED", 1), ("ENDED", 0), (None, 2)):
        assert (await gql.data(query, {"s": status}, finance_token))["staffSpendAndSaves"]["totalCount"] == count
    bad = (await gql.data(UPDATE, {"i": {"id": gid("SpendAndSave", 999_999)}}, operator_token))["spendAndSaveUpdate"]
    assert [e["code"] for e in bad["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("who", ["finance", "customer", "anonymous"])
async def test_only_owners_and_operators_manage_spend_and_saves(gql, finance_token, customer_token, who):
    token = {"finance": finance_token, "customer": customer_token, "anonymous": None}[who]
    data = {"name": "满减", "startsAt": at(-60), "endsAt": at(3600), "tiers": tiers((10000, 1000))}
    body = await gql(CREATE, {"i": data}, token)
    assert error_codes(body) == ["UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"]
    if who != "finance":
        listed = await gql("{ staffSpendAndSaves { totalCount } }", {}, token)
        assert error_codes(listed) == ["UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"]
    assert not await SpendAndSave.exists()
