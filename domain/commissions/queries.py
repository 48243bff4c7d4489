"""Reading commissions: a distributor's own, newest first, with what each was earned on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.commissions.models import Commission, CommissionStatus
from domain.orders.models import Order, OrderLine
from domain.pagination import Page, paginate


async def commissions_of(distributor_id: int, status: CommissionStatus | None, first: int | None,
                         after: str | None) -> Page[Commission]:
    query = Commission.filter(distributor_id=distributor_id)
    if status is not None:
        query = query.filter(status=status)
    return await paginate(query, ("id",), first, after, descending=True)


@dataclass(frozen=True)
class EarnedOn:
    order_number: str
    title: str


async def earned_on(commissions: Sequence[Commission]) -> dict[int, EarnedOn]:
    """Commission id → the order's number and the line's product title (two queries for a page)."""
    numbers = dict(await Order.filter(id__in={c.order_id for c in commissions}).values_list("id", "number"))
    titles = dict(await OrderLine.filter(id__in={c.order_line_id for c in commissions}).values_list("id", "title"))
    return {c.id: EarnedOn(str(numbers.get(c.order_id, "")), str(titles.get(c.order_line_id, ""))) for c in commissions}
