"""The points rules: what a yuan paid earns, what a sign-in earns, and which coupons points buy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from tortoise.transactions import in_transaction

from domain.columns import column
from domain.errors import DomainErrors, Invalid
from domain.points.models import PointsSettings
from domain.pricing.models import Coupon

MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class Redeemable:
    coupon_id: int
    points: int


@dataclass(frozen=True)
class Rules:
    points_per_yuan: int = 1
    """Points a completed order earns per yuan (100 fen) the customer paid, rounded down."""
    sign_in_points: int = 5
    streak_days: int = 7
    """Every `streak_days`-th consecutive day of sign-in earns `streak_bonus` more."""
    streak_bonus: int = 20
    redeemable: tuple[Redeemable, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        return cls(**{**data, "redeemable": tuple(Redeemable(**item) for item in data["redeemable"])})

    def price_of(self, coupon_id: int) -> int | None:
        return next((item.points for item in self.redeemable if item.coupon_id == coupon_id), None)


async def current() -> Rules:
    row = await PointsSettings.first()
    return Rules() if row is None else Rules.from_json(row.rules)


async def update(changes: dict[str, Any]) -> Rules:
    """Apply `changes` (names of Rules) and save; every problem at once (INVALID with its field), then nothing."""
    unknown = sorted(set(changes) - set(Rules.__dataclass_fields__))
    if unknown:
        raise Invalid(f"unknown settings {unknown}", [unknown[0]])
    async with in_transaction():
        row = await PointsSettings.select_for_update().first()
        rules = replace(Rules() if row is None else Rules.from_json(row.rules), **changes)
        await _validate(rules)
        if row is None:
            await PointsSettings.create(rules=rules.to_json())
        else:
            row.rules = rules.to_json()
            await row.save(update_fields=["rules", "updated_at"])
    return rules


async def _validate(rules: Rules) -> None:
    problems: list[Invalid] = []

    def check(ok: bool, message: str, *path: str) -> None:
        if not ok:
            problems.append(Invalid(message, list(path)))

    check(0 <= rules.points_per_yuan <= 100, "points per yuan are 0 to 100", "pointsPerYuan")
    check(0 <= rules.sign_in_points <= 1000, "sign-in points are 0 to 1000", "signInPoints")
    check(1 <= rules.streak_days <= 365, "a streak is 1 to 365 days", "streakDays")
    check(0 <= rules.streak_bonus <= 10_000, "a streak bonus is 0 to 10000 points", "streakBonus")
    seen: set[int] = set()
    for i, item in enumerate(rules.redeemable):
        check(1 <= item.points <= MAX_POINTS, f"a coupon costs 1 to {MAX_POINTS} points", "redeemable", str(i),
              "points")
        check(item.coupon_id not in seen, "one price per coupon", "redeemable", str(i), "couponId")
        seen.add(item.coupon_id)
    if seen:
        found = set(await column(Coupon.filter(id__in=seen), "id", int))
        for i, item in enumerate(rules.redeemable):
            check(item.coupon_id in found, "no such coupon", "redeemable", str(i), "couponId")
    if problems:
        raise DomainErrors(problems)
