"""Where an order goes: a postal address, or a pickup point (自提) the merchant runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.errors import Invalid, NotFound
from domain.orders.models import PickupPoint

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


@dataclass(frozen=True)
class DeliveryChoice:
    address: Address | None = None
    pickup_point_id: int | None = None


def _text(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise Invalid(f"{field} must be 1 to {limit} characters", ["delivery", "address", field])
    return value


async def resolve(choice: DeliveryChoice) -> tuple[dict[str, Any], int | None]:
    """The snapshot stored on the order, and the pickup point's id when collecting in store."""
    if (choice.address is None) == (choice.pickup_point_id is None):
        raise Invalid("give either an address or a pickupPointId", ["delivery"])
    if choice.address is not None:
        a = choice.address
        if not PHONE.match(a.phone.strip()):
            raise Invalid("phone is not a phone number", ["delivery", "address", "phone"])
        snapshot: dict[str, Any] = {
            "name": _text(a.name, "name", 32),
            "phone": a.phone.strip(),
            "province": _text(a.province, "province", 32),
            "city": _text(a.city, "city", 32),
            "district": _text(a.district, "district", 32),
            "detail": _text(a.detail, "detail", 200),
        }
        return {"address": snapshot}, None
    point = await PickupPoint.get_or_none(id=choice.pickup_point_id, active=True)
    if point is None:
        raise NotFound("pickup point", ["delivery", "pickupPointId"])
    snapshot = {"id": point.id, "name": point.name, "address": point.address, "phone": point.phone}
    return {"pickupPoint": snapshot}, point.id
