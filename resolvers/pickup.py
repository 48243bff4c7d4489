"""Pickup points: the active ones for shoppers, all of them for staff to manage."""

from __future__ import annotations

from typing import Any

from domain.orders import pickup
from domain.orders.models import PickupPoint
from domain.orders.pickup import PickupPointChanges
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given


async def pickup_points(ctx: Context) -> list[PickupPoint]:
    return await pickup.active_points()


async def staff_pickup_points(ctx: Context) -> list[PickupPoint]:
    return await pickup.all_points()


async def pickup_point_create(ctx: Context, data: Any) -> Outcome[PickupPoint]:
    changes = PickupPointChanges(name=data.name, address=data.address, phone=data.phone, active=data.active)
    return await attempt(pickup.create_point(changes))


async def pickup_point_update(ctx: Context, data: Any) -> Outcome[PickupPoint]:
    async def run() -> PickupPoint:
        changes = PickupPointChanges(
            name=given(data.name), address=given(data.address), phone=given(data.phone), active=given(data.active)
        )
        return await pickup.update_point(decode_id(data.id, "PickupPoint"), changes)

    return await attempt(run())
