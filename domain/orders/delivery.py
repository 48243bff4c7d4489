"""Where an order goes: a postal address (typed, or saved in the address book), or a pickup point (自提)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.addresses import book
from domain.addresses.rules import PHONE, Address, checked
from domain.errors import Invalid, NotFound
from domain.orders.models import PickupPoint

__all__ = ["PHONE", "Address", "DeliveryChoice", "resolve", "default_address"]


@dataclass(frozen=True)
class DeliveryChoice:
    address: Address | None = None
    pickup_point_id: int | None = None
    address_id: int | None = None
    """One of the customer's saved addresses."""


async def resolve(choice: DeliveryChoice, customer_id: int) -> tuple[dict[str, Any], int | None]:
    """The snapshot stored on the order, and the pickup point's id when collecting in store."""
    given = [choice.address is not None, choice.pickup_point_id is not None, choice.address_id is not None]
    if sum(given) != 1:
        raise Invalid("give exactly one of an address, an addressId and a pickupPointId", ["delivery"])
    if choice.address is not None:
        return {"address": checked(choice.address, ["delivery", "address"])}, None
    if choice.address_id is not None:
        return {"address": await book.snapshot(customer_id, choice.address_id, ["delivery", "addressId"])}, None
    point = await PickupPoint.get_or_none(id=choice.pickup_point_id, active=True)
    if point is None:
        raise NotFound("pickup point", ["delivery", "pickupPointId"])
    snapshot = {"id": point.id, "name": point.name, "address": point.address, "phone": point.phone}
    return {"pickupPoint": snapshot}, point.id


async def default_address(customer_id: int) -> tuple[dict[str, Any], None]:
    """The customer's default address as a delivery; INVALID (on `delivery`) without one."""
    return {"address": await book.snapshot(customer_id, None, ["delivery"])}, None
