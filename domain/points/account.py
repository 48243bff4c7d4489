"""A customer's points: earned when an order completes and taken back by its refunds (through the order events), by
daily sign-in, and spent on coupons. Every movement is an entry of the balance ledger (owner kind "customer",
bucket "points"); the balance never goes below zero.

- An order earns `points_per_yuan` per yuan the customer paid (WeChat Pay and wallet), net of refunds so far,
  rounded down, when it completes (`PointsAward` keeps the base and the points).
- A refund after that leaves the order the share of its points that the money still paid covers (`points × kept ÷
  base`, rounded down), like a commission. Points already spent are not taken below zero: what the balance cannot
  give is forgiven (and kept in the award as not taken back).
- Refunds before completion simply lower the base the order earns on.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.balances.models import BalanceEntry
from domain.balances.service import Owner
from domain.ledger.service import refunded_of_sale
from domain.orders.events import OrderEvents
from domain.orders.models import Order, Refund
from domain.pagination import Page, paginate
from domain.points import rules as points_rules
from domain.points.models import PointsAward

OWNER_KIND = "customer"
POINTS = "points"


def owner(customer_id: int) -> Owner:
    return Owner(OWNER_KIND, customer_id)


async def points_of(customer_id: int) -> int:
    return (await balances.balances(owner(customer_id))).get(POINTS, 0)


async def ledger(customer_id: int, first: int | None, after: str | None) -> Page[BalanceEntry]:
    """The customer's points movements, newest first."""
    query = BalanceEntry.filter(owner_kind=OWNER_KIND, owner_id=customer_id, bucket=POINTS)
    return await paginate(query, ("id",), first, after, descending=True)


async def award(order: Order, at: datetime) -> int:
    """The order completed: its points, once."""
    rules = await points_rules.current()
    base = order.money_in - await refunded_of_sale(order)
    points = base * rules.points_per_yuan // 100
    if points <= 0:
        return 0
    try:
        async with in_transaction():  # a savepoint: a repeated award leaves the completing transaction usable
            await PointsAward.create(order_id=order.id, customer_id=order.customer_id, base=base, points=points,
                                     created_at=at)
    except IntegrityError:
        return 0
    await balances.move(owner(order.customer_id), POINTS, points, f"points:order:{order.id}",
                        note=f"order {order.number} completed")
    return points


async def take_back(order: Order, refund: Refund) -> int:
    """A refund of a completed order: its points keep the share the money still paid covers (see the module)."""
    row = await PointsAward.filter(order_id=order.id).select_for_update().first()
    if row is None or row.base <= 0:
        return 0
    refunded_since = await refunded_of_sale(order) - (order.money_in - row.base)
    kept = row.points * max(row.base - refunded_since, 0) // row.base
    owed = row.points - kept - row.taken_back
    if owed <= 0:
        return 0
    can_give = min(owed, max(await balances.locked(owner(order.customer_id), POINTS), 0))
    row.taken_back += owed  # what the balance cannot give is forgiven, never asked again
    await row.save(update_fields=["taken_back"])
    if can_give:
        await balances.move(owner(order.customer_id), POINTS, -can_give, f"points:refund:{refund.id}",
                            note=f"order {order.number} refunded")
    return can_give


class Points(OrderEvents):
    """Points for completed orders, taken back by their refunds."""

    async def completed(self, order: Order) -> None:
        await award(order, order.completed_at or order.updated_at)

    async def refunded(self, order: Order, refund: Refund) -> None:
        await take_back(order, refund)
