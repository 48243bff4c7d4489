"""Relays set up by staff: the offer, its items and prices, its window, who may join and how they collect.

A relay is SCHEDULED before `starts_at`, OPEN until its deadline, ENDED from the deadline or once staff close it.
Its items (SKUs, relay prices, caps) are fixed from the first join: entries were priced and counted against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.catalog.models import Sku
from domain.catalog.rules import MAX_PRICE, check_images, check_text
from domain.columns import column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.orders.models import PickupPoint
from domain.pagination import Page, paginate
from domain.pricing.windows import sku_item_errors, utc
from domain.relay.models import Relay, RelayItem, RelaySequence

MAX_TITLE = 64
MAX_STORY = 2000
MAX_IMAGES = 9
MAX_ITEMS = 50
MAX_POINTS = 50
MAX_CAP = 1_000_000
MAX_UNITS = 999
"""The most units one entry may take (its lines together)."""


class RelayStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    OPEN = "OPEN"
    ENDED = "ENDED"


def status(relay: Relay, at: datetime) -> RelayStatus:
    if relay.closed_at is not None or relay.deadline <= at:
        return RelayStatus.ENDED
    return RelayStatus.SCHEDULED if at < relay.starts_at else RelayStatus.OPEN


@dataclass(frozen=True)
class ItemDraft:
    sku_id: int
    price: int
    cap: int | None = None


@dataclass(frozen=True)
class RelayDraft:
    title: str
    starts_at: datetime
    deadline: datetime
    items: list[ItemDraft]
    story: str = ""
    story_images: list[str] | None = None
    pickup_point_ids: list[int] | None = None
    address_delivery: bool = False
    min_units: int = 1
    max_units: int = 99


@dataclass(frozen=True)
class RelayChanges:
    """None leaves a field as it is; items (replacing them all) only until someone has joined."""

    title: str | None = None
    story: str | None = None
    story_images: list[str] | None = None
    starts_at: datetime | None = None
    deadline: datetime | None = None
    items: list[ItemDraft] | None = None
    pickup_point_ids: list[int] | None = None
    address_delivery: bool | None = None
    min_units: int | None = None
    max_units: int | None = None


def _collect(errors: list[DomainError], check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return check(*args, **kwargs)
    except DomainError as exc:
        errors.append(exc)
        return None


def _check_fields(draft: RelayDraft) -> tuple[RelayDraft, list[DomainError]]:
    """Every rule that needs no database, all problems at once; the draft with its texts trimmed."""
    errors: list[DomainError] = []
    title = _collect(errors, check_text, draft.title, "title", ["title"], required=True, max_length=MAX_TITLE)
    story = _collect(errors, check_text, draft.story, "story", ["story", "text"], required=False,
                     max_length=MAX_STORY)
    images = draft.story_images or []
    if len(images) > MAX_IMAGES:
        errors.append(Invalid(f"at most {MAX_IMAGES} images", ["story", "images"]))
    else:
        _collect(errors, check_images, images, ["story", "images"])
    if draft.deadline <= draft.starts_at:
        errors.append(Invalid("deadline must be after startsAt", ["deadline"]))
    errors += sku_item_errors([item.sku_id for item in draft.items], "relay", MAX_ITEMS)
    for index, item in enumerate(draft.items):
        where = ["items", str(index)]
        if not 1 <= item.price <= MAX_PRICE:
            errors.append(Invalid(f"the relay price is 1 to {MAX_PRICE} fen", [*where, "price"]))
        if item.cap is not None and not 1 <= item.cap <= MAX_CAP:
            errors.append(Invalid(f"cap must be 1 to {MAX_CAP} units", [*where, "cap"]))
    points = draft.pickup_point_ids or []
    if len(points) > MAX_POINTS:
        errors.append(DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_POINTS} pickup points",
                                  ["pickupPointIds"]))
    if len(set(points)) != len(points):
        errors.append(DomainError(ErrorCode.DUPLICATE, "a pickup point is given twice", ["pickupPointIds"]))
    if not points and not draft.address_delivery:
        errors.append(Invalid("give pickupPointIds or addressDelivery: true", ["pickupPointIds"]))
    if not 1 <= draft.min_units <= MAX_UNITS:
        errors.append(Invalid(f"minUnits must be 1 to {MAX_UNITS}", ["minUnits"]))
    if not 1 <= draft.max_units <= MAX_UNITS:
        errors.append(Invalid(f"maxUnits must be 1 to {MAX_UNITS}", ["maxUnits"]))
    elif draft.max_units < draft.min_units:
        errors.append(Invalid("maxUnits must not be below minUnits", ["maxUnits"]))
    return replace(draft, title=title or draft.title, story=story or ""), errors


async def _check_rows(draft: RelayDraft, *, items: bool) -> list[DomainError]:
    """The SKUs exist and cost at least the relay price; the pickup points exist and are active."""
    errors: list[DomainError] = []
    if items:
        sku_ids = [item.sku_id for item in draft.items]
        prices = {sku.id: sku.price for sku in await Sku.filter(id__in=sku_ids, deleted_at__isnull=True)}
        for index, item in enumerate(draft.items):
            where = ["items", str(index)]
            if item.sku_id not in prices:
                errors.append(NotFound("SKU", [*where, "skuId"]))
            elif item.price > prices[item.sku_id]:
                errors.append(Invalid(f"the relay price must not be above the list price ({prices[item.sku_id]} "
                                      "fen)", [*where, "price"]))
    points = draft.pickup_point_ids or []
    active = set(await column(PickupPoint.filter(id__in=points, active=True), "id", int))
    for index, point_id in enumerate(points):
        if point_id not in active:
            errors.append(NotFound("pickup point", ["pickupPointIds", str(index)]))
    return errors


def _utc(draft: RelayDraft) -> RelayDraft:
    return replace(draft, starts_at=utc(draft.starts_at), deadline=utc(draft.deadline))


async def _write_items(relay: Relay, items: Sequence[ItemDraft]) -> None:
    await RelayItem.bulk_create([RelayItem(relay_id=relay.id, sku_id=i.sku_id, price=i.price, cap=i.cap)
                                 for i in items])


async def create_relay(draft: RelayDraft, now: datetime) -> Relay:
    draft, errors = _check_fields(_utc(draft))
    if draft.deadline <= now:
        errors.append(Invalid("deadline must be in the future", ["deadline"]))
    errors += await _check_rows(draft, items=True)
    if errors:
        raise DomainErrors(errors)
    async with in_transaction():
        relay = await Relay.create(
            title=draft.title, story=draft.story, story_images=list(draft.story_images or []),
            starts_at=draft.starts_at, deadline=draft.deadline, pickup_point_ids=list(draft.pickup_point_ids or []),
            address_delivery=draft.address_delivery, min_units=draft.min_units, max_units=draft.max_units,
        )
        await _write_items(relay, draft.items)
    return relay


async def _changeable(relay_id: int, now: datetime) -> Relay:
    """The relay's row, locked against joins for the rest of the transaction, if staff may still change it."""
    relay = await Relay.filter(id=relay_id).select_for_update().get_or_none()
    if relay is None:
        raise NotFound("relay", ["id"])
    if status(relay, now) is RelayStatus.ENDED:
        raise DomainError(ErrorCode.INVALID_STATE, "the relay has ended", ["id"])
    return relay


