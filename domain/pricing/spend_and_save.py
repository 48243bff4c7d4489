"""Spend-and-save (满减): staff set tiers and a window, the engine asks which tiers are running.

Several spend-and-saves may run at once: an order gets the one best tier it reaches over all of them (the engine's
`best_tier`), never two. A spend-and-save ended by staff (`ended_at`) or past its window no longer applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid
from domain.pagination import Page
from domain.pricing import windows
from domain.pricing.engine import Tier
from domain.pricing.models import SpendAndSave
from domain.pricing.windows import Window, newest_first, set_up_errors, utc, window
from domain.remembered import changed, remembered

MAX_TIERS = 10
MAX_AMOUNT = 100_000_000
"""One million yuan in fen: far above any real tier, well inside a 32-bit column."""


class SpendAndSaveStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True)
class TierDraft:
    threshold: int
    amount: int


@dataclass(frozen=True)
class SpendAndSaveDraft:
    name: str
    starts_at: datetime
    ends_at: datetime
    tiers: list[TierDraft]


@dataclass(frozen=True)
class SpendAndSaveChanges:
    """None: leave as is. `tiers` replaces them all."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    tiers: list[TierDraft] | None = None


def status(promotion: SpendAndSave, at: datetime) -> SpendAndSaveStatus:
    return SpendAndSaveStatus(window(promotion, at))


def tiers_of(promotion: SpendAndSave) -> list[TierDraft]:
    return [TierDraft(int(t["threshold"]), int(t["amount"])) for t in promotion.tiers]


def _check(draft: SpendAndSaveDraft) -> list[DomainError]:
    errors = set_up_errors(draft.name.strip(), draft.starts_at, draft.ends_at)
    if not draft.tiers:
        errors.append(Invalid("a spend-and-save needs at least one tier", ["tiers"]))
    if len(draft.tiers) > MAX_TIERS:
        errors.append(DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_TIERS} tiers", ["tiers"]))
    seen: set[int] = set()
    for index, tier in enumerate(draft.tiers):
        where = ["tiers", str(index)]
        if not 1 <= tier.threshold <= MAX_AMOUNT:
            errors.append(Invalid(f"a threshold is 1 to {MAX_AMOUNT} fen", [*where, "threshold"]))
        elif tier.threshold in seen:
            errors.append(DomainError(ErrorCode.DUPLICATE, "one tier per threshold", [*where, "threshold"]))
        seen.add(tier.threshold)
        if not 1 <= tier.amount <= tier.threshold:
            errors.append(Invalid("a tier saves at least 1 fen and at most its threshold", [*where, "amount"]))
    return errors


def _stored_tiers(tiers: Sequence[TierDraft]) -> list[dict[str, int]]:
    return [{"threshold": t.threshold, "amount": t.amount} for t in sorted(tiers, key=lambda t: t.threshold)]


async def create_spend_and_save(draft: SpendAndSaveDraft, now: datetime) -> SpendAndSave:
    draft = SpendAndSaveDraft(draft.name.strip(), utc(draft.starts_at), utc(draft.ends_at), draft.tiers)
    errors = _check(draft)
    if draft.ends_at <= now:
        errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
    if errors:
        raise DomainErrors(errors)
    promotion = await SpendAndSave.create(
        name=draft.name, starts_at=draft.starts_at, ends_at=draft.ends_at, tiers=_stored_tiers(draft.tiers)
    )
    changed()
    return promotion


async def _changeable(promotion_id: int, now: datetime) -> SpendAndSave:
    return await windows.changeable(SpendAndSave, promotion_id, now, "spend-and-save")


async def update_spend_and_save(promotion_id: int, changes: SpendAndSaveChanges, now: datetime) -> SpendAndSave:
    async with in_transaction():
        promotion = await _changeable(promotion_id, now)
        draft = SpendAndSaveDraft(
            name=(changes.name if changes.name is not None else promotion.name).strip(),
            starts_at=utc(changes.starts_at) if changes.starts_at is not None else promotion.starts_at,
            ends_at=utc(changes.ends_at) if changes.ends_at is not None else promotion.ends_at,
            tiers=changes.tiers if changes.tiers is not None else tiers_of(promotion),
        )
        errors = _check(draft)
        if changes.ends_at is not None and draft.ends_at <= now:
            errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
        if errors:
            raise DomainErrors(errors)
        promotion.name = draft.name
        promotion.starts_at = draft.starts_at
        promotion.ends_at = draft.ends_at
        promotion.tiers = _stored_tiers(draft.tiers)
        await promotion.save()
    changed()
    return promotion


async def end_spend_and_save(promotion_id: int, now: datetime) -> SpendAndSave:
    async with in_transaction():
        promotion = await _changeable(promotion_id, now)
        promotion.ended_at = now
        await promotion.save(update_fields=["ended_at", "updated_at"])
    changed()
    return promotion


async def running(at: datetime) -> list[SpendAndSave]:
    """The spend-and-saves that apply at that moment, oldest first: those not ended are remembered between staff
    changes (`domain.remembered`), and which of them run is decided here, at `at`."""
    not_ended = await remembered("spend-and-saves", _not_ended)
    return [p for p in not_ended if window(p, at) is Window.ACTIVE]


async def _not_ended() -> list[SpendAndSave]:
    return await SpendAndSave.filter(ended_at__isnull=True).order_by("id")


async def running_tiers(at: datetime) -> list[Tier]:
    """Every tier of every spend-and-save running at that moment, for the engine."""
    return [Tier(p.id, t.threshold, t.amount) for p in await running(at) for t in tiers_of(p)]


async def staff_spend_and_saves(status_filter: SpendAndSaveStatus | None, now: datetime, first: int | None,
                                after: str | None) -> Page[SpendAndSave]:
    """Newest first, optionally only those SCHEDULED, ACTIVE or ENDED at `now`."""
    return await newest_first(SpendAndSave, status_filter, now, first, after)


async def spend_and_saves_by_id(ids: Sequence[int]) -> dict[int, SpendAndSave]:
    return {p.id: p for p in await SpendAndSave.filter(id__in=list(ids))}
