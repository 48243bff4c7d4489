"""Group-buy: the staff set-up, starting and joining groups, reading them. Decode IDs, call the domain, map errors."""

from __future__ import annotations

from typing import Any

from domain.catalog.models import Product, Sku
from domain.errors import NotFound
from domain.group_buy import campaigns, groups
from domain.group_buy.campaigns import CampaignChanges, CampaignDraft, CampaignStatus, ItemDraft
from domain.group_buy.groups import GroupBuyStatus, GroupPlaced, JoinRequest, Member, StartRequest
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyItem
from domain.orders.delivery import DeliveryChoice
from domain.orders.models import Order, OrderKind
from domain.pagination import Page
from resolvers.catalog_staff import _changed
from resolvers.context import Context
from resolvers.orders import _delivery, _within_checkout_rate, customer_id
from resolvers.outcome import Outcome, attempt, decode_id, given, now, under


def _delivery_of(data: Any) -> DeliveryChoice:
    try:
        return _delivery(data.delivery)
    except NotFound as exc:
        raise under("delivery", exc) from None


def _sku_id(global_id: Any, index: int) -> int:
    try:
        return decode_id(global_id, "Sku")
    except NotFound:
        raise NotFound("SKU", ["items", str(index), "skuId"]) from None


def _items(items: Any) -> list[ItemDraft]:
    return [ItemDraft(_sku_id(item.sku_id, i), item.group_price, given(item.leader_price))
            for i, item in enumerate(items)]


async def campaign_create(ctx: Context, data: Any) -> Outcome[GroupBuyCampaign]:
    async def run() -> GroupBuyCampaign:
        draft = CampaignDraft(
            title=data.title, starts_at=data.starts_at, ends_at=data.ends_at, group_size=data.group_size,
            group_hours=data.group_hours, per_customer_limit=data.per_customer_limit,
            per_order_max=data.per_order_max, virtual_fill_percent=given(data.virtual_fill_percent),
            items=_items(data.items),
        )
        return await campaigns.create_campaign(draft, now())

    return await _changed(ctx, await attempt(run()))


async def campaign_update(ctx: Context, data: Any) -> Outcome[GroupBuyCampaign]:
    async def run() -> GroupBuyCampaign:
        items = given(data.items)
        changes = CampaignChanges(
            title=given(data.title), starts_at=given(data.starts_at), ends_at=given(data.ends_at),
            group_size=given(data.group_size), group_hours=given(data.group_hours),
            per_customer_limit=given(data.per_customer_limit), per_order_max=given(data.per_order_max),
            virtual_fill_percent=given(data.virtual_fill_percent),
            clear_virtual_fill=data.virtual_fill_percent is None,
            items=None if items is None else _items(items),
        )
        return await campaigns.update_campaign(decode_id(data.id, "GroupBuyCampaign"), changes, now())

    return await _changed(ctx, await attempt(run()))


async def campaign_end(ctx: Context, data: Any) -> Outcome[GroupBuyCampaign]:
    async def run() -> GroupBuyCampaign:
        return await campaigns.end_campaign(decode_id(data.id, "GroupBuyCampaign"), now())

    return await _changed(ctx, await attempt(run()))


async def staff_campaigns(ctx: Context, first: int | None, after: str | None,
                          status: Any) -> Page[GroupBuyCampaign]:
    wanted = None if status is None else CampaignStatus(status.value)
    return await campaigns.campaigns(wanted, now(), first, after)


async def group_buy_start(ctx: Context, data: Any) -> Outcome[GroupPlaced]:
    async def run() -> GroupPlaced:
        await _within_checkout_rate(ctx)
        request = StartRequest(
            customer_id=customer_id(ctx),
            campaign_id=decode_id(data.campaign_id, "GroupBuyCampaign", "campaignId"),
            sku_id=decode_id(data.sku_id, "Sku", "skuId"),
            quantity=data.quantity,
            delivery=_delivery_of(data),
            idempotency_key=data.idempotency_key,
            use_wallet=bool(data.use_wallet),
        )
        return await groups.start(ctx.services.orders, request, now())

    return await attempt(run())


