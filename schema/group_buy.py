"""Group-buy (拼团): campaigns (staff), groups and their seats (customers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.group_buy import campaigns as domain_campaigns
from domain.group_buy import groups as domain_groups
from domain.group_buy import models
from domain.group_buy.groups import GroupPlaced
from resolvers import group_buy
from resolvers.outcome import Outcome
from resolvers.permissions import CanManageGoods, IsCustomer
from schema.core import Connection, Money, UserError, connection, model_node, money_field, user_errors
from schema.orders import DeliveryInput, Order, PaymentRequest, payment_request

if TYPE_CHECKING:
    from schema.catalog import Product, Sku

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
GroupBuyCampaignStatus = domain_campaigns.CampaignStatus
strawberry.enum(GroupBuyCampaignStatus, name="GroupBuyCampaignStatus")
GroupBuyStatus = domain_groups.GroupBuyStatus
strawberry.enum(GroupBuyStatus, name="GroupBuyStatus")


@strawberry.type(description="One SKU of a campaign and its prices")
class GroupBuyItem:
    group_price: Money = money_field("group_price", "What a member pays for one unit")

    @strawberry.field(description="What the leader pays for one unit (null: the group price)")
    def leader_price(self, root: strawberry.Parent[models.GroupBuyItem]) -> Money | None:
        return None if root.leader_price is None else Money(amount=root.leader_price)

    @strawberry.field
    async def sku(
        self, root: strawberry.Parent[models.GroupBuyItem], info: Info
    ) -> Annotated[Sku, strawberry.lazy("schema.catalog")] | None:
        return await group_buy.item_sku(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type(description="A member of a group as everyone sees it: a paid seat, or a seat shown as filled by "
                 "the campaign's virtual fill (模拟成团: never charged, never refunded)")
class GroupBuyMember:
    nickname: str = strawberry.field(description="Masked, e.g. 张**")
    avatar_url: str
    leader: bool
    virtual: bool
    joined_at: datetime | None = strawberry.field(description="When the seat was paid (null for a virtual seat)")


@strawberry.type(description="A group-buy campaign (拼团活动): the SKUs of one product at a group price for groups "
                 "of groupSize paid customers")
class GroupBuyCampaign(relay.Node):
    id: relay.NodeID[int]
    title: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = strawberry.field(description="Set when staff ended it early (groupBuyCampaignEnd)")
    group_size: int = strawberry.field(description="Paid seats a group needs, the leader's included")
    group_hours: int = strawberry.field(description="How long a group stays open after its leader paid (never "
                                        "past the campaign's end)")
    per_customer_limit: int = strawberry.field(description="Units one customer may take over the campaign")
    per_order_max: int = strawberry.field(description="Units one order may take")
    virtual_fill_percent: int | None = strawberry.field(
        description="A group expiring with at least this share of its seats paid succeeds (null: never)")
    is_type_of = model_node(models.GroupBuyCampaign)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.GroupBuyCampaign]) -> GroupBuyCampaignStatus:
        return group_buy.campaign_status(root)

    @strawberry.field
    async def items(self, root: strawberry.Parent[models.GroupBuyCampaign], info: Info) -> list[GroupBuyItem]:
        return await group_buy.campaign_items(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    async def product(
        self, root: strawberry.Parent[models.GroupBuyCampaign], info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.catalog")] | None:
        return await group_buy.campaign_product(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Its forming groups, closest to full first (at most 100)")
    async def open_groups(
        self, root: strawberry.Parent[models.GroupBuyCampaign], info: Info, first: int = 10
    ) -> list[GroupBuy]:
        return await group_buy.campaign_open_groups(info.context, root, first)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await group_buy.campaign_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type(description="A group (团): FORMING until groupSize seats are paid (SUCCEEDED) or it expires "
                 "(FAILED, every paid seat refunded in full)")
class GroupBuy(relay.Node):
    id: relay.NodeID[int]
    required_size: int = strawberry.field(description="Paid seats the group needs, the leader's included")
    paid_count: int = strawberry.field(description="Seats paid so far")
    share_code: str = strawberry.field(description="What groupBuyJoin's shareCode names")
    expires_at: datetime | None
    is_type_of = model_node(models.GroupBuyGroup)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.GroupBuyGroup]) -> GroupBuyStatus:
        return group_buy.group_status(root)

    @strawberry.field(description="Seats still free to take (0 once the group is no longer forming)")
    async def seats_left(self, root: strawberry.Parent[models.GroupBuyGroup], info: Info) -> int:
        return await group_buy.group_seats_left(info.context, root)

    @strawberry.field(description="Paid seats, leader first, then the virtual ones")
    async def members(self, root: strawberry.Parent[models.GroupBuyGroup], info: Info) -> list[GroupBuyMember]:
        return await group_buy.group_members(info.context, root)  # type: ignore[return-value]  # a Member, resolved to its GraphQL type by strawberry

    @strawberry.field
    async def campaign(self, root: strawberry.Parent[models.GroupBuyGroup], info: Info) -> GroupBuyCampaign | None:
        return await group_buy.group_campaign(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await group_buy.group_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type
class GroupBuyCampaignConnection(Connection[GroupBuyCampaign]):
    pass


@strawberry.type
class GroupBuyConnection(Connection[GroupBuy]):
    pass


@strawberry.input(description="groupPrice: fen, below the SKU's list price. leaderPrice: fen, below the group price")
class GroupBuyItemInput:
    sku_id: strawberry.ID
    group_price: int
    leader_price: int | None = None


@strawberry.input(description="Times are stored in UTC. The SKUs of one product; an SKU may be in only one live "
                  "campaign at a time")
class GroupBuyCampaignCreateInput:
    title: str
    starts_at: datetime
    ends_at: datetime
    group_size: int = strawberry.field(description="2 to 50")
    group_hours: int = strawberry.field(description="1 to 72")
    per_customer_limit: int
    per_order_max: int
    items: list[GroupBuyItemInput]
    virtual_fill_percent: int | None = strawberry.field(default=None, description="1 to 100, or null")


@strawberry.input(description="Only the given fields change (virtualFillPercent: null removes it). items "
                  "(replacing them all) only while no group has been started")
class GroupBuyCampaignUpdateInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    group_size: int | None = strawberry.UNSET
    group_hours: int | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    per_order_max: int | None = strawberry.UNSET
    virtual_fill_percent: int | None = strawberry.UNSET
    items: list[GroupBuyItemInput] | None = strawberry.UNSET


@strawberry.input
class GroupBuyCampaignEndInput:
    id: strawberry.ID


@strawberry.input(description="The same idempotencyKey returns the first order")
class GroupBuyStartInput:
    campaign_id: strawberry.ID
    sku_id: strawberry.ID
    delivery: DeliveryInput
    quantity: int = 1
    idempotency_key: str | None = None
    use_wallet: bool = strawberry.field(default=False, description="The wallet pays what it can (principal and "
                                        "bonus in proportion to their balances), WeChat Pay the rest")


@strawberry.input(description="groupId or shareCode, not both. The same idempotencyKey returns the first order")
class GroupBuyJoinInput:
    sku_id: strawberry.ID
    delivery: DeliveryInput
    group_id: strawberry.ID | None = strawberry.UNSET
    share_code: str | None = strawberry.UNSET
    quantity: int = 1
    idempotency_key: str | None = None
    use_wallet: bool = strawberry.field(default=False, description="The wallet pays what it can (principal and "
                                        "bonus in proportion to their balances), WeChat Pay the rest")


@strawberry.type
class GroupBuyCampaignPayload:
    group_buy_campaign: GroupBuyCampaign | None
    errors: list[UserError]


@strawberry.type
class GroupBuyPlacedPayload:
    order: Order | None
    payment: PaymentRequest | None = strawberry.field(description="Null when nothing is owed")
    group: GroupBuy | None = strawberry.field(description="The group (shown to others once its leader has paid)")
    errors: list[UserError]


def _placed(outcome: Outcome[GroupPlaced]) -> GroupBuyPlacedPayload:
    done = None if outcome.errors else outcome.value
    if done is None:
        return GroupBuyPlacedPayload(order=None, payment=None, group=None, errors=user_errors(outcome.errors))
    return GroupBuyPlacedPayload(order=done.placed.order, payment=payment_request(done.placed.payment),  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry
                                 group=done.group, errors=[])  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry


def _campaign(outcome: Outcome[models.GroupBuyCampaign]) -> GroupBuyCampaignPayload:
    campaign = None if outcome.errors else outcome.value
    return GroupBuyCampaignPayload(group_buy_campaign=campaign, errors=user_errors(outcome.errors))  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class GroupBuyQuery:
    @strawberry.field(description="A group anyone may read (null if there is none to show)")
    async def group_buy(self, info: Info, id: strawberry.ID) -> GroupBuy | None:
        return await group_buy.group(info.context, id)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(permission_classes=goods, description="Newest first, optionally only SCHEDULED, ACTIVE or "
                      "ENDED ones")
    async def staff_group_buy_campaigns(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: GroupBuyCampaignStatus | None = None,
    ) -> GroupBuyCampaignConnection:
        page = await group_buy.staff_campaigns(info.context, first, after, status)
        return connection(page, GroupBuyCampaignConnection)


@strawberry.type
class GroupBuyMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="Opens a group with the leader's order: "
                         "others see and join it once that order is paid")
    async def group_buy_start(self, info: Info, input: GroupBuyStartInput) -> GroupBuyPlacedPayload:
        return _placed(await group_buy.group_buy_start(info.context, input))

    @strawberry.mutation(permission_classes=[IsCustomer], description="Takes a seat with a new order: GROUP_FULL, "
                         "GROUP_CLOSED, DUPLICATE (a seat already held) or LIMIT_EXCEEDED when it cannot, and then "
                         "nothing is created")
    async def group_buy_join(self, info: Info, input: GroupBuyJoinInput) -> GroupBuyPlacedPayload:
        return _placed(await group_buy.group_buy_join(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="An SKU in an overlapping campaign: DUPLICATE")
    async def group_buy_campaign_create(self, info: Info, input: GroupBuyCampaignCreateInput) -> \
            GroupBuyCampaignPayload:
        return _campaign(await group_buy.campaign_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once the campaign has ended")
    async def group_buy_campaign_update(self, info: Info, input: GroupBuyCampaignUpdateInput) -> \
            GroupBuyCampaignPayload:
        return _campaign(await group_buy.campaign_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Ends it now: forming groups expire now and are "
                         "settled by the sweep")
    async def group_buy_campaign_end(self, info: Info, input: GroupBuyCampaignEndInput) -> GroupBuyCampaignPayload:
        return _campaign(await group_buy.campaign_end(info.context, input))
