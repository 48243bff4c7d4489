"""Pickup points (自提点): the shopper's list and the merchant's management of it."""

from __future__ import annotations

import strawberry
from strawberry import Info, relay

from domain.orders import models
from resolvers import pickup
from resolvers.permissions import CanFulfilOrders, IsStaff
from schema.core import UserError, model_node, payload


@strawberry.type(description="A store or partner shop where customers collect their orders")
class PickupPoint(relay.Node):
    id: relay.NodeID[int]
    name: str
    address: str
    phone: str
    active: bool = strawberry.field(description="Inactive points are hidden from shoppers and refused at checkout")
    is_type_of = model_node(models.PickupPoint)


@strawberry.input
class PickupPointCreateInput:
    name: str
    address: str
    phone: str = ""
    active: bool = True


@strawberry.input(description="Only the given fields change; orders already placed keep their snapshot")
class PickupPointUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class PickupPointPayload:
    pickup_point: PickupPoint | None
    errors: list[UserError]


@strawberry.type
class PickupQuery:
    @strawberry.field(description="Active pickup points, for choosing delivery at checkout")
    async def pickup_points(self, info: Info) -> list[PickupPoint]:
        return await pickup.pickup_points(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(permission_classes=[IsStaff], description="Every pickup point, inactive ones included")
    async def staff_pickup_points(self, info: Info) -> list[PickupPoint]:
        return await pickup.staff_pickup_points(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class PickupMutation:
    @strawberry.mutation(permission_classes=[CanFulfilOrders])
    async def pickup_point_create(self, info: Info, input: PickupPointCreateInput) -> PickupPointPayload:
        return payload(PickupPointPayload, "pickup_point", await pickup.pickup_point_create(info.context, input))

    @strawberry.mutation(permission_classes=[CanFulfilOrders])
    async def pickup_point_update(self, info: Info, input: PickupPointUpdateInput) -> PickupPointPayload:
        return payload(PickupPointPayload, "pickup_point", await pickup.pickup_point_update(info.context, input))
