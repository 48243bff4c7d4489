"""Reading orders: a customer's own, the merchant's all, and batched loads for the API."""

from __future__ import annotations

from collections import defaultdict

from tortoise.queryset import QuerySet

from domain.orders.models import Order, OrderLine, OrderStatus, Refund
from domain.orders.payment import UNPAYABLE
from domain.pagination import Page, paginate

ORDER = ("id",)


def _customers(customer_id: int) -> QuerySet[Order]:
    """What the customer sees as their orders: not those checkout gave up on when WeChat Pay refused the prepay."""
    return Order.filter(customer_id=customer_id).exclude(cancel_reason=UNPAYABLE)


async def customer_orders(
    customer_id: int, status: OrderStatus | None, first: int | None, after: str | None
) -> Page[Order]:
    query = _customers(customer_id)
    if status is not None:
        query = query.filter(status=status)
    return await _newest_first(query, first, after)


async def staff_orders(
    status: OrderStatus | None, number: str | None, first: int | None, after: str | None
) -> Page[Order]:
    query = Order.all()
    if status is not None:
        query = query.filter(status=status)
    if number:
        query = query.filter(number=number.strip())
    return await _newest_first(query, first, after)


async def _newest_first(query: QuerySet[Order], first: int | None, after: str | None) -> Page[Order]:
    return await paginate(query, ORDER, first, after, descending=True)


async def orders_by_id(ids: list[int]) -> dict[int, Order]:
    return {o.id: o for o in await Order.filter(id__in=ids)}


async def lines_by_order(order_ids: list[int]) -> dict[int, list[OrderLine]]:
    grouped: dict[int, list[OrderLine]] = defaultdict(list)
    for line in await OrderLine.filter(order_id__in=order_ids).order_by("id"):
        grouped[line.order_id].append(line)
    return grouped


async def refunds_by_order(order_ids: list[int]) -> dict[int, list[Refund]]:
    grouped: dict[int, list[Refund]] = defaultdict(list)
    for refund in await Refund.filter(order_id__in=order_ids).order_by("id"):
        grouped[refund.order_id].append(refund)
    return grouped


async def customer_order(customer_id: int, order_id: int) -> Order | None:
    """The customer's own order; anyone else's reads as missing."""
    return await _customers(customer_id).get_or_none(id=order_id)
