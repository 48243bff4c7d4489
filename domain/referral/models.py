"""Referral rewards (荐客有礼): what a referred customer's first completed order gave, once per referred customer."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ReferralReward(Model):
    id = fields.IntField(primary_key=True)
    referred_customer_id = fields.IntField(unique=True, description="rewarded once per referred customer")
    referrer_customer_id = fields.IntField(db_index=True)
    order_id = fields.IntField(description="the referred customer's first completed order")
    referrer_coupon_id = fields.IntField(null=True, description="the coupon the referrer received")
    referred_coupon_id = fields.IntField(null=True, description="the coupon the new customer received")
    created_at = fields.DatetimeField()

    class Meta:
        table = "referral_reward"
