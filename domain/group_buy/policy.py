"""What a GROUP_BUY order means at each step: its seat in a group, and the group's outcome.

A group-buy order holds one seat (`GroupBuySeat`) besides its units. Paying it pays the seat; the leader's payment
opens the group, the N-th paid seat makes it succeed (in the payment's transaction, the group's row locked, so
exactly one payment does). Until the group has succeeded its paid orders can neither ship nor be refunded on
request; a group that fails is refunded by the sweep (`domain.group_buy.sweep`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

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


async def seat_of(order: Order) -> GroupBuySeat:
    seat = await GroupBuySeat.get_or_none(order_id=order.id)
    if seat is None:
        raise LookupError(f"group-buy order {order.number} has no seat")
    return seat


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
        """The units come back, and so does the seat; a leader who never paid leaves no group."""
        await super().release_units(order)
        seat = await seat_of(order)
        group = await locked_group(seat.group_id)
        await states.move_seat(seat, SeatState.RELEASED)
        if seat.leader and group.status is GroupStatus.OPENING:
            await states.move(group, GroupStatus.ABANDONED, order.cancelled_at or order.updated_at)

    async def retake_units(self, order: Order) -> None:
        """A late payment takes the seat again only if the group still forms, has a free seat and the customer
        holds no other seat in it. The units first: the SKU rows are locked before the group's row, as everywhere."""
        await super().retake_units(order)
        seat = await seat_of(order)
        group = await locked_group(seat.group_id)
        if seat.state is not SeatState.RELEASED or group.status is not GroupStatus.FORMING:
            raise CannotRevive(f"group {group.id} is {group.status.value}")
        if await live_seats(group.id) >= group.required_size:
            raise CannotRevive(f"group {group.id} is full")
        if await GroupBuySeat.filter(group_id=group.id, live_customer_id=seat.customer_id).exists():
            raise CannotRevive(f"the customer holds another seat in group {group.id}")
        await states.move_seat(seat, SeatState.HELD)

    async def accepts_payment(self, order: Order) -> bool:
        """A leader's payment opens the group; a member's counts only while the group forms (a payment that arrives
        after the group closed is given back).

        Read without locking the group: the payment locks the SKU rows (commit_units) after this, and the group's
        row only then (on_paid), the order checkout and cancelling take them in. A group that closes in between is
        settled by `on_paid` (a virtual seat becomes the real one) or by the sweep (a failed group's paid seats)."""
        seat = await seat_of(order)
        group = await GroupBuyGroup.get(id=seat.group_id)
        wanted = GroupStatus.OPENING if seat.leader else GroupStatus.FORMING
        return seat.state is SeatState.HELD and group.status is wanted

    async def on_paid(self, deps: OrderDeps, order: Order) -> None:
        """The seat is paid. The leader's payment opens the group (its expiry runs from now, never past the
        campaign's end); the N-th paid seat makes it succeed."""
        now = deps.clock()
        seat = await seat_of(order)
        group = await locked_group(seat.group_id)
        await states.move_seat(seat, SeatState.PAID, paid_at=now)
        paid = await GroupBuySeat.filter(group_id=group.id, state=SeatState.PAID).count()
        if group.status is GroupStatus.OPENING and seat.leader:
            campaign = await GroupBuyCampaign.get(id=group.campaign_id)
            expires_at = min(now + timedelta(hours=campaign.group_hours), closes_at(campaign))
            await states.move(group, GroupStatus.FORMING, now, opened_at=now, expires_at=expires_at, paid_count=paid)
        elif group.status is GroupStatus.FORMING:
            if paid >= group.required_size:
                await states.move(group, GroupStatus.SUCCEEDED, now, paid_count=paid)
            else:
                await GroupBuyGroup.filter(id=group.id).update(paid_count=paid)
        elif group.status is GroupStatus.SUCCEEDED and group.virtual_seats > 0:
            # Paid while the sweep filled the group virtually: a real member takes one of the virtual seats.
            await GroupBuyGroup.filter(id=group.id).update(paid_count=paid,
                                                           virtual_seats=max(group.required_size - paid, 0))

    def goods_come_back(self, order: Order, refund: Refund) -> bool:
        """A failed group's refunds put the units back on sale: nothing ever shipped."""
        return refund.requested_by == GROUP_FAILED or super().goods_come_back(order, refund)

    # After the transaction committed.

    async def after_paid(self, deps: OrderDeps, order: Order) -> None:
        """A group that has just closed is forgotten by the seat store: the next join reads GROUP_CLOSED."""
        await super().after_paid(deps, order)
        seat = await seat_of(order)
        if await GroupBuyGroup.filter(id=seat.group_id, status__in=states.CLOSED).exists():
            await self.seats.drop(seat.group_id)

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
    policy = deps.policy(OrderKind.GROUP_BUY)
    if not isinstance(policy, GroupBuyPolicy):
        raise LookupError("the GROUP_BUY policy is not a GroupBuyPolicy: see domain.selling.order_policies")
    return policy
