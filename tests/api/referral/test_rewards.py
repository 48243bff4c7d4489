"""荐客有礼: a referred customer's first completed order gives the referrer (and the new customer) a coupon, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from strawberry import relay

from domain.distribution import settings
from domain.distribution.models import ShareLink, ShareOpen
from domain.identity.models import Customer
from domain.pricing.models import CustomerCoupon
from domain.referral.models import ReferralReward
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_CONFIRM

pytestmark = pytest.mark.usefixtures("audited")


async def _refer(referrer_openid: str, referred_openid: str) -> tuple[Customer, Customer]:
    referrer = await Customer.get(openid=referrer_openid)
    referred = await Customer.get(openid=referred_openid)
    now = datetime.now(UTC)
    link = await ShareLink.create(code="refer-1", customer_id=referrer.id, target_kind="Shop", target_id=0,
                                  created_at=now)
    await ShareOpen.create(link=link, customer_id=referred.id, opened_at=now)
    return referrer, referred


async def _confirm(shop, gql, order, token):
    result = (await gql.data(ORDER_CONFIRM, {"i": {"orderId": order["id"]}}, token))["orderConfirmReceipt"]
    assert result["errors"] == [], result


async def test_first_completed_order_rewards_both_once(shop, gql, customer_token, other_customer_token,
                                                       operator_token, make_coupon):
    referrer, referred = await _refer("o-customer-b", "o-customer-a")
    mine, theirs = await make_coupon(name="荐客奖励"), await make_coupon(name="新客礼")
    await settings.update({"referral_referrer_coupon_id": mine.id, "referral_new_customer_coupon_id": theirs.id})
    sku = await shop.sku()
    first = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    second = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    await _confirm(shop, gql, first, customer_token)
    await _confirm(shop, gql, second, customer_token)

    rewards = await ReferralReward.all().values_list("referred_customer_id", "referrer_customer_id")
    assert rewards == [(referred.id, referrer.id)]
    assert await CustomerCoupon.filter(customer_id=referrer.id, coupon_id=mine.id).count() == 1
    assert await CustomerCoupon.filter(customer_id=referred.id, coupon_id=theirs.id).count() == 1


async def test_no_referrer_coupon_gives_nothing(shop, gql, customer_token, other_customer_token, operator_token):
    await _refer("o-customer-b", "o-customer-a")
    sku = await shop.sku()
    order = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    await _confirm(shop, gql, order, customer_token)
    assert await ReferralReward.all().count() == 0
    assert await CustomerCoupon.all().count() == 0


async def test_referring_oneself_gives_nothing(shop, gql, customer_token, operator_token, make_coupon):
    await _refer("o-customer-a", "o-customer-a")
    mine = await make_coupon()
    await settings.update({"referral_referrer_coupon_id": mine.id})
    sku = await shop.sku()
    order = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    await _confirm(shop, gql, order, customer_token)
    assert await ReferralReward.all().count() == 0


async def test_two_first_orders_completed_together_reward_once(shop, gql, customer_token, other_customer_token,
                                                               operator_token, make_coupon):
    referrer, _ = await _refer("o-customer-b", "o-customer-a")
    mine = await make_coupon()
    await settings.update({"referral_referrer_coupon_id": mine.id})
    sku = await shop.sku()
    orders = [await shop.shipped_order(customer_token, operator_token, (sku, 1)) for _ in range(2)]
    await asyncio.gather(*(_confirm(shop, gql, order, customer_token) for order in orders))
    assert await ReferralReward.all().count() == 1
    assert await CustomerCoupon.filter(customer_id=referrer.id).count() == 1


SETTINGS = """mutation($i: DistributionSettingsUpdateInput!) { distributionSettingsUpdate(input: $i) {
  settings { referralReferrerCouponId referralNewCustomerCouponId } errors { code field } } }"""


async def test_staff_set_the_reward_coupons_and_an_unknown_coupon_is_invalid(gql, owner_token, make_coupon):
    coupon = await make_coupon()
    gid = str(relay.GlobalID("Coupon", str(coupon.id)))
    result = (await gql.data(SETTINGS, {"i": {"referralReferrerCouponId": gid}}, owner_token))
    assert result["distributionSettingsUpdate"] == {
        "settings": {"referralReferrerCouponId": gid, "referralNewCustomerCouponId": None}, "errors": []}
    unknown = str(relay.GlobalID("Coupon", str(coupon.id + 1000)))
    result = (await gql.data(SETTINGS, {"i": {"referralNewCustomerCouponId": unknown}}, owner_token))
    assert result["distributionSettingsUpdate"]["errors"] == [
        {"code": "INVALID", "field": ["referralNewCustomerCouponId"]}]
    assert (await settings.current()).rules.referral_new_customer_coupon_id is None


VERIFY = """mutation($i: OrderPickupVerifyInput!) { orderPickupVerify(input: $i) { errors { code } } }"""
CODE_OF = "query($id: ID!) { order(id: $id) { pickupCode } }"
MY_COUPONS = "{ coupons { edges { node { coupon { name } } } } }"


async def test_pickup_verification_rewards_and_the_coupon_is_the_customers(
        shop, gql, store_pickup, customer_token, other_customer_token, operator_token, make_coupon):
    await _refer("o-customer-b", "o-customer-a")
    mine, theirs = await make_coupon(name="荐客奖励"), await make_coupon(name="新客礼")
    await settings.update({"referral_referrer_coupon_id": mine.id, "referral_new_customer_coupon_id": theirs.id})
    order, payment = await shop.place(customer_token, (await shop.sku(stock=5), 1),
                                      delivery={"pickupPointId": gid("PickupPoint", store_pickup.id)})
    await shop.pay(payment)
    code = (await gql.data(CODE_OF, {"id": order["id"]}, customer_token))["order"]["pickupCode"]
    assert (await gql.data(VERIFY, {"i": {"pickupCode": code}}, operator_token))["orderPickupVerify"]["errors"] == []
    assert await ReferralReward.all().count() == 1
    names = [edge["node"]["coupon"]["name"]
             for edge in (await gql.data(MY_COUPONS, {}, other_customer_token))["coupons"]["edges"]]
    assert names == ["荐客奖励"]
    names = [edge["node"]["coupon"]["name"]
             for edge in (await gql.data(MY_COUPONS, {}, customer_token))["coupons"]["edges"]]
    assert names == ["新客礼"]


STAFF_REWARDS = "{ staffReferralRewards { totalCount edges { node { referredCustomerId referrerCouponId } } } }"


async def test_staff_see_the_rewards_and_a_coupon_that_cannot_be_issued_gives_nothing_at_all(
    shop, gql, customer_token, other_customer_token, operator_token, make_coupon
):
    referrer, referred = await _refer("o-customer-b", "o-customer-a")
    mine = await make_coupon(name="荐客奖励")
    gone = await make_coupon(name="新客礼", total_quantity=1)
    await CustomerCoupon.create(coupon_id=gone.id, customer_id=referrer.id, code="TAKEN1", valid_from=gone.starts_at,
                                valid_until=gone.ends_at)
    from domain.pricing.models import Coupon

    await Coupon.filter(id=gone.id).update(claimed=1)  # the new customer's coupon is sold out
    await settings.update({"referral_referrer_coupon_id": mine.id, "referral_new_customer_coupon_id": gone.id})
    sku = await shop.sku()
    order = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    await _confirm(shop, gql, order, customer_token)
    assert await ReferralReward.all().count() == 0
    assert await CustomerCoupon.filter(coupon_id=mine.id).count() == 0  # the referrer's copy was not left behind
    listed = (await gql.data(STAFF_REWARDS, token=operator_token))["staffReferralRewards"]
    assert listed["totalCount"] == 0


async def test_two_customers_who_referred_each_other_completing_at_once_are_both_rewarded(
    shop, gql, customer_token, other_customer_token, operator_token, make_coupon
):
    a = await Customer.get(openid="o-customer-a")
    b = await Customer.get(openid="o-customer-b")
    now = datetime.now(UTC)
    link_a = await ShareLink.create(code="refer-a", customer_id=a.id, target_kind="Shop", target_id=0, created_at=now)
    link_b = await ShareLink.create(code="refer-b", customer_id=b.id, target_kind="Shop", target_id=0, created_at=now)
    await ShareOpen.create(link=link_b, customer_id=a.id, opened_at=now)
    await ShareOpen.create(link=link_a, customer_id=b.id, opened_at=now)
    mine = await make_coupon(name="荐客奖励", per_customer_limit=5)
    await settings.update({"referral_referrer_coupon_id": mine.id})
    sku = await shop.sku(stock=10)
    order_a = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    order_b = await shop.shipped_order(other_customer_token, operator_token, (sku, 1))
    await asyncio.gather(_confirm(shop, gql, order_a, customer_token), _confirm(shop, gql, order_b,
                                                                               other_customer_token))
    assert sorted(await ReferralReward.all().values_list("referred_customer_id", flat=True)) == sorted([a.id, b.id])
    listed = (await gql.data(STAFF_REWARDS, token=operator_token))["staffReferralRewards"]
    assert listed["totalCount"] == 2
