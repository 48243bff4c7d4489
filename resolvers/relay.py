"""Relays (接龙): the public list and joining it, the staff set-up and the pick list. Decode IDs, call the domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.catalog.models import Sku
from domain.errors import DomainError, DomainErrors, NotFound
from domain.orders.delivery import DeliveryChoice
from domain.orders.models import OrderLine, PickupPoint
from domain.orders.payment import Placed
from domain.pagination import Page
from domain.relay import entries, pick_list, relays
from domain.relay.entries import JoinRequest
from domain.relay.models import Relay, RelayEntry, RelayItem
from domain.relay.pick_list import PickGroup
from domain.relay.relays import ItemDraft, RelayChanges, RelayDraft, RelayStatus
from resolvers.context import Context
from resolvers.orders import _delivery, _lines, _within_checkout_rate, customer_id
from resolvers.outcome import Outcome, attempt, decode_id, given, now, under


@dataclass
class Joined:
    """An entry placed: its order and payment, and the relay it joined."""

    placed: Placed
    relay: Relay


def _items(items: Any) -> list[ItemDraft]:
    drafts: list[ItemDraft] = []
    errors: list[DomainError] = []
    for index, item in enumerate(items):
        try:
            drafts.append(ItemDraft(decode_id(item.sku_id, "Sku"), item.price, given(item.cap)))
        except NotFound:
            errors.append(NotFound("SKU", ["items", str(index), "skuId"]))
    if errors:
        raise DomainErrors(errors)
    return drafts


def _points(ids: Any) -> list[int] | None:
    if ids is None:
        return None
    points: list[int] = []
    for index, global_id in enumerate(ids):
        try:
            points.append(decode_id(global_id, "PickupPoint"))
        except NotFound:
            raise NotFound("pickup point", ["pickupPointIds", str(index)]) from None
    return points


def _story(data: Any) -> tuple[str | None, list[str] | None]:
    story = given(data.story)
    return (None, None) if story is None else (story.text, list(story.images))


async def relay_create(ctx: Context, data: Any) -> Outcome[Relay]:
    async def run() -> Relay:
        text, images = _story(data)
        draft = RelayDraft(
            title=data.title, starts_at=data.starts_at, deadline=data.deadline, items=_items(data.items),
            story=text or "", story_images=images, pickup_point_ids=_points(data.pickup_point_ids),
            address_delivery=data.address_delivery, min_units=data.min_units, max_units=data.max_units,
        )
        return await relays.create_relay(draft, now())

    return await attempt(run())


async def relay_update(ctx: Context, data: Any) -> Outcome[Relay]:
    async def run() -> Relay:
        text, images = _story(data)
        items = given(data.items)
        changes = RelayChanges(
            title=given(data.title), story=text, story_images=images, starts_at=given(data.starts_at),
            deadline=given(data.deadline), items=None if items is None else _items(items),
            pickup_point_ids=_points(given(data.pickup_point_ids)), address_delivery=given(data.address_delivery),
            min_units=given(data.min_units), max_units=given(data.max_units),
        )
        return await relays.update_relay(decode_id(data.id, "Relay"), changes, now())

    return await attempt(run())


async def relay_close(ctx: Context, data: Any) -> Outcome[Relay]:
    async def run() -> Relay:
        return await relays.close_relay(decode_id(data.id, "Relay"), now())

    return await attempt(run())


def _join_delivery(data: Any) -> DeliveryChoice:
    try:
        return _delivery(data)
    except NotFound as exc:
        raise under("delivery", exc) from None


async def relay_join(ctx: Context, data: Any) -> Outcome[Joined]:
    async def run() -> Joined:
        await _within_checkout_rate(ctx)  # a join holds stock like a checkout: the same per-customer pace
        request = JoinRequest(
            customer_id=customer_id(ctx),
            relay_id=decode_id(data.relay_id, "Relay", "relayId"),
            lines=_lines(data.lines) or [],
            delivery=_join_delivery(data.delivery),
            remark=data.remark,
            idempotency_key=data.idempotency_key,
            use_wallet=bool(data.use_wallet),
        )
        placed = await entries.join(ctx.services.orders, request)
        return Joined(placed, await relays.get_relay(request.relay_id))

    return await attempt(run())


async def relay(ctx: Context, global_id: Any) -> Relay | None:
    try:
        relay_id = decode_id(global_id, "Relay")
    except DomainError:
        return None
    return await ctx.loaders.relay.load(relay_id)


async def staff_relays(ctx: Context, first: int | None, after: str | None, status: Any) -> Page[Relay]:
    wanted = None if status is None else RelayStatus(status.value)
    return await relays.staff_relays(wanted, now(), first, after)


def relay_status(relay: Relay) -> RelayStatus:
    return relays.status(relay, now())


async def relay_entry_count(ctx: Context, relay: Relay) -> int:
    return await ctx.loaders.relay_entry_count.load(relay.id)


async def relay_items(ctx: Context, relay: Relay) -> list[RelayItem]:
    return await ctx.loaders.relay_items.load(relay.id)


async def relay_pickup_points(ctx: Context, relay: Relay) -> list[PickupPoint]:
    found = await ctx.loaders.pickup_point.load_many(relay.pickup_point_ids)
    return [point for point in found if point is not None]


async def relay_entries(ctx: Context, relay: Relay, first: int | None, after: str | None) -> Page[RelayEntry]:
    return await entries.public_entries(relay.id, first, after)


async def item_sku(ctx: Context, item: RelayItem) -> Sku | None:
    return await ctx.loaders.sku.load(item.sku_id)


async def entry_nickname(ctx: Context, entry: RelayEntry) -> str:
    return await ctx.loaders.masked_nickname.load(entry.customer_id)


async def entry_lines(ctx: Context, entry: RelayEntry) -> list[OrderLine]:
    return await ctx.loaders.order_lines.load(entry.order_id)


async def entry_cancelled(ctx: Context, entry: RelayEntry) -> bool:
    order = await ctx.loaders.order.load(entry.order_id)
    return order is not None and entries.is_cancelled(order.status)


async def relay_nodes(ctx: Context, ids: list[int]) -> list[Relay | None]:
    return list(await ctx.loaders.relay.load_many(ids))


async def entry_nodes(ctx: Context, ids: list[int]) -> list[RelayEntry | None]:
    return list(await ctx.loaders.relay_entry.load_many(ids))


@dataclass
class PickList:
    relay: Relay
    groups: list[PickGroup]


async def relay_pick_list(ctx: Context, global_id: Any) -> PickList | None:
    """Null for an unknown relay, like any object read by ID."""
    try:
        relay = await relays.get_relay(decode_id(global_id, "Relay", "relayId"))
    except DomainError:
        return None
    return PickList(relay, await pick_list.pick_list(relay))


async def group_pickup_point(ctx: Context, group: PickGroup) -> PickupPoint | None:
    return None if group.pickup_point_id is None else await ctx.loaders.pickup_point.load(group.pickup_point_id)
