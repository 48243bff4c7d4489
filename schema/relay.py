"""Relays (社群接龙): the public numbered list and joining it, the staff set-up and the pick list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.orders.models import OrderLine as OrderLineModel
from domain.relay import models
from domain.relay import relays as domain_relays
from domain.relay.pick_list import PickEntry, PickGroup, PickTotal
from resolvers import relay as relays
from resolvers.outcome import Outcome
from resolvers.permissions import CanFulfilOrders, CanManageGoods, IsCustomer
from resolvers.relay import Joined
from schema.catalog import Sku, SpecValue
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload, user_errors
from schema.orders import CheckoutLineInput, DeliveryInput, Order, PaymentRequest, payment_request
from schema.pickup import PickupPoint

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
RelayStatus = domain_relays.RelayStatus
strawberry.enum(RelayStatus, name="RelayStatus", description="SCHEDULED before startsAt, OPEN until the deadline, "
                "ENDED from the deadline or relayClose")


@strawberry.type(description="The merchant's words and pictures above the list")
class RelayStory:
    text: str
    images: list[str]


@strawberry.type(description="One SKU offered in a relay, at the relay price")
class RelayItem:
    price: Money = money_field("price", "The relay price of one unit")
    cap: int | None = strawberry.field(description="Units the relay sells at most; null: as many as are in stock")
    sold: int = strawberry.field(description="Units taken by entries, paid or waiting for payment (an entry "
                                 "cancelled before it was paid gives them back)")

    @strawberry.field(description="Units left under the cap; null without a cap")
    def remaining(self, root: strawberry.Parent[models.RelayItem]) -> int | None:
        return None if root.cap is None else max(root.cap - root.sold, 0)

    @strawberry.field
    async def sku(self, root: strawberry.Parent[models.RelayItem], info: Info) -> Sku | None:
        return await relays.item_sku(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type(description="What one entry bought, as the list shows it")
class RelayEntryLine:
    title: str
    quantity: int

    @strawberry.field
    def specs(self, root: strawberry.Parent[OrderLineModel]) -> list[SpecValue]:
        return [SpecValue(name=s["name"], value=s["value"]) for s in root.specs]


@strawberry.type(description="One numbered entry of a relay's public list")
class RelayEntry(relay.Node):
    id: relay.NodeID[int]
    seq: int = strawberry.field(description="Its public number: 1, 2, 3 … in the order entries were paid")
    is_type_of = model_node(models.RelayEntry)

    @strawberry.field(description="When it was paid (and got its number)")
    def joined_at(self, root: strawberry.Parent[models.RelayEntry]) -> datetime:
        return root.paid_at or root.created_at

    @strawberry.field(description="The customer, masked (张**)")
    async def nickname(self, root: strawberry.Parent[models.RelayEntry], info: Info) -> str:
        return await relays.entry_nickname(info.context, root)

    @strawberry.field
    async def lines(self, root: strawberry.Parent[models.RelayEntry], info: Info) -> list[RelayEntryLine]:
        return await relays.entry_lines(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Cancelled or refunded after it was paid: it keeps its number")
    async def cancelled(self, root: strawberry.Parent[models.RelayEntry], info: Info) -> bool:
        return await relays.entry_cancelled(info.context, root)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await relays.entry_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type
class RelayEntryConnection(Connection[RelayEntry]):
    pass


@strawberry.type(description="A relay (社群接龙): an offer posted in a group, and the numbered list of who joined")
class Relay(relay.Node):
    id: relay.NodeID[int]
    title: str
    starts_at: datetime
    deadline: datetime = strawberry.field(description="Nobody joins from this moment on")
    closed_at: datetime | None = strawberry.field(description="Set when staff closed it early (relayClose)")
    address_delivery: bool = strawberry.field(description="Whether an entry may be sent to an address")
    min_units: int = strawberry.field(description="Units one entry takes at least, its lines together")
    max_units: int = strawberry.field(description="Units one entry takes at most, its lines together")
    is_type_of = model_node(models.Relay)

    @strawberry.field
    def story(self, root: strawberry.Parent[models.Relay]) -> RelayStory:
        return RelayStory(text=root.story, images=list(root.story_images))

    @strawberry.field
    def status(self, root: strawberry.Parent[models.Relay]) -> RelayStatus:
        return relays.relay_status(root)

    @strawberry.field(description="Entries joined (paid), cancelled ones included: the last number given")
    async def entry_count(self, root: strawberry.Parent[models.Relay], info: Info) -> int:
        return await relays.relay_entry_count(info.context, root)

    @strawberry.field
    async def items(self, root: strawberry.Parent[models.Relay], info: Info) -> list[RelayItem]:
        return await relays.relay_items(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Where entries may be collected")
    async def pickup_points(self, root: strawberry.Parent[models.Relay], info: Info) -> list[PickupPoint]:
        return await relays.relay_pickup_points(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The public list, by number")
    async def entries(
        self, root: strawberry.Parent[models.Relay], info: Info, first: int | None = 20, after: str | None = None
    ) -> RelayEntryConnection:
        return connection(await relays.relay_entries(info.context, root, first, after), RelayEntryConnection)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await relays.relay_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type
class RelayConnection(Connection[Relay]):
    pass


@strawberry.type(description="One line of an entry on the pick list")
class PickListLine:
    title: str
    specs: str
    quantity: int


@strawberry.type(description="An entry to hand over: who collects it and what")
class PickListEntry:
    seq: int
    order_number: str
    name: str = strawberry.field(description="The address's name, or the customer's nickname at a pickup point")
    phone: str

    @strawberry.field
    def lines(self, root: strawberry.Parent[PickEntry]) -> list[PickListLine]:
        return [PickListLine(title=line.title, specs=line.specs, quantity=line.quantity) for line in root.lines]


@strawberry.type(description="Units of one SKU to prepare for a group")
class PickListTotal:
    title: str
    specs: str
    units: int

    @strawberry.field
    def sku_id(self, root: strawberry.Parent[PickTotal]) -> strawberry.ID:
        return strawberry.ID(str(relay.GlobalID("Sku", str(root.sku_id))))


@strawberry.type(description="One pickup point's share of a relay, or (pickupPoint null) the address deliveries")
class PickListGroup:
    name: str

    @strawberry.field
    async def pickup_point(self, root: strawberry.Parent[PickGroup], info: Info) -> PickupPoint | None:
        return await relays.group_pickup_point(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    def totals(self, root: strawberry.Parent[PickGroup]) -> list[PickListTotal]:
        return root.totals  # type: ignore[return-value]  # a dataclass with the same fields

    @strawberry.field(description="Paid entries not refunded, by number")
    def entries(self, root: strawberry.Parent[PickGroup]) -> list[PickListEntry]:
        return root.entries  # type: ignore[return-value]  # a dataclass with the same fields


@strawberry.type(description="What to prepare and hand over for a relay (also GET /staff/relays/{id}/pick-list.csv)")
class RelayPickList:
    relay: Relay
    groups: list[PickListGroup]


@strawberry.input(description="text: at most 2000 characters. images: at most 9 http(s):// or cloud:// URLs")
class RelayStoryInput:
    text: str = ""
    images: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="price: fen, at or below the SKU's list price. cap: units the relay sells at most")
class RelayItemInput:
    sku_id: strawberry.ID
    price: int
    cap: int | None = None


@strawberry.input(description="Give pickupPointIds (active points) and/or addressDelivery: true. Times in UTC")
class RelayCreateInput:
    title: str
    starts_at: datetime
    deadline: datetime
    items: list[RelayItemInput]
    story: RelayStoryInput | None = strawberry.UNSET
    pickup_point_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    address_delivery: bool = False
    min_units: int = 1
    max_units: int = 99


@strawberry.input(description="Only the given fields change; items (replacing them all) only until someone joined")
class RelayUpdateInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    story: RelayStoryInput | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    deadline: datetime | None = strawberry.UNSET
    items: list[RelayItemInput] | None = strawberry.UNSET
    pickup_point_ids: list[strawberry.ID] | None = strawberry.UNSET
    address_delivery: bool | None = strawberry.UNSET
    min_units: int | None = strawberry.UNSET
    max_units: int | None = strawberry.UNSET


@strawberry.input
class RelayCloseInput:
    id: strawberry.ID


@strawberry.input(description="lines: SKUs of the relay's items. delivery: one of its pickup points, or an address "
                  "if it allows. The same idempotencyKey returns the first order")
class RelayJoinInput:
    relay_id: strawberry.ID
    lines: list[CheckoutLineInput]
    delivery: DeliveryInput
    remark: str = ""
    idempotency_key: str | None = None
    use_wallet: bool = strawberry.field(default=False, description="The wallet pays what it can (principal and "
                                        "bonus in proportion to their balances), WeChat Pay the rest")


@strawberry.type
class RelayPayload:
    relay: Relay | None
    errors: list[UserError]


@strawberry.type
class RelayJoinPayload:
    order: Order | None
    payment: PaymentRequest | None = strawberry.field(description="Null when nothing is owed")
    relay: Relay | None
    errors: list[UserError]


def _joined(outcome: Outcome[Joined]) -> RelayJoinPayload:
    joined = None if outcome.errors else outcome.value
    if joined is None:
        return RelayJoinPayload(order=None, payment=None, relay=None, errors=user_errors(outcome.errors))
    placed, relay = joined.placed, joined.relay
    return RelayJoinPayload(order=placed.order, payment=payment_request(placed.payment), relay=relay, errors=[])  # type: ignore[arg-type]  # models, resolved to their GraphQL types by strawberry


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class RelayQuery:
    @strawberry.field(description="A relay and its public list; null if there is none")
    async def relay(self, info: Info, id: strawberry.ID) -> Relay | None:
        return await relays.relay(info.context, id)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(permission_classes=goods, description="Newest first, optionally only SCHEDULED, OPEN or ENDED")
    async def staff_relays(
        self, info: Info, first: int | None = 20, after: str | None = None, status: RelayStatus | None = None
    ) -> RelayConnection:
        return connection(await relays.staff_relays(info.context, first, after, status), RelayConnection)

    @strawberry.field(permission_classes=[CanFulfilOrders], description="Per pickup point (and one group for "
                      "address deliveries): item totals and every paid entry not refunded; null for no such relay")
    async def relay_pick_list(self, info: Info, relay_id: strawberry.ID) -> RelayPickList | None:
        return await relays.relay_pick_list(info.context, relay_id)  # type: ignore[return-value]  # models, resolved to their GraphQL types by strawberry


@strawberry.type
class RelayMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="Joins the relay: a RELAY order and its "
                         "payment. NOT_STARTED, ENDED, SOLD_OUT (an item's cap or stock), LIMIT_EXCEEDED (maxUnits) or "
                         "INVALID (minUnits, a delivery the relay does not serve) change nothing. The number comes "
                         "with payment")
    async def relay_join(self, info: Info, input: RelayJoinInput) -> RelayJoinPayload:
        return _joined(await relays.relay_join(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def relay_create(self, info: Info, input: RelayCreateInput) -> RelayPayload:
        return payload(RelayPayload, "relay", await relays.relay_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once it has ended, and for "
                         "items once someone has joined")
    async def relay_update(self, info: Info, input: RelayUpdateInput) -> RelayPayload:
        return payload(RelayPayload, "relay", await relays.relay_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Nobody joins from now on; placed entries may still pay")
    async def relay_close(self, info: Info, input: RelayCloseInput) -> RelayPayload:
        return payload(RelayPayload, "relay", await relays.relay_close(info.context, input))
