"""The address book (`me.addresses`, `addressCreate/Update/Delete`); `delivery: {addressId}` takes one anywhere a
delivery is given."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from domain.addresses import models
from resolvers import addresses as resolve
from resolvers.permissions import IsCustomer
from schema.core import UserError, deleted_payload, model_node, payload
from schema.orders import AddressInput


@strawberry.type(description="A saved delivery address; an order keeps its own copy")
class SavedAddress(relay.Node):
    id: relay.NodeID[int]
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    is_default: bool
    updated_at: datetime
    is_type_of = model_node(models.SavedAddress)


@strawberry.input(description="Every field is trimmed; name, province, city and district 1 to 32 characters, detail "
                  "1 to 200, phone a phone number")
class AddressCreateInput(AddressInput):
    is_default: bool = strawberry.field(default=False, description="The first address is the default anyway")


@strawberry.input
class AddressUpdateInput(AddressCreateInput):
    id: strawberry.ID


@strawberry.input
class AddressDeleteInput:
    id: strawberry.ID


@strawberry.type
class AddressPayload:
    address: SavedAddress | None
    errors: list[UserError]


@strawberry.type
class AddressDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class AddressMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="At most 20 (LIMIT_EXCEEDED); isDefault makes "
                         "it the one default")
    async def address_create(self, info: Info, input: AddressCreateInput) -> AddressPayload:
        return payload(AddressPayload, "address", await resolve.address_create(info.context, input))

    @strawberry.mutation(permission_classes=[IsCustomer], description="Another customer's address is NOT_FOUND")
    async def address_update(self, info: Info, input: AddressUpdateInput) -> AddressPayload:
        return payload(AddressPayload, "address", await resolve.address_update(info.context, input))

    @strawberry.mutation(permission_classes=[IsCustomer], description="Deleting the default makes the most recently "
                         "saved of the rest the default")
    async def address_delete(self, info: Info, input: AddressDeleteInput) -> AddressDeletePayload:
        return deleted_payload(AddressDeletePayload, "SavedAddress", await resolve.address_delete(info.context, input))
