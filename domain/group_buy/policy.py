"""What a GROUP_BUY order means at each step: its seat in a group, and the group's outcome.

A group-buy order holds one seat (`GroupBuySeat`) besides its units. Paying it pays the seat; the leader's payment
opens the group, the N-th paid seat makes it succeed (in the payment's transaction, the group's row locked, so
exactly one payment does). Until the group has succeeded its paid orders can neither ship nor be refunded on
request; a group that fails is refunded by the sweep (`domain.group_buy.sweep`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from domain.columns import column
from domain.errors import DomainError, ErrorCode
from domain.group_buy import states
from domain.group_buy.campaigns import closes_at
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuySeat, GroupStatus, SeatState
from domain.group_buy.seats import SeatStore
from domain.orders.holders import holder_of
from domain.orders.kinds import CannotRevive, KindPolicy
from domain.orders.models import Order, OrderKind, Refund

if TYPE_CHECKING:
    from domain.orders.deps import OrderDeps

GROUP_FAILED = "system:group-buy"
"""Who opens the refund of a paid seat whose group failed (`Refund.requested_by`)."""


async def confirm_members(deps: OrderDeps, group: GroupBuyGroup) -> None:
    """The group succeeded (inside that transaction): every paid member's sale is final (`OrderEvents.confirmed`)."""
    order_ids = await column(GroupBuySeat.filter(group_id=group.id, state=SeatState.PAID).order_by("id"),
                             "order_id", int)
    for order in await Order.filter(id__in=order_ids).order_by("id"):
        await deps.events.confirmed(order)


async def seat_of(order: Order) -> GroupBuySeat:
    seat = await GroupBuySeat.get_or_none(order_id=order.id)
    if seat is None:
        raise LookupError(f"group-buy order {order.number} has no seat")
    return seat


async def locked_seat(order: Order) -> tuple[GroupBuySeat, GroupBuyGroup]:
    """The order's seat, and its group locked for the rest of the transaction."""
    seat = await seat_of(order)
    return seat, await locked_group(seat.group_id)


async def locked_group(group_id: int) -> GroupBuyGroup:
    """The group's row, locked for the rest of the transaction: one seat or outcome change at a time."""
    return await GroupBuyGroup.filter(id=group_id).select_for_update().get()


async def live_seats(group_id: int) -> int:
    return await GroupBuySeat.filter(group_id=group_id, state__in=states.LIVE_SEATS).count()


def still_forming(group: GroupBuyGroup, paid: int) -> DomainError:
    left = max(group.required_size - paid, 0)
    return DomainError(ErrorCode.INVALID_STATE, f"the group is still forming: {left} seats to fill", ["orderId"])