async def group_buy_join(ctx: Context, data: Any) -> Outcome[GroupPlaced]:
    async def run() -> GroupPlaced:
        await _within_checkout_rate(ctx)
        group_id = given(data.group_id)
        request = JoinRequest(
            customer_id=customer_id(ctx),
            group_id=None if group_id is None else decode_id(group_id, "GroupBuy", "groupId"),
            share_code=given(data.share_code),
            sku_id=decode_id(data.sku_id, "Sku", "skuId"),
            quantity=data.quantity,
            delivery=_delivery_of(data),
            idempotency_key=data.idempotency_key,
            use_wallet=bool(data.use_wallet),
        )
        return await groups.join(ctx.services.orders, request, now())

    return await attempt(run())


def campaign_status(campaign: GroupBuyCampaign) -> CampaignStatus:
    return campaigns.status(campaign, now())


async def campaign_items(ctx: Context, campaign: GroupBuyCampaign) -> list[GroupBuyItem]:
    return await ctx.loaders.group_buy_items.load(campaign.id)


async def campaign_product(ctx: Context, campaign: GroupBuyCampaign) -> Product | None:
    return await ctx.loaders.product.load(campaign.product_id)


async def campaign_open_groups(ctx: Context, campaign: GroupBuyCampaign, first: int) -> list[GroupBuyGroup]:
    return (await ctx.loaders.open_group_buys.load(campaign.id))[:max(min(first, 100), 0)]


async def item_sku(ctx: Context, item: GroupBuyItem) -> Sku | None:
    return await ctx.loaders.sku.load(item.sku_id)


async def product_campaign(ctx: Context, product: Product) -> GroupBuyCampaign | None:
    return await ctx.loaders.group_buy_by_product.load(product.id)


async def group(ctx: Context, global_id: Any) -> GroupBuyGroup | None:
    try:
        group_id = decode_id(global_id, "GroupBuy")
    except NotFound:
        return None
    return await ctx.loaders.group_buy.load(group_id)


def group_status(group: GroupBuyGroup) -> GroupBuyStatus:
    return groups.public_status(group)


async def group_members(ctx: Context, group: GroupBuyGroup) -> list[Member]:
    return groups.members(group, await ctx.loaders.group_buy_seats.load(group.id))


async def group_seats_left(ctx: Context, group: GroupBuyGroup) -> int:
    return groups.seats_left(group, await ctx.loaders.group_buy_seats.load(group.id))


async def group_campaign(ctx: Context, group: GroupBuyGroup) -> GroupBuyCampaign | None:
    return await ctx.loaders.group_buy_campaign.load(group.campaign_id)


async def my_groups(ctx: Context, owner_id: int, first: int | None, after: str | None,
                    status: Any) -> Page[GroupBuyGroup] | None:
    """Only the customer themself reads their groups."""
    if ctx.customer_id != owner_id:
        return None
    wanted = None if status is None else GroupBuyStatus(status.value)
    return await groups.customer_groups(owner_id, wanted, first, after)


async def campaign_nodes(ctx: Context, ids: list[int]) -> list[GroupBuyCampaign | None]:
    return list(await ctx.loaders.group_buy_campaign.load_many(ids))


async def group_nodes(ctx: Context, ids: list[int]) -> list[GroupBuyGroup | None]:
    return list(await ctx.loaders.group_buy.load_many(ids))


async def order_group(ctx: Context, order: Order) -> GroupBuyGroup | None:
    """The group of a GROUP_BUY order (the caller may read the order: it is theirs, or they are staff)."""
    if order.kind != OrderKind.GROUP_BUY:
        return None
    return await ctx.loaders.group_buy_by_order.load(order.id)
