"""Pickup points (自提点): where customers collect orders. Shoppers see the active ones; staff manage them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.catalog.rules import check_text
from domain.errors import DomainErrors, Invalid, NotFound
from domain.orders.delivery import PHONE
from domain.orders.models import PickupPoint


@dataclass
class PickupPointChanges:
    """None leaves a field as it is."""

    name: str | None = None
    address: str | None = None
    phone: str | None = None
    active: bool | None = None


async def active_points() -> list[PickupPoint]:
    return await PickupPoint.filter(active=True).order_by("id")


async def all_points() -> list[PickupPoint]:
    return await PickupPoint.all().order_by("id")


async def points_by_id(point_ids: Sequence[int]) -> dict[int, PickupPoint]:
    return {point.id: point for point in await PickupPoint.filter(id__in=point_ids)}


async def get_point(point_id: int) -> PickupPoint:
    point = await PickupPoint.get_or_none(id=point_id)
    if point is None:
        raise NotFound("pickup point", ["id"])
    return point


def _checked(changes: PickupPointChanges, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    problems: list[Invalid] = []
    for name, limit in (("name", 64), ("address", 255)):
        value = getattr(changes, name)
        if value is None and not creating:
            continue
        try:
            values[name] = check_text(value or "", name, [name], required=True, max_length=limit)
        except Invalid as exc:
            problems.append(exc)
    if changes.phone is not None:
        phone = changes.phone.strip()
        if phone and (len(phone) > 20 or not PHONE.match(phone)):
            problems.append(Invalid("phone is not a phone number", ["phone"]))
        values["phone"] = phone
    if changes.active is not None:
        values["active"] = changes.active
    if problems:
        raise DomainErrors(problems)
    return values


async def create_point(changes: PickupPointChanges) -> PickupPoint:
    return await PickupPoint.create(**_checked(changes, creating=True))


async def update_point(point_id: int, changes: PickupPointChanges) -> PickupPoint:
    """Orders already placed keep the snapshot they were placed with; deactivating only stops new ones."""
    point = await get_point(point_id)
    values = _checked(changes, creating=False)
    if values:
        point.update_from_dict(values)
        await point.save(update_fields=list(values))
    return point
