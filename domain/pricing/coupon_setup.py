"""Coupon templates as staff set them up: what a coupon takes off, what it covers, how many and for how long.

Once anyone has claimed a copy, what a copy means is fixed: the kind, value, cap, minimum spend, scope, validity and
claim start can no longer change (INVALID_STATE). The name, description, quantities and the end of the claim window
still can, but never the total below what was already claimed. Ending a coupon (`ended_at`) stops claims: copies
already claimed stay usable until their own validity ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.catalog.models import Category, Product
from domain.columns import column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.pagination import Page
from domain.pricing.models import Coupon, CouponKind, CouponScope
from domain.pricing.windows import changeable, name_errors, newest_first, running, utc, window

MAX_DESCRIPTION = 200
MAX_AMOUNT = 100_000_000
"""One million yuan in fen: far above any real coupon, well inside a 32-bit column."""
MAX_QUANTITY = 10_000_000
MAX_PER_CUSTOMER = 100
MAX_SCOPE = 200
MAX_VALID_DAYS = 3650
FIXED_ONCE_CLAIMED = ("kind", "value", "max_discount", "min_spend", "scope_ids", "starts_at", "valid_from",
                      "valid_until", "valid_days")
"""What a claimed copy means (`scope_ids` stands for the scope as a whole)."""
FIELD_NAMES = {"max_discount": "maxDiscount", "min_spend": "minSpend", "starts_at": "startsAt", "ends_at": "endsAt",
               "valid_from": "validFrom", "valid_until": "validUntil", "valid_days": "validDays",
               "total_quantity": "totalQuantity", "per_customer_limit": "perCustomerLimit"}


class CouponStatus(StrEnum):
    """Where the claim window stands."""

    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True)
class CouponDraft:
    name: str
    kind: CouponKind
    value: int
    total_quantity: int
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    max_discount: int | None = None
    min_spend: int = 0
    scope: CouponScope = CouponScope.ALL
    scope_ids: list[int] = field(default_factory=list)
    per_customer_limit: int = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None


def status(coupon: Coupon, at: datetime) -> CouponStatus:
    return CouponStatus(window(coupon, at))


def scope_field(scope: CouponScope) -> str:
    return "categoryIds" if scope is CouponScope.CATEGORIES else "productIds"


def scope_of(product_ids: list[int], category_ids: list[int]) -> tuple[CouponScope, list[int]]:
    """A coupon covers the products listed, or the categories listed, or (neither listed) everything."""
    if product_ids and category_ids:
        raise Invalid("give productIds or categoryIds, not both", ["categoryIds"])
    if product_ids:
        return CouponScope.PRODUCTS, product_ids
    if category_ids:
        return CouponScope.CATEGORIES, category_ids
    return CouponScope.ALL, []


def _normalised(draft: CouponDraft) -> CouponDraft:
    def maybe(moment: datetime | None) -> datetime | None:
        return None if moment is None else utc(moment)

    return replace(draft, name=draft.name.strip(), description=draft.description.strip(),
                   starts_at=utc(draft.starts_at), ends_at=utc(draft.ends_at), valid_from=maybe(draft.valid_from),
                   valid_until=maybe(draft.valid_until))


def _check_amounts(draft: CouponDraft) -> list[DomainError]:
    errors: list[DomainError] = []
    if draft.kind is CouponKind.PERCENT and not 1 <= draft.value <= 99:
        errors.append(Invalid("a percentage off is 1 to 99", ["value"]))
    if draft.kind is CouponKind.FIXED_AMOUNT and not 1 <= draft.value <= MAX_AMOUNT:
        errors.append(Invalid(f"an amount off is 1 to {MAX_AMOUNT} fen", ["value"]))
    if draft.max_discount is not None:
        if draft.kind is not CouponKind.PERCENT:
            errors.append(Invalid("only a percentage coupon has a cap", ["maxDiscount"]))
        elif not 1 <= draft.max_discount <= MAX_AMOUNT:
            errors.append(Invalid(f"the cap is 1 to {MAX_AMOUNT} fen", ["maxDiscount"]))
    if not 0 <= draft.min_spend <= MAX_AMOUNT:
        errors.append(Invalid(f"the minimum spend is 0 to {MAX_AMOUNT} fen", ["minSpend"]))
    if not 1 <= draft.total_quantity <= MAX_QUANTITY:
        errors.append(Invalid(f"totalQuantity is 1 to {MAX_QUANTITY}", ["totalQuantity"]))
    if not 1 <= draft.per_customer_limit <= MAX_PER_CUSTOMER:
        errors.append(Invalid(f"perCustomerLimit is 1 to {MAX_PER_CUSTOMER}", ["perCustomerLimit"]))
    return errors


def _check_times(draft: CouponDraft) -> list[DomainError]:
    errors: list[DomainError] = []
    if draft.ends_at <= draft.starts_at:
        errors.append(Invalid("endsAt must be after startsAt", ["endsAt"]))
    if (draft.valid_days is None) == (draft.valid_until is None):
        errors.append(Invalid("give either validUntil (a fixed validity) or validDays (days from the claim)",
                              ["validUntil"]))
    elif draft.valid_days is not None:
        if not 1 <= draft.valid_days <= MAX_VALID_DAYS:
            errors.append(Invalid(f"validDays is 1 to {MAX_VALID_DAYS}", ["validDays"]))
        if draft.valid_from is not None:
            errors.append(Invalid("validFrom goes with validUntil, not validDays", ["validFrom"]))
    elif draft.valid_until is not None:
        if draft.valid_from is not None and draft.valid_until <= draft.valid_from:
            errors.append(Invalid("validUntil must be after validFrom", ["validUntil"]))
        if draft.valid_until < draft.ends_at:
            errors.append(Invalid("validUntil may not come before endsAt: a late claim would get an expired coupon",
                                  ["validUntil"]))
    return errors


def _check(draft: CouponDraft) -> list[DomainError]:
    errors = name_errors(draft.name)
    if len(draft.description) > MAX_DESCRIPTION:
        errors.append(Invalid(f"description must be at most {MAX_DESCRIPTION} characters", ["description"]))
    errors += _check_amounts(draft)
    if draft.scope is not CouponScope.ALL:
        where = scope_field(draft.scope)
        if not draft.scope_ids:
            errors.append(Invalid("a scoped coupon names at least one", [where]))
        if len(draft.scope_ids) > MAX_SCOPE:
            errors.append(DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_SCOPE} in the scope", [where]))
        for index, scope_id in enumerate(draft.scope_ids):
            if scope_id in draft.scope_ids[:index]:
                errors.append(DomainError(ErrorCode.DUPLICATE, "listed twice", [where, str(index)]))
    return errors + _check_times(draft)


async def _check_scope(draft: CouponDraft) -> None:
    if draft.scope is CouponScope.ALL:
        return
    if draft.scope is CouponScope.PRODUCTS:
        found = set(await column(Product.filter(id__in=draft.scope_ids, deleted_at__isnull=True), "id", int))
        what = "product"
    else:
        found = set(await column(Category.filter(id__in=draft.scope_ids), "id", int))
        what = "category"
    where = scope_field(draft.scope)
    missing = [NotFound(what, [where, str(i)]) for i, sid in enumerate(draft.scope_ids) if sid not in found]
    if missing:
        raise DomainErrors(missing)


def _fixed_value(draft: CouponDraft, name: str) -> Any:
    return (draft.scope, draft.scope_ids) if name == "scope_ids" else getattr(draft, name)


def _values(draft: CouponDraft) -> dict[str, Any]:
    return {f.name: getattr(draft, f.name) for f in fields(draft)}


async def create_coupon(draft: CouponDraft, now: datetime) -> Coupon:
    draft = _normalised(draft)
    if draft.scope is CouponScope.ALL:
        draft = replace(draft, scope_ids=[])
    errors = _check(draft)
    if draft.ends_at <= now:
        errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
    if errors:
        raise DomainErrors(errors)
    await _check_scope(draft)
    return await Coupon.create(**_values(draft))


def draft_of(coupon: Coupon) -> CouponDraft:
    return CouponDraft(**{f.name: getattr(coupon, f.name) for f in fields(CouponDraft)})


async def update_coupon(coupon_id: int, changes: dict[str, Any], now: datetime) -> Coupon:
    """`changes` maps CouponDraft field names to new values (None clears a nullable one)."""
    async with in_transaction():
        coupon = await changeable(Coupon, coupon_id, now, "coupon")
        before = draft_of(coupon)
        draft = _normalised(replace(before, **changes))
        if draft.scope is CouponScope.ALL:
            draft = replace(draft, scope_ids=[])
        errors = _check(draft)
        if coupon.claimed:
            errors += [
                DomainError(ErrorCode.INVALID_STATE, "fixed once copies are claimed",
                            [scope_field(draft.scope) if name == "scope_ids" else FIELD_NAMES.get(name, name)])
                for name in FIXED_ONCE_CLAIMED if _fixed_value(draft, name) != _fixed_value(before, name)
            ]
        if 1 <= draft.total_quantity < coupon.claimed:
            errors.append(Invalid(f"{coupon.claimed} already claimed: totalQuantity cannot be lower",
                                  ["totalQuantity"]))
        if "ends_at" in changes and draft.ends_at <= now:
            errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
        if errors:
            raise DomainErrors(errors)
        await _check_scope(draft)
        coupon.update_from_dict(_values(draft))
        await coupon.save()
    return coupon


async def end_coupon(coupon_id: int, now: datetime) -> Coupon:
    """No more claims from now on; copies already claimed keep their validity."""
    async with in_transaction():
        coupon = await changeable(Coupon, coupon_id, now, "coupon")
        coupon.ended_at = now
        await coupon.save(update_fields=["ended_at", "updated_at"])
    return coupon


def claim_window(at: datetime) -> Q:
    return running(at)


async def staff_coupons(status_filter: CouponStatus | None, now: datetime, first: int | None,
                        after: str | None) -> Page[Coupon]:
    """Newest first, optionally only those whose claims are SCHEDULED, ACTIVE or ENDED at `now`."""
    return await newest_first(Coupon, status_filter, now, first, after)