class GroupBuyPolicy(KindPolicy):
    kind = OrderKind.GROUP_BUY
    takes_order_promotions = False

    def __init__(self, seats: SeatStore, payment_minutes: int = 5) -> None:
        self.seats = seats
        self.payment_minutes = payment_minutes

    def payment_window(self, deps: OrderDeps) -> timedelta:
        """Short, so an unpaid seat comes back while the group can still fill it."""
        return timedelta(minutes=self.payment_minutes)

    # Inside the order's transaction.

    async def release_units(self, order: Order) -> None:
        """The seat comes back, and so do the units; a leader who never paid leaves no group. (The group's row is
        locked before the SKU's, in this order everywhere: see `domain.orders.kinds`.)"""
        seat, group = await locked_seat(order)
        await states.move_seat(seat, SeatState.RELEASED)
        if seat.leader and group.status is GroupStatus.OPENING:
            await states.move(group, GroupStatus.ABANDONED, order.cancelled_at or order.updated_at)
        await super().release_units(order)

    async def retake_units(self, order: Order) -> None:
        """A late payment takes the seat again only if the group still forms, has a free seat and the customer
        holds no other seat in it."""
        seat, group = await locked_seat(order)
        if seat.state is not SeatState.RELEASED or group.status is not GroupStatus.FORMING:
            raise CannotRevive(f"group {group.id} is {group.status.value}")
        if await live_seats(group.id) >= group.required_size:
            raise CannotRevive(f"group {group.id} is full")
        if await GroupBuySeat.filter(group_id=group.id, live_customer_id=seat.customer_id).exists():
            raise CannotRevive(f"the customer holds another seat in group {group.id}")
        campaign = await GroupBuyCampaign.get(id=group.campaign_id)
        if await states.units_taken(campaign.id, seat.customer_id) + seat.quantity > campaign.per_customer_limit:
            raise CannotRevive(f"the customer reached campaign {campaign.id}'s per-customer limit meanwhile")
        await states.move_seat(seat, SeatState.HELD)
        await super().retake_units(order)

    async def take_payment(self, deps: OrderDeps, order: Order) -> bool:
        """The seat is paid, if its group still takes it: the leader's payment opens the group (its expiry runs from
        now, never past the campaign's end), a member's counts only while the group forms, and the N-th paid seat
        makes it succeed. A payment that arrives after the group closed is refused (and given back).

        The group's row is locked, so its `paid_count` is exact while it forms: it counts this seat in one step."""
        now = deps.clock()
        seat, group = await locked_seat(order)
        wanted = GroupStatus.OPENING if seat.leader else GroupStatus.FORMING
        if seat.state is not SeatState.HELD or group.status is not wanted:
            return False
        await states.move_seat(seat, SeatState.PAID, paid_at=now)
        paid = group.paid_count + 1
        if group.status is GroupStatus.OPENING:
            campaign = await GroupBuyCampaign.get(id=group.campaign_id)
            expires_at = min(now + timedelta(hours=campaign.group_hours), closes_at(campaign))
            await states.move(group, GroupStatus.FORMING, now, opened_at=now, expires_at=expires_at, paid_count=paid)
        elif group.status is GroupStatus.FORMING:
            if paid >= group.required_size:
                await states.move(group, GroupStatus.SUCCEEDED, now, paid_count=paid)
            else:
                await GroupBuyGroup.filter(id=group.id).update(paid_count=paid)
        return True

    async def confirm_sale(self, deps: OrderDeps, order: Order) -> None:
        """The sale is final only when the group succeeds: the payment that filled it confirms every paid member
        (the sweep does for a virtual fill)."""
        group = await GroupBuyGroup.get(id=(await seat_of(order)).group_id)
        if group.status is GroupStatus.SUCCEEDED:
            await confirm_members(deps, group)

    def goods_come_back(self, order: Order, refund: Refund) -> bool:
        """A failed group's refunds put the units back on sale: nothing ever shipped."""
        return refund.requested_by == GROUP_FAILED or super().goods_come_back(order, refund)

    # After the transaction committed.

    async def after_released(self, deps: OrderDeps, order: Order) -> None:
        await super().after_released(deps, order)
        seat = await seat_of(order)
        await self.seats.give_back(seat.group_id, holder_of(order))

    # Rules.

    async def check_fulfilment(self, order: Order) -> None:
        seat = await seat_of(order)
        group = await GroupBuyGroup.get(id=seat.group_id)
        if group.status is GroupStatus.SUCCEEDED:
            return
        if group.status is GroupStatus.FAILED:
            raise DomainError(ErrorCode.INVALID_STATE, "the group failed: the order is refunded", ["orderId"])
        raise still_forming(group, group.paid_count)

    async def check_refund(self, order: Order) -> None:
        seat = await seat_of(order)
        group = await GroupBuyGroup.get(id=seat.group_id)
        if group.status in (GroupStatus.OPENING, GroupStatus.FORMING):
            raise DomainError(ErrorCode.INVALID_STATE, "a paid seat cannot be refunded while its group is forming: "
                              "if the group fails, every paid seat is refunded in full", ["orderId"])


def group_buy_policy(deps: OrderDeps) -> GroupBuyPolicy:
    """The GROUP_BUY policy the server wired, with the seat store."""
    return deps.policy_as(OrderKind.GROUP_BUY, GroupBuyPolicy)
