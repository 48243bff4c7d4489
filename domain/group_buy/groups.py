"""Groups: a leader starts one (`start`), others join it (`join`), anyone reads it.

Both place a GROUP_BUY order through the checkout (`domain.orders.checkout`) with a `Placement` that prices the
order at the group (or leader) price and takes the seat: the leader's seat is written with the group, a member's
seat is taken first in the seat store (`domain.group_buy.seats`, before the order's transaction, so a full group
answers GROUP_FULL without touching PostgreSQL) and then again in the database under the group's row lock.
Everything that can be checked without holding a seat is checked first: a bad request never holds one.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.expressions import F, Q, Subquery

from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.group_buy import states
from domain.group_buy.campaigns import running_item
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyItem, GroupBuySeat, GroupStatus, SeatState
from domain.group_buy.policy import group_buy_policy, locked_group
from domain.group_buy.seats import GroupSeats, Take
from domain.identity.queries import mask_nickname
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.holders import holder_of
from domain.orders.models import Order, OrderKind
from domain.orders.payment import Placed, first_payment
from domain.pagination import Page, paginate
from domain.pricing import engine

SHARE_CODE_LENGTH = 12
SHARE_CODE_ALPHABET = string.digits + string.ascii_letters
MAX_SHARE_CODE = 32
RELOADS = 3
"""Times a join loads a group the seat store lost (Redis flushed) before it leaves the decision to the database."""
STORE_KEEPS = timedelta(days=1)
"""How long after a group's expiry the seat store may keep it."""


class GroupBuyStatus(StrEnum):
    """A group as customers see it (a group whose leader has not paid is not shown at all)."""

    FORMING = "FORMING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


_SHOWN_AS = {GroupStatus.OPENING: GroupBuyStatus.FORMING, GroupStatus.ABANDONED: GroupBuyStatus.FAILED}


def public_status(group: GroupBuyGroup) -> GroupBuyStatus:
    """Only `groupBuyStart`'s payload shows a group that has not opened (to its leader): as FORMING (no seat free
    yet), and one whose leader never paid as FAILED."""
    return _SHOWN_AS.get(group.status) or GroupBuyStatus(group.status.value)


