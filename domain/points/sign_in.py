"""Daily sign-in (签到): once per customer per day of the store's calendar (its time zone, Asia/Shanghai by default),
`sign_in_points` each time and `streak_bonus` more on every `streak_days`-th consecutive day."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.errors import DomainError, ErrorCode
from domain.points import rules as points_rules
from domain.points.account import POINTS, owner
from domain.points.models import SignIn

STORE_TIME_ZONE = ZoneInfo("Asia/Shanghai")


async def sign_in(customer_id: int, at: datetime, zone: ZoneInfo = STORE_TIME_ZONE) -> SignIn:
    """Sign the customer in for today; DUPLICATE if they already did (today in the store's time zone)."""
    today = at.astimezone(zone).date()
    rules = await points_rules.current()
    yesterday = await SignIn.get_or_none(customer_id=customer_id, day=today - timedelta(days=1))
    streak = yesterday.streak + 1 if yesterday else 1
    points = rules.sign_in_points + (rules.streak_bonus if streak % rules.streak_days == 0 else 0)
    try:
        async with in_transaction():
            row = await SignIn.create(customer_id=customer_id, day=today, streak=streak, points=points,
                                      created_at=at)
            if points:
                await balances.move(owner(customer_id), POINTS, points, f"points:sign-in:{customer_id}:{today}",
                                    note=f"sign-in, day {streak}")
    except IntegrityError:
        raise DomainError(ErrorCode.DUPLICATE, f"already signed in on {today.isoformat()}") from None
    return row


async def today_of(customer_id: int, at: datetime, zone: ZoneInfo = STORE_TIME_ZONE) -> SignIn | None:
    """Today's sign-in, if any."""
    return await SignIn.get_or_none(customer_id=customer_id, day=at.astimezone(zone).date())
