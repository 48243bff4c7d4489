"""Points (积分) and sign-in (签到) through the API: earned when an order completes, its share taken back by a
refund (never below zero), a sign-in a day in Shanghai's calendar with a streak bonus, coupons bought with points
(all or nothing, even 10 at once), and the owner's rules validated."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.points import account
from domain.pricing.models import CustomerCoupon
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_CONFIRM, ORDER_REFUND, order_row

pytestmark = pytest.mark.usefixtures("audited")

SIGN_IN = "mutation { signIn { signIn { day streak points } points errors { code } } }"
ME = """{ me { points signedInToday { day streak } pointsLedger(first: 10) { totalCount edges { node { amount note } }
  } } }"""
REDEEM = """mutation($c: ID!) { pointsRedeem(input: {couponId: $c}) { customerCoupon { id } errors { code field } } }"""
SETTINGS = """mutation($i: PointsSettingsUpdateInput!) { pointsSettingsUpdate(input: $i) {
  settings { pointsPerYuan signInPoints streakDays streakBonus redeemable { couponId points } }
  errors { code field } } }"""


async def sign_in(gql, token: str) -> dict[str, Any]:
    return (await gql.data(SIGN_IN, token=token))["signIn"]


async def test_one_sign_in_a_day_in_shanghai_with_a_bonus_every_seventh_day_in_a_row(gql, customer_token, clock):
    clock.set(datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
    first = await sign_in(gql, customer_token)
    assert (first["signIn"], first["points"]) == ({"day": "2026-12-01", "streak": 1, "points": 5}, 5)
    again = await sign_in(gql, customer_token)
    assert again["errors"] == [{"code": "DUPLICATE"}] and again["signIn"] is None

    clock.move(seconds=1)  # midnight in Shanghai, still the 1st in UTC
    second = await sign_in(gql, customer_token)
    assert second["signIn"] == {"day": "2026-12-02", "streak": 2, "points": 5}
    for _ in range(3, 8):
        clock.move(days=1)
        done = await sign_in(gql, customer_token)
    assert done["signIn"] == {"day": "2026-12-07", "streak": 7, "points": 25}  # 5 + the 7th day's 20
    assert done["points"] == 6 * 5 + 25
    clock.move(days=2)  # a day missed: the streak starts again
    assert (await sign_in(gql, customer_token))["signIn"]["streak"] == 1
    me = (await gql.data(ME, token=customer_token))["me"]
    assert me["points"] == 6 * 5 + 25 + 5 and me["signedInToday"]["streak"] == 1
    assert me["pointsLedger"]["totalCount"] == 8


async def test_ten_sign_ins_at_once_count_once(gql, customer_token):
    done = await asyncio.gather(*(sign_in(gql, customer_token) for _ in range(10)))
    assert sorted(len(result["errors"]) for result in done) == [0] + [1] * 9
    assert (await gql.data(ME, token=customer_token))["me"]["points"] == 5


async def test_a_completed_order_earns_points_and_a_refund_takes_its_share_back(
    shop, gql, customer_token, operator_token, finance_token, owner_token, make_coupon
):
    sku = await shop.sku(price=1990)
    order = await shop.shipped_order(customer_token, operator_token, (sku, 2))
    assert (await gql.data(ME, token=customer_token))["me"]["points"] == 0  # not completed yet
    done = (await gql.data(ORDER_CONFIRM, {"i": {"orderId": order["id"]}}, customer_token))["orderConfirmReceipt"]
    assert done["errors"] == []
    assert (await gql.data(ME, token=customer_token))["me"]["points"] == 39  # ¥39.80

    refund = (await gql.data(ORDER_REFUND, {"i": {"orderId": order["id"], "amount": 1990, "reason": "坏了一个"}},
                             finance_token))["orderRefund"]
    await shop.finish_refund(refund["refund"]["id"])
    assert (await gql.data(ME, token=customer_token))["me"]["points"] == 19  # 39 × 1990 / 3980, rounded down

    await sign_in(gql, customer_token)  # 24 now: 20 of them buy a coupon
    coupon = await make_coupon()
    priced = {"redeemable": [{"couponId": gid("Coupon", coupon.id), "points": 20}]}
    assert (await gql.data(SETTINGS, {"i": priced}, owner_token))["pointsSettingsUpdate"]["errors"] == []
    bought = (await gql.data(REDEEM, {"c": gid("Coupon", coupon.id)}, customer_token))["pointsRedeem"]
    assert bought["errors"] == []
    refund = (await gql.data(ORDER_REFUND, {"i": {"orderId": order["id"], "reason": "都退了"}},
                             finance_token))["orderRefund"]
    await shop.finish_refund(refund["refund"]["id"])
    customer_id = (await order_row(order)).customer_id
    assert await account.points_of(customer_id) == 0  # 19 owed, 4 left: taken, the rest forgiven, never below 0


async def test_points_buy_a_coupon_all_or_nothing_even_ten_at_once(gql, customer_token, owner_token, make_coupon):
    coupon = await make_coupon(per_customer_limit=10)
    settings = (await gql.data(SETTINGS, {"i": {"signInPoints": 12, "redeemable": [
        {"couponId": gid("Coupon", coupon.id), "points": 5}]}}, owner_token))["pointsSettingsUpdate"]
    assert settings["errors"] == []
    short = (await gql.data(REDEEM, {"c": gid("Coupon", coupon.id)}, customer_token))["pointsRedeem"]
    assert short["errors"] == [{"code": "INSUFFICIENT_BALANCE", "field": ["couponId"]}]
    assert await CustomerCoupon.all().count() == 0

    await sign_in(gql, customer_token)  # 12 points: two coupons
    done = await asyncio.gather(*(gql.data(REDEEM, {"c": gid("Coupon", coupon.id)}, customer_token)
                                  for _ in range(10)))
    assert sum(1 for result in done if result["pointsRedeem"]["errors"] == []) == 2
    assert await CustomerCoupon.all().count() == 2
    assert (await gql.data(ME, token=customer_token))["me"]["points"] == 2


async def test_the_rules_are_the_owners_and_every_bad_value_is_named(gql, owner_token, operator_token):
    bad = (await gql.data(SETTINGS, {"i": {"pointsPerYuan": -1, "streakDays": 0, "redeemable": [
        {"couponId": gid("Coupon", 999), "points": 0}]}}, owner_token))["pointsSettingsUpdate"]
    assert sorted(tuple(error["field"]) for error in bad["errors"]) == [
        ("pointsPerYuan",), ("redeemable", "0", "couponId"), ("redeemable", "0", "points"), ("streakDays",)]
    refused = await gql(SETTINGS, {"i": {"pointsPerYuan": 2}}, operator_token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
