"""Limited-time discounts (限时折扣): what shoppers see on a product, and the staff set-up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay

from domain.pricing import discounts as domain_discounts
from domain.pricing import models
from resolvers import discounts
from resolvers.permissions import CanManageGoods, IsStaff
from schema.catalog import Sku
from schema.core import Connection, UserError, connection, model_node, payload

DiscountKind = strawberry.enum(
    models.DiscountKind, name="DiscountKind", description="PERCENT: value is percent off (1 to 99). "
    "FIXED_PRICE: value is the price in fen"
)
DiscountStatus = strawberry.enum(domain_discounts.DiscountStatus, name="DiscountStatus")


@strawberry.type(description="One SKU of a discount and what it takes off")
class DiscountItem:
    kind: DiscountKind  # type: ignore[valid-type]
    value: int = strawberry.field(description="Percent off (PERCENT) or the price in fen (FIXED_PRICE)")

    @strawberry.field
    async def sku(self, info: Info) -> Sku | None:
        return await discounts.item_sku(info.context, self)  # type: ignore[arg-type]


@strawberry.type(description="The limited-time discount on a product's SKUs right now")
class ActiveDiscount:
    @strawberry.field
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Discount", str(self.discount.id))  # type: ignore[attr-defined]

    @strawberry.field
    def name(self) -> str:
        return self.discount.name  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="When the discount price stops")
    def ends_at(self) -> datetime:
        return self.discount.ends_at  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="Units one customer may buy at the discount price; null: no limit")
    def per_customer_limit(self) -> int | None:
        return self.discount.per_customer_limit  # type: ignore[attr-defined,no-any-return]

    @strawberry.field(description="The discounted SKUs of this product")
    def items(self) -> list[DiscountItem]:
        return self.items  # type: ignore[return-value]


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
    def status(self) -> DiscountStatus:  # type: ignore[valid-type]
        return discounts.discount_status(self)  # type: ignore[arg-type]

    @strawberry.field
    async def items(self, info: Info) -> list[DiscountItem]:
        return await discounts.discount_items(info.context, self)  # type: ignore[arg-type,return-value]

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await discounts.discount_nodes([int(i) for i in node_ids])


@strawberry.type
class DiscountConnection(Connection[Discount]):
    pass


@strawberry.input
class DiscountItemInput:
    sku_id: strawberry.ID
    kind: DiscountKind  # type: ignore[valid-type]
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


goods = [CanManageGoods]


@strawberry.type
class DiscountStaffQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Newest first")
    async def staff_discounts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: DiscountStatus | None = None,  # type: ignore[valid-type]
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
