"""Applying to be a distributor and staff deciding: every status change goes through TRANSITIONS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.distribution import links, targets
from domain.distribution.models import Distributor, DistributorStatus, ShareLink
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.pagination import Page, paginate

S = DistributorStatus
TRANSITIONS: dict[DistributorStatus, frozenset[DistributorStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED}),
    S.REJECTED: frozenset({S.PENDING}),  # applying again after a rejection
    S.APPROVED: frozenset(),
}
PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
MAX_REASON = 500


@dataclass(frozen=True)
class Application:
    real_name: str
    phone: str
    reason: str


def _validate(application: Application) -> None:
    problems = []
    name = application.real_name.strip()
    if not 0 < len(name) <= 32:
        problems.append(Invalid("the real name is 1 to 32 characters", ["realName"]))
    if PHONE_RE.fullmatch(application.phone) is None:
        problems.append(Invalid("the phone is an 11-digit mainland mobile number", ["phone"]))
    if len(application.reason) > MAX_REASON:
        problems.append(Invalid(f"the reason is at most {MAX_REASON} characters", ["reason"]))
    if problems:
        raise DomainErrors(problems)


async def move(distributor: Distributor, target: DistributorStatus, **changes: object) -> None:
    """Change the status if the table allows it and nobody changed it meanwhile; else INVALID_STATE."""
    current = distributor.status
    if target not in TRANSITIONS[current]:
        raise _invalid_state(distributor, target)
    updated = await Distributor.filter(id=distributor.id, status=current).update(status=target, **changes)
    if not updated:
        await distributor.refresh_from_db()
        raise _invalid_state(distributor, target)
    distributor.status = target
    for name, value in changes.items():
        setattr(distributor, name, value)


def _invalid_state(distributor: Distributor, target: DistributorStatus) -> DomainError:
    return DomainError(ErrorCode.INVALID_STATE,
                       f"the application is {distributor.status.value} and cannot become {target.value}", ["id"])


async def apply(customer_id: int, application: Application, at: datetime) -> Distributor:
    """One application per customer: a new one, or the rejected one again. Pending or approved: DUPLICATE."""
    _validate(application)
    real_name, phone, reason = application.real_name.strip(), application.phone, application.reason.strip()
    existing = await Distributor.get_or_none(customer_id=customer_id)
    if existing is None:
        try:
            async with in_transaction():
                return await Distributor.create(customer_id=customer_id, applied_at=at, real_name=real_name,
                                                phone=phone, reason=reason)
        except IntegrityError:
            existing = await Distributor.get(customer_id=customer_id)
    if existing.status != S.REJECTED:
        raise DomainError(ErrorCode.DUPLICATE, f"you have already applied ({existing.status.value})")
    await move(existing, S.PENDING, applied_at=at, decided_at=None, reject_reason="", real_name=real_name,
               phone=phone, reason=reason)
    return existing


async def _get(distributor_id: int) -> Distributor:
    distributor = await Distributor.get_or_none(id=distributor_id)
    if distributor is None:
        raise NotFound("distributor", ["id"])
    return distributor


async def approve(distributor_id: int, at: datetime) -> Distributor:
    distributor = await _get(distributor_id)
    await move(distributor, S.APPROVED, decided_at=at)
    await links.create(distributor.customer_id, targets.SHOP, 0, at)  # the shop-wide link: me.distributor.shareCode
    return distributor


async def reject(distributor_id: int, reason: str, at: datetime) -> Distributor:
    reason = reason.strip()
    if not 0 < len(reason) <= MAX_REASON:
        raise Invalid(f"the reason is 1 to {MAX_REASON} characters", ["reason"])
    distributor = await _get(distributor_id)
    await move(distributor, S.REJECTED, decided_at=at, reject_reason=reason)
    return distributor


async def set_enabled(distributor_id: int, enabled: bool) -> Distributor:
    """Disabling stops an approved distributor binding new customers (and, later, earning); enabling restores it."""
    distributor = await _get(distributor_id)
    if distributor.status != S.APPROVED:
        raise _invalid_state(distributor, S.APPROVED)
    distributor.enabled = enabled
    await distributor.save(update_fields=["enabled"])
    return distributor


async def distributors(status: DistributorStatus | None, first: int | None, after: str | None) -> Page[Distributor]:
    """Newest application first."""
    query = Distributor.all() if status is None else Distributor.filter(status=status)
    return await paginate(query, ["id"], first, after, descending=True)


async def of_customer(customer_id: int) -> Distributor | None:
    return await Distributor.get_or_none(customer_id=customer_id)


def can_bind(distributor: Distributor) -> bool:
    """Only an approved, enabled distributor's shares bind customers."""
    return distributor.status == S.APPROVED and distributor.enabled


async def shop_link_code(distributor: Distributor) -> str | None:
    """The distributor's share of the whole shop (minted on approval)."""
    link = await ShareLink.get_or_none(customer_id=distributor.customer_id, target_kind=targets.SHOP, target_id=0)
    return None if link is None else link.code


def can_earn(distributor: Distributor) -> bool:
    """A distributor earns on the terms it binds on: approved and enabled (a disabled one earns nothing new)."""
    return can_bind(distributor)
