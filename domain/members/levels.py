"""Staff set up member levels: a name, the amount paid that reaches the level, and its member discount.

Thresholds are unique (the database holds that, so two staff adding the same threshold at once get one level and
one DUPLICATE). A level may take no discount (0 basis points: a named rung only). Every bad field is reported at
once, and a refused change changes nothing. Levels apply from the next price computed; orders already placed keep
their prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.members.models import MemberLevel
from domain.members.standing import FULL_PRICE_BP
from domain.raw_sql import one_at_a_time
from domain.remembered import changed

MAX_LEVELS = 20
MAX_NAME = 20
MAX_THRESHOLD = 1_000_000_000
"""¥10,000,000 paid in all: above any real level, inside a 32-bit column."""
LEVELS_LOCK = 0x6C76_6C73  # "lvls": held while a level is added, so two adds cannot both pass the count


@dataclass(frozen=True)
class LevelDraft:
    name: str
    threshold: int
    discount_bp: int


@dataclass(frozen=True)
class LevelChanges:
    """None: leave as is."""

    name: str | None = None
    threshold: int | None = None
    discount_bp: int | None = None


def _problems(draft: LevelDraft) -> list[DomainError]:
    problems: list[DomainError] = []
    if not 1 <= len(draft.name) <= MAX_NAME:
        problems.append(Invalid(f"a name is 1 to {MAX_NAME} characters", ["name"]))
    if not 0 <= draft.threshold <= MAX_THRESHOLD:
        problems.append(Invalid(f"a threshold is 0 to {MAX_THRESHOLD} fen", ["threshold"]))
    if not 0 <= draft.discount_bp < FULL_PRICE_BP:
        problems.append(Invalid("a discount is 0 to 9999 basis points off (500 = 5% off)", ["discountBasisPoints"]))
    return problems


async def _threshold_free(threshold: int, exclude_id: int | None) -> None:
    taken = MemberLevel.filter(threshold=threshold)
    if exclude_id is not None:
        taken = taken.exclude(id=exclude_id)
    if await taken.exists():
        raise _duplicate()


def _duplicate() -> DomainError:
    return DomainError(ErrorCode.DUPLICATE, "another level has this threshold", ["threshold"])


async def create(draft: LevelDraft) -> MemberLevel:
    draft = LevelDraft(draft.name.strip(), draft.threshold, draft.discount_bp)
    problems = _problems(draft)
    if problems:
        raise DomainErrors(problems)
    try:
        async with in_transaction():
            await one_at_a_time(LEVELS_LOCK)  # creates counted one after another: the cap holds under concurrency
            if await MemberLevel.all().count() >= MAX_LEVELS:
                raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_LEVELS} levels: delete one first")
            await _threshold_free(draft.threshold, None)
            level = await MemberLevel.create(name=draft.name, threshold=draft.threshold,
                                             discount_bp=draft.discount_bp)
    except IntegrityError:
        raise _duplicate() from None
    changed()
    return level


async def _get(level_id: int) -> MemberLevel:
    found = await MemberLevel.get_or_none(id=level_id)
    if found is None:
        raise NotFound("member level", ["id"])
    return found


async def update(level_id: int, changes: LevelChanges) -> MemberLevel:
    try:
        async with in_transaction():
            level = await _get(level_id)
            draft = LevelDraft(
                name=(changes.name if changes.name is not None else level.name).strip(),
                threshold=changes.threshold if changes.threshold is not None else level.threshold,
                discount_bp=changes.discount_bp if changes.discount_bp is not None else level.discount_bp,
            )
            problems = _problems(draft)
            if problems:
                raise DomainErrors(problems)
            await _threshold_free(draft.threshold, level.id)
            level.update_from_dict({"name": draft.name, "threshold": draft.threshold,
                                    "discount_bp": draft.discount_bp})
            await level.save()
    except IntegrityError:
        raise _duplicate() from None
    changed()
    return level


async def delete(level_id: int) -> int:
    """Customers who held it fall to the level below (if any); orders keep the prices they were placed at."""
    level = await _get(level_id)
    await MemberLevel.filter(id=level.id).delete()
    changed()
    return level_id


async def levels_by_id(ids: list[int]) -> dict[int, MemberLevel]:
    return {level.id: level for level in await MemberLevel.filter(id__in=ids)}
