"""Pickup codes (核销): the 6-digit code a paid order delivered to a pickup point is handed over against.

A code is drawn in the payment's transaction. The database keeps it unique among the orders waiting to be picked up
(`PickupCode.waiting_code`); a draw that collides tries another, and a code held by an order that no longer waits
(refunded, cancelled) is freed on the way. Verifying hands the order over once: PAID → COMPLETED, with who and when.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from tortoise.timezone import now
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.orders import states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, PickupCode

CODE = re.compile(r"^[0-9]{6}$")
DRAWS = 20
WAITING = (OrderStatus.PAID, OrderStatus.REFUNDING)
"""An order in these states may still be handed over (a refund may be rejected), so it keeps its code."""


def _draw() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def issue(order: Order) -> str | None:
    """Inside the payment's transaction: the order's code if it is collected at a pickup point (drawn once)."""
    if order.pickup_point_id is None:
        return None
    created_at = raw_sql.db_value(PickupCode, "created_at", now())
    for _ in range(DRAWS):
        code = _draw()
        # One statement, no savepoint: a code another waiting order holds (or this order's own code) inserts nothing.
        if await raw_sql.fetch(
            "INSERT INTO orders_pickup_code (order_id, code, waiting_code, picked_up_by, created_at)"
            " VALUES ($1, $2, $3, '', $4) ON CONFLICT DO NOTHING RETURNING id", order.id, code, code, created_at):
            return code
        existing = await PickupCode.get_or_none(order_id=order.id)
        if existing is not None:
            return existing.code
        await _free_if_stale(code)
    raise RuntimeError(f"no free pickup code in {DRAWS} draws")


async def _free_if_stale(code: str) -> None:
    """The order holding `code` no longer waits to be picked up (refunded or cancelled): the code is free again."""
    holder = await PickupCode.get_or_none(waiting_code=code)
    if holder is None:
        return
    if not await Order.filter(id=holder.order_id, status__in=WAITING).exists():
        await PickupCode.filter(id=holder.id, waiting_code=code).update(waiting_code=None)


def _already(row: PickupCode) -> DomainError:
    at = row.picked_up_at.isoformat() if row.picked_up_at else "an earlier time"
    return DomainError(ErrorCode.INVALID_STATE, f"already picked up at {at}", ["pickupCode"])


async def verify(deps: OrderDeps, code: str, actor: str, at: datetime) -> Order:
    """Staff hand the order over at the pickup point: it must be PAID and may be fulfilled (its kind's rule)."""
    code = code.strip()
    if not CODE.match(code):
        raise Invalid("a pickup code is 6 digits", ["pickupCode"])
    async with in_transaction():
        row = await PickupCode.filter(waiting_code=code).select_for_update().get_or_none()
        if row is None:
            picked = await PickupCode.filter(code=code, picked_up_at__isnull=False).order_by("-picked_up_at").first()
            if picked is not None:
                raise _already(picked)
            raise NotFound("pickup code", ["pickupCode"])
        order = await Order.filter(id=row.order_id).select_for_update().get()
        if order.status != OrderStatus.PAID:
            message = f"order {order.number} is {order.status.value}: it cannot be handed over"
            raise DomainError(ErrorCode.INVALID_STATE, message, ["pickupCode"])
        await deps.policy(order.kind).check_fulfilment(order)
        await states.move(order, OrderStatus.COMPLETED, completed_at=at)
        await PickupCode.filter(id=row.id).update(waiting_code=None, picked_up_at=at, picked_up_by=actor[:64])
        await deps.events.completed(order)
    return order


async def codes_by_order(order_ids: Sequence[int]) -> dict[int, str]:
    rows = await PickupCode.filter(order_id__in=order_ids).values_list("order_id", "code")
    return {order_id: code for order_id, code in rows}