async def update_relay(relay_id: int, changes: RelayChanges, now: datetime) -> Relay:
    async with in_transaction():
        relay = await _changeable(relay_id, now)
        if changes.items is not None and relay.joins > 0:
            raise DomainError(ErrorCode.INVALID_STATE, "items cannot change once someone has joined", ["items"])
        current = [ItemDraft(i.sku_id, i.price, i.cap) for i in await RelayItem.filter(relay_id=relay.id)]
        draft, errors = _check_fields(_utc(RelayDraft(
            title=_given(changes.title, relay.title),
            story=_given(changes.story, relay.story),
            story_images=_given(changes.story_images, relay.story_images),
            starts_at=_given(changes.starts_at, relay.starts_at),
            deadline=_given(changes.deadline, relay.deadline),
            items=_given(changes.items, current),
            pickup_point_ids=_given(changes.pickup_point_ids, relay.pickup_point_ids),
            address_delivery=_given(changes.address_delivery, relay.address_delivery),
            min_units=_given(changes.min_units, relay.min_units),
            max_units=_given(changes.max_units, relay.max_units),
        )))
        if changes.deadline is not None and draft.deadline <= now:
            errors.append(Invalid("deadline must be in the future", ["deadline"]))
        errors += await _check_rows(draft, items=changes.items is not None)
        if errors:
            raise DomainErrors(errors)
        values = {
            "title": draft.title, "story": draft.story, "story_images": list(draft.story_images or []),
            "starts_at": draft.starts_at, "deadline": draft.deadline,
            "pickup_point_ids": list(draft.pickup_point_ids or []), "address_delivery": draft.address_delivery,
            "min_units": draft.min_units, "max_units": draft.max_units,
        }
        relay.update_from_dict(values)
        await relay.save(update_fields=[*values, "updated_at"])  # never the counters joins and payments raise
        if changes.items is not None:
            await RelayItem.filter(relay_id=relay.id).delete()
            await _write_items(relay, draft.items)
    return relay


