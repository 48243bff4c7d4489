"""Recharge packages: staff set them up, customers see the live ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.pagination import Page, paginate
from domain.wallet.models import RechargePackage

MAX_FEN = 100_000_000
"""¥1,000,000: more than any recharge."""


@dataclass(frozen=True)
class PackageDraft:
    name: str
    price: int
    bonus: int
    starts_at: datetime
    ends_at: datetime | None = None
    per_customer_limit: int | None = None


def _validate(draft: PackageDraft) -> None:
    problems: list[Invalid] = []

    def check(ok: bool, message: str, field: str) -> None:
        if not ok:
            problems.append(Invalid(message, [field]))

    check(1 <= len(draft.name.strip()) <= 40, "a name is 1 to 40 characters", "name")
    check(1 <= draft.price <= MAX_FEN, "the price is 1 fen to ¥1,000,000", "price")
    check(0 <= draft.bonus <= draft.price, "the bonus is 0 to the price", "bonus")
    check(draft.ends_at is None or draft.ends_at > draft.starts_at, "it ends after it starts", "endsAt")
    check(draft.per_customer_limit is None or 1 <= draft.per_customer_limit <= 1000,
          "the per-customer limit is 1 to 1000", "perCustomerLimit")
    if problems:
        raise DomainErrors(problems)


async def create(draft: PackageDraft) -> RechargePackage:
    _validate(draft)
    return await RechargePackage.create(name=draft.name.strip(), price=draft.price, bonus=draft.bonus,
                                        starts_at=draft.starts_at, ends_at=draft.ends_at,
                                        per_customer_limit=draft.per_customer_limit)


async def get(package_id: int) -> RechargePackage:
    found = await RechargePackage.get_or_none(id=package_id)
    if found is None:
        raise NotFound("recharge package", ["packageId"])
    return found


async def update(package_id: int, draft: PackageDraft) -> RechargePackage:
    """A package's terms change for recharges paid from now on; one already bought keeps what it was sold with."""
    package = await get(package_id)
    if package.ended_at is not None:
        raise DomainError(ErrorCode.INVALID_STATE, "an ended package cannot change", ["packageId"])
    _validate(draft)
    package.update_from_dict({"name": draft.name.strip(), "price": draft.price, "bonus": draft.bonus,
                              "starts_at": draft.starts_at, "ends_at": draft.ends_at,
                              "per_customer_limit": draft.per_customer_limit})
    await package.save()
    return package


async def end(package_id: int, at: datetime) -> RechargePackage:
    package = await get(package_id)
    if package.ended_at is None:
        await RechargePackage.filter(id=package.id, ended_at__isnull=True).update(ended_at=at)
        await package.refresh_from_db()
    return package


def _live(at: datetime) -> Q:
    return Q(ended_at__isnull=True, starts_at__lte=at) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))


async def live(at: datetime) -> list[RechargePackage]:
    """The packages a customer may buy now, cheapest first."""
    return await RechargePackage.filter(_live(at)).order_by("price", "id")


async def buyable(package_id: int, at: datetime) -> RechargePackage:
    package = await get(package_id)
    if package.starts_at > at:
        raise DomainError(ErrorCode.NOT_STARTED, "this package is not on sale yet", ["packageId"])
    if package.ended_at is not None or (package.ends_at is not None and package.ends_at <= at):
        raise DomainError(ErrorCode.ENDED, "this package is no longer on sale", ["packageId"])
    return package


async def staff_packages(first: int | None, after: str | None) -> Page[RechargePackage]:
    return await paginate(RechargePackage.all(), ("id",), first, after, descending=True)
