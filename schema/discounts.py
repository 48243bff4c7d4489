"""Limited-time discounts (限时折扣): what shoppers see on a product, and the staff set-up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.pricing import discounts as domain_discounts
from domain.pricing import models
from resolvers import discounts
from resolvers.catalog import ActiveDiscount as OnProduct
from resolvers.permissions import CanManageGoods, IsStaff
from schema.catalog import Sku
from schema.core import Connection, UserError, connection, model_node, payload

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
DiscountKind = models.DiscountKind
strawberry.enum(
    DiscountKind, name="DiscountKind", description="PERCENT: value is percent off (1 to 99). "
    "FIXED_PRICE: value is the price in fen"
)
DiscountStatus = domain_discounts.DiscountStatus
strawberry.enum(DiscountStatus, name="DiscountStatus")


@strawberry.type(description="One SKU of a discount and what it takes off")
class DiscountItem:
    kind: DiscountKind
    value: int = strawberry.field(description="Percent off (PERCENT) or the price in fen (FIXED_PRICE)")

    @strawberry.field
    async def sku(self, root: strawberry.Parent[models.DiscountItem], info: Info) -> Sku | None:
        return await discounts.item_sku(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type(description="The limited-time discount on a product's SKUs right now")
class ActiveDiscount:
    @strawberry.field
    def id(self, root: strawberry.Parent[OnProduct]) -> relay.GlobalID:
        return relay.GlobalID("Discount", str(root.discount.id))

    @strawberry.field
    def name(self, root: strawberry.Parent[OnProduct]) -> str:
        return root.discount.name

    @strawberry.field(description="When the discount price stops")
    def ends_at(self, root: strawberry.Parent[OnProduct]) -> datetime:
        return root.discount.ends_at

    @strawberry.field(description="Units one customer may buy at the discount price; null: no limit")
    def per_customer_limit(self, root: strawberry.Parent[OnProduct]) -> int | None:
        return root.discount.per_customer_limit

    @strawberry.field(description="The discounted SKUs of this product")
    def items(self, root: strawberry.Parent[OnProduct]) -> list[DiscountItem]:
        return root.items  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type(description="A limited-time discount (限时折扣), as staff manage it")
class Discount(relay.Node):
    id: relay.NodeID[int]
    name: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = strawberry.field(description="Set when staff ended it early (discountEnd)")
    per_customer_limit: int | None
    created_at: datetime
    is_type_of = model_node(models.Discount)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.Discount]) -> DiscountStatus:
        return discounts.discount_status(root)

    @strawberry.field
    async def items(self, root: strawberry.Parent[models.Discount], info: Info) -> list[DiscountItem]:
        return await discounts.discount_items(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await discounts.discount_nodes([int(i) for i in node_ids])


@strawberry.type
class DiscountConnection(Connection[Discount]):
    pass


@strawberry.input
class DiscountItemInput:
    sku_id: strawberry.ID
    kind: DiscountKind
    value: int


@strawberry.input(description="Times are stored in UTC. An SKU may be in only one live discount at a time")
class DiscountCreateInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    items: list[DiscountItemInput]
    per_customer_limit: int | None = strawberry.UNSET


@strawberry.input(description="Only the given fields change; perCustomerLimit: null removes the limit. "
                  "items replaces them all")
class DiscountUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    items: list[DiscountItemInput] | None = strawberry.UNSET


@strawberry.input
class DiscountEndInput:
    id: strawberry.ID


@strawberry.type
class DiscountPayload:
    discount: Discount | None
    errors: list[UserError]


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class DiscountStaffQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Newest first")
    async def staff_discounts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: DiscountStatus | None = None,
    ) -> DiscountConnection:
        page = await discounts.staff_discounts(info.context, first, after, status)
        return connection(page, DiscountConnection)


@strawberry.type
class DiscountStaffMutation:
    @strawberry.mutation(permission_classes=goods, description="An SKU already in an overlapping one: DUPLICATE")
    async def discount_create(self, info: Info, input: DiscountCreateInput) -> DiscountPayload:
        return payload(DiscountPayload, "discount", await discounts.discount_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once the discount has ended")
    async def discount_update(self, info: Info, input: DiscountUpdateInput) -> DiscountPayload:
        return payload(DiscountPayload, "discount", await discounts.discount_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Ends it now: prices go back at once")
    async def discount_end(self, info: Info, input: DiscountEndInput) -> DiscountPayload:
        return payload(DiscountPayload, "discount", await discounts.discount_end(info.context, input))
