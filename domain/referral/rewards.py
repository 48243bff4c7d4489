"""The referral reward (荐客有礼): a referred customer's first completed order gives the referrer (and, when
configured, the new customer) a coupon, once per referred customer, never for referring oneself."""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.distribution import settings
from domain.errors import DomainError
from domain.identity.models import Customer
from domain.orders.deps import utc_now
from domain.orders.events import OrderEvents
from domain.orders.models import Order
from domain.pagination import Page, paginate
from domain.pricing import coupons
from domain.referral.models import ReferralReward
from domain.referral.referrers import referrer_of

log = logging.getLogger(__name__)


class ReferralRewards(OrderEvents):
    async def completed(self, order: Order) -> None:
        customer_id = order.customer_id
        rules = (await settings.current()).rules
        if rules.referral_referrer_coupon_id is None:
            return
        referrer = await referrer_of(customer_id)
        if referrer is None:
            return
        # Both customers' rows, in id order (two customers who referred each other completing at once must not wait
        # for each other in a circle); the referred one's lock makes two first orders completing together reward once.
        for locked in sorted({customer_id, referrer}):
            await Customer.filter(id=locked).select_for_update(no_key=True).first()
        if await ReferralReward.exists(referred_customer_id=customer_id):
            return
        earlier = await Order.filter(customer_id=customer_id, completed_at__isnull=False).exclude(id=order.id).exists()
        if earlier:
            return
        now: datetime = utc_now()
        try:
            async with in_transaction():
                given = await coupons.claim(referrer, rules.referral_referrer_coupon_id, now)
                mine = None
                if rules.referral_new_customer_coupon_id is not None:
                    mine = await coupons.claim(customer_id, rules.referral_new_customer_coupon_id, now)
                await ReferralReward.create(referred_customer_id=customer_id, referrer_customer_id=referrer,
                                            order_id=order.id, referrer_coupon_id=given.id,
                                            referred_coupon_id=mine.id if mine else None, created_at=now)
        except DomainError as error:
            # a template that cannot be issued (ended, sold out, limit reached) gives and records nothing
            log.warning("referral reward for customer %s not given: %s", customer_id, error)


async def staff_rewards(first: int | None, after: str | None) -> Page[ReferralReward]:
    """Every reward given, newest first."""
    return await paginate(ReferralReward.all(), ("id",), first, after, descending=True)