def _given(value: Any, current: Any) -> Any:
    return current if value is None else value


async def close_relay(relay_id: int, now: datetime) -> Relay:
    """Nobody joins from now on; entries already placed may still be paid (and get their numbers)."""
    async with in_transaction():
        relay = await _changeable(relay_id, now)
        relay.closed_at = now
        await relay.save(update_fields=["closed_at", "updated_at"])
    return relay


async def get_relay(relay_id: int) -> Relay:
    relay = await Relay.get_or_none(id=relay_id)
    if relay is None:
        raise NotFound("relay", ["relayId"])
    return relay


async def staff_relays(wanted: RelayStatus | None, now: datetime, first: int | None, after: str | None) -> Page[Relay]:
    """Newest first, optionally only those SCHEDULED, OPEN or ENDED at `now`."""
    query = Relay.all()
    if wanted is RelayStatus.SCHEDULED:
        query = query.filter(closed_at__isnull=True, starts_at__gt=now, deadline__gt=now)
    elif wanted is RelayStatus.OPEN:
        query = query.filter(closed_at__isnull=True, starts_at__lte=now, deadline__gt=now)
    elif wanted is RelayStatus.ENDED:
        query = query.filter(Q(closed_at__isnull=False) | Q(deadline__lte=now))
    return await paginate(query, ("id",), first, after, descending=True)


async def relays_by_id(ids: Sequence[int]) -> dict[int, Relay]:
    return {relay.id: relay for relay in await Relay.filter(id__in=ids)}


async def entry_counts(relay_ids: Sequence[int]) -> dict[int, int]:
    """The last number each relay gave (0 before its first paid entry)."""
    rows = await RelaySequence.filter(relay_id__in=relay_ids).values_list("relay_id", "last_seq")
    counts = {relay_id: 0 for relay_id in relay_ids}
    counts.update({relay_id: last_seq for relay_id, last_seq in rows})
    return counts


async def items_by_relay(relay_ids: Sequence[int]) -> dict[int, list[RelayItem]]:
    found: dict[int, list[RelayItem]] = {relay_id: [] for relay_id in relay_ids}
    for item in await RelayItem.filter(relay_id__in=relay_ids).order_by("id"):
        found[item.relay_id].append(item)
    return found
