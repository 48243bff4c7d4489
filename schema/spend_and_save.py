"""Spend-and-save (满减): what shoppers see running now, and the staff set-up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.pricing import models
from domain.pricing import spend_and_save as domain_spend_and_save
from resolvers import spend_and_save as resolve
from resolvers.permissions import CanManageGoods, IsStaff
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
SpendAndSaveStatus = domain_spend_and_save.SpendAndSaveStatus
strawberry.enum(SpendAndSaveStatus, name="SpendAndSaveStatus")


@strawberry.type(description="Spend `threshold`, save `amount` on the order")
class SpendAndSaveTier:
    threshold: Money = money_field("threshold")

    amount: Money = money_field("amount")


@strawberry.type(description="The next spend-and-save tier the cart can reach: spend `missing` more to save `amount`")
class SpendAndSaveHint:
    threshold: Money = money_field("threshold")

    amount: Money = money_field("amount")

    missing: Money = money_field("missing")


@strawberry.type(description="Spend-and-save (满减): tiers of spend X, save Y on an order. An order gets the best "
                 "tier it reaches over every spend-and-save running, never two")
class SpendAndSave(relay.Node):
    id: relay.NodeID[int]
    name: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = strawberry.field(description="Set when staff ended it early (spendAndSaveEnd)")
    created_at: datetime
    is_type_of = model_node(models.SpendAndSave)

    @strawberry.field(description="Lowest threshold first")
    def tiers(self, root: strawberry.Parent[models.SpendAndSave]) -> list[SpendAndSaveTier]:
        return resolve.tiers(root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    def status(self, root: strawberry.Parent[models.SpendAndSave]) -> SpendAndSaveStatus:
        return resolve.status(root)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await resolve.nodes([int(i) for i in node_ids])


@strawberry.type
class SpendAndSaveConnection(Connection[SpendAndSave]):
    pass


@strawberry.input(description="threshold and amount in fen; 1 ≤ amount ≤ threshold")
class SpendAndSaveTierInput:
    threshold: int
    amount: int


@strawberry.input(description="Times are stored in UTC; 1 to 10 tiers, one per threshold")
class SpendAndSaveCreateInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    tiers: list[SpendAndSaveTierInput]


@strawberry.input(description="Only the given fields change; tiers replaces them all")
class SpendAndSaveUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    tiers: list[SpendAndSaveTierInput] | None = strawberry.UNSET


@strawberry.input
class SpendAndSaveEndInput:
    id: strawberry.ID


@strawberry.type
class SpendAndSavePayload:
    spend_and_save: SpendAndSave | None
    errors: list[UserError]


@strawberry.type
class SpendAndSaveQuery:
    @strawberry.field(description="The spend-and-saves running now (the cart applies the best tier reached)")
    async def active_spend_and_saves(self) -> list[SpendAndSave]:
        return await resolve.running_spend_and_saves()  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(permission_classes=[IsStaff], description="Newest first")
    async def staff_spend_and_saves(
        self,
        first: int | None = 20,
        after: str | None = None,
        status: SpendAndSaveStatus | None = None,
    ) -> SpendAndSaveConnection:
        return connection(await resolve.staff_spend_and_saves(first, after, status), SpendAndSaveConnection)


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class SpendAndSaveMutation:
    @strawberry.mutation(permission_classes=goods)
    async def spend_and_save_create(self, info: Info, input: SpendAndSaveCreateInput) -> SpendAndSavePayload:
        return payload(SpendAndSavePayload, "spend_and_save", await resolve.spend_and_save_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once it has ended")
    async def spend_and_save_update(self, info: Info, input: SpendAndSaveUpdateInput) -> SpendAndSavePayload:
        return payload(SpendAndSavePayload, "spend_and_save", await resolve.spend_and_save_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Ends it now: carts and checkouts stop getting it")
    async def spend_and_save_end(self, info: Info, input: SpendAndSaveEndInput) -> SpendAndSavePayload:
        return payload(SpendAndSavePayload, "spend_and_save", await resolve.spend_and_save_end(info.context, input))
