"""The order lifecycle: every allowed status change, in one table, guarded by one function."""

from __future__ import annotations

from tortoise.timezone import now

from domain import raw_sql
from domain.errors import DomainError, ErrorCode
from domain.orders.models import Order, OrderStatus

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.REFUNDING, S.COMPLETED}),
    S.SHIPPED: frozenset({S.COMPLETED, S.REFUNDING}),
    S.COMPLETED: frozenset({S.REFUNDING}),
    S.CANCELLED: frozenset({S.PAID, S.REFUNDING}),
    S.REFUNDING: frozenset({S.PAID, S.SHIPPED, S.COMPLETED, S.REFUNDED, S.CANCELLED}),
    S.REFUNDED: frozenset(),
}
REFUNDABLE = frozenset({S.PAID, S.SHIPPED, S.COMPLETED})
"""Where a refund may be opened from (the order then moves to REFUNDING and comes back when it settles)."""
TIMESTAMPS = {S.PAID: "paid_at", S.SHIPPED: "shipped_at", S.COMPLETED: "completed_at", S.CANCELLED: "cancelled_at"}


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


def invalid_state(order: Order, target: OrderStatus) -> DomainError:
    message = f"order {order.number} is {order.status.value} and cannot become {target.value}"
    return DomainError(ErrorCode.INVALID_STATE, message, ["orderId"])


async def move(order: Order, target: OrderStatus, **changes: object) -> None:
    """Change the order's status if the table allows it and nobody changed it meanwhile; else INVALID_STATE.

    The update is conditional on the status read, so two concurrent moves cannot both succeed.
    """
    current = order.status
    if not can_move(current, target):
        raise invalid_state(order, target)
    stamp = TIMESTAMPS.get(target)
    if stamp and stamp not in changes:
        changes[stamp] = now()
    updated = await raw_sql.update(Order, {"status": target, **changes}, id=order.id, status=current)
    if not updated:
        await order.refresh_from_db()
        raise invalid_state(order, target)
    order.status = target
    for name, value in changes.items():
        setattr(order, name, value)
