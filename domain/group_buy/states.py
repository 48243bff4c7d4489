"""A group's life and a seat's life: every allowed change, in one table each, guarded by one function each.

    OPENING ──leader paid──▶ FORMING ──N-th seat paid, or virtual fill at expiry──▶ SUCCEEDED
       │                        └──expired below N (and below the virtual fill)──▶ FAILED
       └──leader's order cancelled or expired──▶ ABANDONED (never listed)

    HELD ──paid──▶ PAID            HELD ──order cancelled or expired──▶ RELEASED ──paid late, seat still free──▶ HELD
"""

from __future__ import annotations

from datetime import datetime

from domain.columns import column
from domain.errors import DomainError, ErrorCode
from domain.group_buy.models import GroupBuyGroup, GroupBuySeat, GroupStatus, SeatState

G = GroupStatus
TRANSITIONS: dict[GroupStatus, frozenset[GroupStatus]] = {
    G.OPENING: frozenset({G.FORMING, G.ABANDONED}),
    G.FORMING: frozenset({G.SUCCEEDED, G.FAILED}),
    G.SUCCEEDED: frozenset(),
    G.FAILED: frozenset(),
    G.ABANDONED: frozenset(),
}
VISIBLE = (G.FORMING, G.SUCCEEDED, G.FAILED)
"""The statuses anyone is shown: a group that never opened does not exist for customers."""
CLOSED = (G.SUCCEEDED, G.FAILED, G.ABANDONED)

S = SeatState
SEAT_TRANSITIONS: dict[SeatState, frozenset[SeatState]] = {
    S.HELD: frozenset({S.PAID, S.RELEASED}),
    S.RELEASED: frozenset({S.HELD}),
    S.PAID: frozenset(),
}
LIVE_SEATS = (S.HELD, S.PAID)
NOT_COUNTED_FOR_LIMIT = G.FAILED
"""A failed group's seats no longer count toward the campaign's per-customer limit."""
"""Seats that count against a group's size and a customer's limit."""


def can_move(current: GroupStatus, target: GroupStatus) -> bool:
    return target in TRANSITIONS[current]


async def move(group: GroupBuyGroup, target: GroupStatus, at: datetime, **changes: object) -> None:
    """Change the group's status if the table allows it and nobody changed it meanwhile; else INVALID_STATE.
    Closing stamps `closed_at`."""
    current = group.status
    if not can_move(current, target):
        raise DomainError(ErrorCode.INVALID_STATE, f"a {current.value} group cannot become {target.value}")
    if target in CLOSED:
        changes.setdefault("closed_at", at)
    if not await GroupBuyGroup.filter(id=group.id, status=current).update(status=target, **changes):
        await group.refresh_from_db()
        raise DomainError(ErrorCode.INVALID_STATE, f"a {group.status.value} group cannot become {target.value}")
    group.status = target
    for name, value in changes.items():
        setattr(group, name, value)


async def move_seat(seat: GroupBuySeat, target: SeatState, **changes: object) -> bool:
    """Change the seat's state if the table allows it and nobody changed it meanwhile. A live seat names its
    customer in `live_customer_id` (one live seat per customer and group), a released one does not."""
    current = seat.state
    if target not in SEAT_TRANSITIONS[current]:
        return False
    changes["live_customer_id"] = seat.customer_id if target in LIVE_SEATS else None
    if not await GroupBuySeat.filter(id=seat.id, state=current).update(state=target, **changes):
        await seat.refresh_from_db()
        return False
    seat.state = target
    for name, value in changes.items():
        setattr(seat, name, value)
    return True


async def units_taken(campaign_id: int, customer_id: int) -> int:
    """Units the customer holds (unpaid) or bought in the campaign; a failed group's seats no longer count."""
    units = await column(
        GroupBuySeat.filter(campaign_id=campaign_id, customer_id=customer_id, state__in=LIVE_SEATS)
        .exclude(group__status=NOT_COUNTED_FOR_LIMIT), "quantity", int)
    return sum(units)
