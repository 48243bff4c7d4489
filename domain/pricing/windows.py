"""Promotions that run in a window of time: `starts_at` (inclusive) to `ends_at` (exclusive), or until staff end
them early (`ended_at`). Discounts, flash sales, coupons (their claim window) and spend-and-save share these rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from domain.catalog.models import Sku
from domain.columns import cell, column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.pagination import Page, paginate

M = TypeVar("M", bound=Model)


class Window(StrEnum):
    """Where a promotion's window stands at a moment (each area's status enum has these values)."""

    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


MAX_NAME = 64
"""The longest name of a promotion (discount, flash sale, coupon, spend-and-save)."""


def name_errors(name: str) -> list[DomainError]:
    return [] if 1 <= len(name) <= MAX_NAME else [Invalid(f"name must be 1 to {MAX_NAME} characters", ["name"])]


def set_up_errors(name: str, starts_at: datetime, ends_at: datetime) -> list[DomainError]:
    """What every promotion with a window checks first: its name, and a window that ends after it starts."""
    errors = name_errors(name)
    if ends_at <= starts_at:
        errors.append(Invalid("endsAt must be after startsAt", ["endsAt"]))
    return errors


def sku_item_errors(sku_ids: Sequence[int], what: str, max_items: int) -> list[DomainError]:
    """A promotion's SKU items: at least one, at most `max_items`, one item per SKU."""
    errors: list[DomainError] = []
    if not sku_ids:
        errors.append(Invalid(f"a {what} needs at least one item", ["items"]))
    if len(sku_ids) > max_items:
        errors.append(DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {max_items} items", ["items"]))
    seen: set[int] = set()
    for index, sku_id in enumerate(sku_ids):
        if sku_id in seen:
            errors.append(DomainError(ErrorCode.DUPLICATE, "one item per SKU", ["items", str(index), "skuId"]))
        seen.add(sku_id)
    return errors


def utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window(row: Any, at: datetime) -> Window:
    if row.ended_at is not None or row.ends_at <= at:
        return Window.ENDED
    return Window.SCHEDULED if at < row.starts_at else Window.ACTIVE


def running(at: datetime) -> Q:
    """The rows whose window is open at `at`."""
    return Q(ended_at__isnull=True, starts_at__lte=at, ends_at__gt=at)


def in_window(query: QuerySet[M], wanted: Window, now: datetime) -> QuerySet[M]:
    """Only the rows whose window stands at `wanted` at `now`."""
    if wanted is Window.SCHEDULED:
        return query.filter(ended_at__isnull=True, starts_at__gt=now)
    if wanted is Window.ACTIVE:
        return query.filter(running(now))
    return query.filter(Q(ended_at__isnull=False) | Q(ends_at__lte=now))


async def newest_first(model: type[M], wanted: StrEnum | None, now: datetime, first: int | None,
                       after: str | None) -> Page[M]:
    """Staff's list of one kind of promotion: newest first, optionally only those SCHEDULED, ACTIVE or ENDED at
    `now` (`wanted` is the area's status, whose values are Window's)."""
    query = model.all()
    if wanted is not None:
        query = in_window(query, Window(wanted), now)
    return await paginate(query, ("id",), first, after, descending=True)


async def next_change(model: type[Model], after: datetime) -> datetime | None:
    """The earliest start or end of a row not ended early, strictly after `after` (two indexed queries)."""
    live = model.filter(ended_at__isnull=True)
    starts = await cell(live.filter(starts_at__gt=after).order_by("starts_at").first(), "starts_at", datetime)
    ends = await cell(live.filter(ends_at__gt=after).order_by("ends_at").first(), "ends_at", datetime)
    moments = [utc(m) for m in (starts, ends) if m is not None]
    return min(moments) if moments else None


async def clashing_skus(item_model: type[Model], owner: str, sku_ids: list[int], starts_at: datetime,
                        ends_at: datetime, exclude_id: int | None) -> set[int]:
    """SKUs already in another promotion of the same kind (not ended early) whose window overlaps [starts_at,
    ends_at). `owner` names the items' relation to their promotion (e.g. "discount", "sale"). Call it with the SKU
    rows locked, so two concurrent set-ups cannot both claim one SKU."""
    clashes = item_model.filter(sku_id__in=sku_ids, **{f"{owner}__ended_at__isnull": True,
                                                       f"{owner}__starts_at__lt": ends_at,
                                                       f"{owner}__ends_at__gt": starts_at})
    if exclude_id is not None:
        clashes = clashes.exclude(**{f"{owner}_id": exclude_id})
    return set(await column(clashes, "sku_id", int))


async def check_offer_skus(item_model: type[Model], owner: str, what: str, items: Sequence[tuple[int, int]],
                           price_field: tuple[str, str], starts_at: datetime, ends_at: datetime,
                           exclude_id: int | None,
                           also: Callable[[Sku], DomainError | None] | None = None) -> dict[int, Sku]:
    """Inside the transaction that sets up an offer (a flash sale, a group-buy campaign) of `items` as (SKU id, offer
    price): lock the SKU rows in id order and check each item: its SKU exists, passes `also` (the mode's own rule),
    is in no other live `what` of an overlapping window, and costs more than its offer price (`price_field`: that
    price's input field and its name in a message). Every problem is reported at once (DomainErrors with each
    item's path)."""
    sku_ids = sorted({sku_id for sku_id, _ in items})
    found = {sku.id: sku for sku in await Sku.filter(id__in=sku_ids, deleted_at__isnull=True).order_by("id")
             .select_for_update()}
    taken = await clashing_skus(item_model, owner, sku_ids, starts_at, ends_at, exclude_id)
    errors: list[DomainError] = []
    for index, (sku_id, price) in enumerate(items):
        where = ["items", str(index)]
        sku = found.get(sku_id)
        refused = None if sku is None or also is None else also(sku)
        if sku is None:
            errors.append(NotFound("SKU", [*where, "skuId"]))
        elif refused is not None:
            errors.append(DomainError(refused.code, refused.message, [*where, "skuId"]))
        elif sku_id in taken:
            errors.append(DomainError(ErrorCode.DUPLICATE, f"this SKU is in another {what} at that time",
                                      [*where, "skuId"]))
        elif price >= sku.price:
            errors.append(Invalid(f"the {price_field[1]} must be below the list price ({sku.price} fen)",
                                  [*where, price_field[0]]))
    if errors:
        raise DomainErrors(errors)
    return found


async def locked(model: type[M], row_id: int, what: str) -> M:
    """The promotion's row, locked for the rest of the transaction; NOT_FOUND if there is none."""
    row = await model.filter(id=row_id).select_for_update().get_or_none()
    if row is None:
        raise NotFound(what)
    return row


async def changeable(model: type[M], row_id: int, now: datetime, what: str) -> M:
    """The promotion's row, locked, if staff may still change or end it: an ended one is INVALID_STATE."""
    row = await locked(model, row_id, what)
    if window(row, now) is Window.ENDED:
        raise DomainError(ErrorCode.INVALID_STATE, f"the {what} has ended", ["id"])
    return row