def new_share_code() -> str:
    return "".join(secrets.choice(SHARE_CODE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


@dataclass(frozen=True)
class StartRequest:
    customer_id: int
    campaign_id: int
    sku_id: int
    quantity: int
    delivery: DeliveryChoice
    idempotency_key: str | None = None
    use_wallet: bool = False


@dataclass(frozen=True)
class JoinRequest:
    customer_id: int
    sku_id: int
    quantity: int
    delivery: DeliveryChoice
    group_id: int | None = None
    share_code: str | None = None
    idempotency_key: str | None = None
    use_wallet: bool = False


@dataclass
class GroupPlaced:
    placed: Placed
    group: GroupBuyGroup


async def _check_units(campaign: GroupBuyCampaign, customer_id: int, quantity: int) -> None:
    if not 1 <= quantity <= campaign.per_order_max:
        if quantity < 1:
            raise Invalid("quantity must be at least 1", ["quantity"])
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {campaign.per_order_max} per order", ["quantity"])
    _check_limit(campaign, await states.units_taken(campaign.id, customer_id), quantity)


def _check_limit(campaign: GroupBuyCampaign, taken: int, quantity: int) -> None:
    """`taken`: units the customer holds or bought in the campaign (`units_taken`)."""
    if taken + quantity > campaign.per_customer_limit:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {campaign.per_customer_limit} per customer in this "
                          f"campaign ({taken} taken)", ["quantity"])


def _check_key(key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= 64:
        raise Invalid("idempotencyKey must be 1 to 64 characters", ["idempotencyKey"])


async def _replayed(deps: OrderDeps, customer_id: int, key: str | None) -> GroupPlaced | None:
    """A repeated request (same idempotency key) answers with the first order and its group, checking nothing."""
    if not key:
        return None
    order = await Order.get_or_none(customer_id=customer_id, idempotency_key=key)
    if order is None:
        return None
    if not await GroupBuySeat.exists(order_id=order.id):
        raise _key_taken()
    return GroupPlaced(await first_payment(deps, order), await _group_of(order))


def _key_taken() -> DomainError:
    return DomainError(ErrorCode.DUPLICATE, "this idempotencyKey was used for another order", ["idempotencyKey"])


async def _placed(deps: OrderDeps, request: CheckoutRequest, placement: LeaderPlacement | MemberPlacement
                  ) -> GroupPlaced:
    """Checkout with the mode's placement; its errors name this mutation's fields (skuId, not lines)."""
    try:
        placed = await checkout(deps, request)
    except DomainError as exc:
        if exc.field and exc.field[0] == "lines":
            exc.field = ["skuId"]
        raise
    if placement.group is not None and placed.order.id == placement.order_id:
        if placed.order.paid_at is not None:  # paid at once (by the wallet): the group has moved since it was read
            await placement.group.refresh_from_db()
        return GroupPlaced(placed, placement.group)  # written by this call: its group is known
    if not await GroupBuySeat.exists(order_id=placed.order.id):  # a concurrent checkout took the key first
        raise _key_taken()
    return GroupPlaced(placed, await _group_of(placed.order))


@dataclass
class LeaderPlacement:
    """The leader's order: the group is written with it (not visible until the leader pays)."""

    campaign: GroupBuyCampaign
    item: GroupBuyItem
    customer_id: int
    quantity: int
    kind: OrderKind = OrderKind.GROUP_BUY
    group: GroupBuyGroup | None = None
    """The group written with the order (set by `write`)."""
    order_id: int | None = None

    def sources(self) -> Mapping[int, Sequence[engine.PriceSource]]:
        found = [engine.PriceSource("GROUP_BUY", self.campaign.id, self.item.group_price)]
        if self.item.leader_price is not None:
            found.append(engine.PriceSource("GROUP_LEADER", self.campaign.id, self.item.leader_price))
        return {self.item.sku_id: found}

    async def admit(self, deps: OrderDeps, holder: str) -> None:
        """Nothing to take: the group does not exist before its leader's order."""

    async def give_back(self, deps: OrderDeps, holder: str) -> None:
        """Nothing was taken."""

    async def write(self, order: Order, quote: engine.Quote) -> None:
        await _check_units(self.campaign, self.customer_id, self.quantity)  # again, the customer's row locked
        group = await GroupBuyGroup.create(campaign_id=self.campaign.id, leader_id=self.customer_id,
                                           share_code=new_share_code(), required_size=self.campaign.group_size)
        await GroupBuySeat.create(group_id=group.id, customer_id=self.customer_id, order_id=order.id,
                                  campaign_id=self.campaign.id, sku_id=self.item.sku_id, quantity=self.quantity,
                                  leader=True, live_customer_id=self.customer_id)
        self.group, self.order_id = group, order.id


async def start(deps: OrderDeps, request: StartRequest, now: datetime) -> GroupPlaced:
    _check_key(request.idempotency_key)
    replay = await _replayed(deps, request.customer_id, request.idempotency_key)
    if replay is not None:
        return replay
    campaign, item = await running_item(request.campaign_id, request.sku_id, now, "campaignId")
    await _check_units(campaign, request.customer_id, request.quantity)
    placement = LeaderPlacement(campaign, item, request.customer_id, request.quantity)
    return await _placed(deps, CheckoutRequest(
        customer_id=request.customer_id, delivery=request.delivery, lines=[(item.sku_id, request.quantity)],
        idempotency_key=request.idempotency_key, use_wallet=request.use_wallet, mode=placement,
    ), placement)


async def _group_of(order: Order) -> GroupBuyGroup:
    seat = await GroupBuySeat.get(order_id=order.id)
    return await GroupBuyGroup.get(id=seat.group_id)


_REFUSED = {
    Take.CLOSED: (ErrorCode.GROUP_CLOSED, "the group is no longer forming"),
    Take.DUPLICATE: (ErrorCode.DUPLICATE, "you already hold a seat in this group"),
    Take.FULL: (ErrorCode.GROUP_FULL, "the group is full"),
}


async def database_seats(group: GroupBuyGroup, now: datetime) -> GroupSeats:
    """What the seat store should hold for the group, from the database."""
    seats = await GroupBuySeat.filter(group_id=group.id, state__in=states.LIVE_SEATS).select_related("order")
    expires = group.expires_at or now
    return GroupSeats(group_id=group.id, size=group.required_size, forming=group.status is GroupStatus.FORMING,
                      expire_at_ms=int((max(expires, now) + STORE_KEEPS).timestamp() * 1000),
                      holders={holder_of(seat.order): seat.customer_id for seat in seats})


@dataclass
class MemberPlacement:
    """A member's order: the seat is taken in the seat store first, then under the group's row lock."""

    group: GroupBuyGroup
    item: GroupBuyItem
    campaign: GroupBuyCampaign
    customer_id: int
    quantity: int
    now: datetime
    kind: OrderKind = OrderKind.GROUP_BUY
    took: bool = False
    order_id: int | None = None
    """The order `write` seated (this call's own, not a double tap's twin's)."""

    def sources(self) -> Mapping[int, Sequence[engine.PriceSource]]:
        return {self.item.sku_id: [engine.PriceSource("GROUP_BUY", self.campaign.id, self.item.group_price)]}

    async def admit(self, deps: OrderDeps, holder: str) -> None:
        store = group_buy_policy(deps).seats
        taken = await store.take(self.group.id, self.customer_id, holder)
        for _ in range(RELOADS):
            if taken is not Take.MISSING:
                break
            await store.load(await database_seats(await GroupBuyGroup.get(id=self.group.id), self.now))
            taken = await store.take(self.group.id, self.customer_id, holder)
        if taken is Take.MISSING:
            return  # the store keeps losing the group (Redis flushed again and again): the database decides alone
        if taken in _REFUSED:
            code, message = _REFUSED[taken]
            raise DomainError(code, message, ["groupId"])
        self.took = taken is Take.OK  # HELD: a double tap's twin holds it, and gives it back if it must

    async def give_back(self, deps: OrderDeps, holder: str) -> None:
        if self.took:
            await group_buy_policy(deps).seats.give_back(self.group.id, holder)
            self.took = False

    async def write(self, order: Order, quote: engine.Quote) -> None:
        """The database's guard: the group still forming, the customer without a live seat in it, a seat free."""
        group = await locked_group(self.group.id)
        if group.status is not GroupStatus.FORMING:
            raise DomainError(ErrorCode.GROUP_CLOSED, "the group is no longer forming", ["groupId"])
        # One statement for the group's live seats and the customer's in the campaign (the limit, again)
        live = await GroupBuySeat.filter(Q(group_id=group.id) | Q(campaign_id=self.campaign.id,
                                                                  customer_id=self.customer_id),
                                         state__in=states.LIVE_SEATS) \
            .values_list("group_id", "customer_id", "quantity", "group__status")
        seated = [customer for group_id, customer, _, _ in live if group_id == group.id]
        if self.customer_id in seated:
            raise DomainError(ErrorCode.DUPLICATE, "you already hold a seat in this group", ["groupId"])
        if len(seated) >= group.required_size:
            raise DomainError(ErrorCode.GROUP_FULL, "the group is full", ["groupId"])
        taken = sum(quantity for _, customer, quantity, status in live
                    if customer == self.customer_id and status != states.NOT_COUNTED_FOR_LIMIT)
        _check_limit(self.campaign, taken, self.quantity)
        await GroupBuySeat.create(group_id=group.id, customer_id=self.customer_id, order_id=order.id,
                                  campaign_id=self.campaign.id, sku_id=self.item.sku_id, quantity=self.quantity,
                                  live_customer_id=self.customer_id)
        self.group, self.order_id = group, order.id


async def _joinable(request: JoinRequest, now: datetime) -> GroupBuyGroup:
    if (request.group_id is None) == (request.share_code is None):
        raise Invalid("give either groupId or shareCode", ["groupId"])
    if request.share_code is not None:
        code = request.share_code
        valid = 1 <= len(code) <= MAX_SHARE_CODE and all(c in SHARE_CODE_ALPHABET for c in code)
        group = await GroupBuyGroup.get_or_none(share_code=code) if valid else None
        where = ["shareCode"]
    else:
        group = await GroupBuyGroup.get_or_none(id=request.group_id)
        where = ["groupId"]
    if group is None or group.status not in states.VISIBLE:
        raise NotFound("group", where)
    if group.status is not GroupStatus.FORMING or (group.expires_at is not None and group.expires_at <= now):
        raise DomainError(ErrorCode.GROUP_CLOSED, "the group is no longer forming", where)
    return group


async def join(deps: OrderDeps, request: JoinRequest, now: datetime) -> GroupPlaced:
    _check_key(request.idempotency_key)
    replay = await _replayed(deps, request.customer_id, request.idempotency_key)
    if replay is not None:
        return replay
    group = await _joinable(request, now)
    campaign, item = await running_item(group.campaign_id, request.sku_id, now, "groupId")
    await _check_units(campaign, request.customer_id, request.quantity)
    placement = MemberPlacement(group, item, campaign, request.customer_id, request.quantity, now)
    return await _placed(deps, CheckoutRequest(
        customer_id=request.customer_id, delivery=request.delivery, lines=[(item.sku_id, request.quantity)],
        idempotency_key=request.idempotency_key, use_wallet=request.use_wallet, mode=placement,
    ), placement)


# Reading.


@dataclass(frozen=True)
class Member:
    """A paid seat, or a seat the virtual fill shows as filled (never charged, never refunded)."""

    nickname: str
    avatar_url: str
    leader: bool
    virtual: bool
    joined_at: datetime | None


def members(group: GroupBuyGroup, seats: Sequence[GroupBuySeat]) -> list[Member]:
    """The paid seats, leader first, then the virtual ones; nicknames masked (张**)."""
    paid = sorted((s for s in seats if s.state is SeatState.PAID), key=lambda s: (not s.leader, s.paid_at, s.id))
    shown = [Member(mask_nickname(s.customer.nickname), s.customer.avatar_url, s.leader, False, s.paid_at)
             for s in paid]
    return shown + [Member(mask_nickname(""), "", False, True, None) for _ in range(group.virtual_seats)]


def seats_left(group: GroupBuyGroup, seats: Sequence[GroupBuySeat]) -> int:
    """Seats a customer could still take: only while the group forms."""
    if group.status is not GroupStatus.FORMING:
        return 0
    return max(group.required_size - sum(1 for s in seats if s.state in states.LIVE_SEATS), 0)


async def groups_by_id(ids: Sequence[int]) -> dict[int, GroupBuyGroup]:
    """Groups anyone may see (a group whose leader never paid is not one)."""
    return {g.id: g for g in await GroupBuyGroup.filter(id__in=list(ids), status__in=states.VISIBLE)}


async def seats_by_group(group_ids: Sequence[int]) -> dict[int, list[GroupBuySeat]]:
    """The held and paid seats of each group, with their customers (one query)."""
    grouped: dict[int, list[GroupBuySeat]] = {}
    for seat in await GroupBuySeat.filter(group_id__in=list(group_ids), state__in=states.LIVE_SEATS) \
            .select_related("customer").order_by("id"):
        grouped.setdefault(seat.group_id, []).append(seat)
    return grouped


async def open_groups(campaign_ids: Sequence[int], first: int) -> dict[int, list[GroupBuyGroup]]:
    """Each campaign's forming groups, closest to full first (then the soonest to expire), at most `first` each, in
    one query (a product page asks for one campaign: the database returns only those)."""
    forming = GroupBuyGroup.filter(campaign_id__in=list(campaign_ids), status=GroupStatus.FORMING).annotate(
        seats_to_fill=F("required_size") - F("paid_count")).order_by("seats_to_fill", "expires_at", "id")
    if len(campaign_ids) == 1:
        forming = forming.limit(first)
    grouped: dict[int, list[GroupBuyGroup]] = {}
    for group in await forming:
        chosen = grouped.setdefault(group.campaign_id, [])
        if len(chosen) < first:
            chosen.append(group)
    return grouped


async def customer_groups(customer_id: int, wanted: GroupBuyStatus | None, first: int | None,
                          after: str | None) -> Page[GroupBuyGroup]:
    """The groups the customer holds a seat in (held or paid), newest first."""
    mine = GroupBuySeat.filter(customer_id=customer_id, state__in=states.LIVE_SEATS).values("group_id")
    query = GroupBuyGroup.filter(id__in=Subquery(mine), status__in=states.VISIBLE)
    if wanted is not None:
        query = query.filter(status=GroupStatus(wanted.value))
    return await paginate(query, ("id",), first, after, descending=True)


async def group_by_order(order_ids: Sequence[int]) -> dict[int, GroupBuyGroup]:
    """The group each group-buy order holds a seat in (for `Order.groupBuy`)."""
    seats = await GroupBuySeat.filter(order_id__in=list(order_ids)).select_related("group")
    return {seat.order_id: seat.group for seat in seats if seat.group.status in states.VISIBLE}
