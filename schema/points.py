"""Points (积分) and daily sign-in (签到): `me.points`, `me.pointsLedger`, `me.signedInToday`, `signIn`,
`pointsRedeem`, and the owner's `pointsSettings` / `pointsSettingsUpdate`."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from domain.balances.models import BalanceEntry
from domain.points import rules as points_rules
from domain.points.models import SignIn as SignInModel
from resolvers import points as resolve
from resolvers.permissions import IsCustomer, IsOwner, IsStaff
from schema.core import Connection, UserError, payload, user_errors
from schema.coupons import CustomerCoupon


@strawberry.type(description="One movement of my points: positive earned, negative spent or taken back")
class PointsEntry:
    amount: int
    note: str = strawberry.field(description="What it was for: an order completed or refunded, a sign-in, a coupon")
    created_at: datetime


def points_entry(row: BalanceEntry) -> PointsEntry:
    return PointsEntry(amount=int(row.amount), note=row.note, created_at=row.created_at)


@strawberry.type
class PointsEntryConnection(Connection[PointsEntry]):
    pass


@strawberry.type(description="A day's sign-in (签到)")
class SignIn:
    day: date = strawberry.field(description="The store's calendar day (Asia/Shanghai)")
    streak: int = strawberry.field(description="Consecutive days signed in, this one included")
    points: int = strawberry.field(description="Points it earned (a streak bonus included)")


def sign_in_view(row: SignInModel | None) -> SignIn | None:
    return None if row is None else SignIn(day=row.day, streak=row.streak, points=row.points)


@strawberry.type
class SignInPayload:
    sign_in: SignIn | None
    points: int | None = strawberry.field(description="My points after it")
    errors: list[UserError]


@strawberry.input
class PointsRedeemInput:
    coupon_id: strawberry.ID


@strawberry.type
class PointsRedeemPayload:
    customer_coupon: CustomerCoupon | None
    errors: list[UserError]


@strawberry.type(description="A coupon points can buy")
class RedeemableCoupon:
    coupon_id: strawberry.ID
    points: int


@strawberry.type(description="The points rules")
class PointsSettings:
    points_per_yuan: int = strawberry.field(description="Points a completed order earns per yuan paid (rounded "
                                            "down); a refund takes its share back")
    sign_in_points: int
    streak_days: int = strawberry.field(description="Every streakDays-th consecutive sign-in earns streakBonus more")
    streak_bonus: int
    redeemable: list[RedeemableCoupon]


def settings_view(rules: points_rules.Rules | None) -> PointsSettings | None:
    if rules is None:
        return None
    return PointsSettings(
        points_per_yuan=rules.points_per_yuan, sign_in_points=rules.sign_in_points, streak_days=rules.streak_days,
        streak_bonus=rules.streak_bonus,
        redeemable=[RedeemableCoupon(coupon_id=strawberry.ID(str(strawberry.relay.GlobalID("Coupon",
                                                                                          str(item.coupon_id)))),
                                     points=item.points) for item in rules.redeemable])


@strawberry.input
class RedeemableCouponInput:
    coupon_id: strawberry.ID
    points: int


@strawberry.input
class PointsSettingsUpdateInput:
    points_per_yuan: int | None = strawberry.UNSET
    sign_in_points: int | None = strawberry.UNSET
    streak_days: int | None = strawberry.UNSET
    streak_bonus: int | None = strawberry.UNSET
    redeemable: list[RedeemableCouponInput] | None = strawberry.UNSET


@strawberry.type
class PointsSettingsPayload:
    settings: PointsSettings | None
    errors: list[UserError]


@strawberry.type
class PointsQuery:
    @strawberry.field(permission_classes=[IsStaff], description="The points rules in force")
    async def points_settings(self, info: Info) -> PointsSettings:
        found = settings_view(await resolve.points_settings())
        assert found is not None
        return found

    @strawberry.field(description="Coupons points can buy, with their price")
    async def redeemable_coupons(self, info: Info) -> list[RedeemableCoupon]:
        found = settings_view(await resolve.points_settings())
        return [] if found is None else found.redeemable


@strawberry.type
class PointsMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="Once a day (the store's calendar); again the "
                         "same day is DUPLICATE")
    async def sign_in(self, info: Info) -> SignInPayload:
        outcome = await resolve.sign_in_today(info.context)
        points = None if outcome.errors else await resolve.points(info.context, info.context.customer_id or 0)
        return SignInPayload(sign_in=None if outcome.errors else sign_in_view(outcome.value), points=points,
                             errors=user_errors(outcome.errors))

    @strawberry.mutation(permission_classes=[IsCustomer], description="Buys a coupon with points: NOT_FOUND when "
                         "points do not buy it, INSUFFICIENT_BALANCE when mine are short, or the coupon's own "
                         "NOT_STARTED, ENDED, SOLD_OUT, LIMIT_EXCEEDED; nothing is spent then")
    async def points_redeem(self, info: Info, input: PointsRedeemInput) -> PointsRedeemPayload:
        return payload(PointsRedeemPayload, "customer_coupon", await resolve.points_redeem(info.context, input))

    @strawberry.mutation(permission_classes=[IsOwner], description="Changes the given rules; every problem is "
                         "INVALID with its field, and then nothing changes")
    async def points_settings_update(self, info: Info, input: PointsSettingsUpdateInput) -> PointsSettingsPayload:
        outcome = await resolve.points_settings_update(input)
        return PointsSettingsPayload(settings=None if outcome.errors else settings_view(outcome.value),
                                     errors=user_errors(outcome.errors))
