"""The merchant's side of orders: every order, shipping, and the refund decisions."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError
from domain.orders import lifecycle, pickup_codes, queries, refund_calls, refunds
from domain.orders.models import Order, OrderStatus, Refund, RefundStatus
from domain.pagination import Page
from resolvers.context import Context
from resolvers.orders import RefundResult
from resolvers.outcome import Outcome, attempt, decode_id


async def staff_orders(
    ctx: Context, first: int | None, after: str | None, status: OrderStatus | None, number: str | None
) -> Page[Order]:
    return await queries.staff_orders(status, number, first, after)


async def staff_refunds(
    ctx: Context, first: int | None, after: str | None, status: RefundStatus | None
) -> Page[Refund]:
    return await refunds.staff_refunds(status, first, after)


async def staff_order(ctx: Context, global_id: Any) -> Order | None:
    try:
        order_id = decode_id(global_id, "Order")
    except DomainError:
        return None
    return (await queries.orders_by_id([order_id])).get(order_id)


async def _order(global_id: Any) -> Order:
    return await lifecycle.any_order(decode_id(global_id, "Order", "orderId"))


async def order_ship(ctx: Context, data: Any) -> Outcome[Order]:
    async def run() -> Order:
        order = await _order(data.order_id)
        return await lifecycle.ship(ctx.services.orders, order, data.carrier, data.tracking_number)

    return await attempt(run())


async def order_pickup_verify(ctx: Context, data: Any) -> Outcome[Order]:
    async def run() -> Order:
        deps = ctx.services.orders
        return await pickup_codes.verify(deps, data.pickup_code, ctx.actor, deps.clock())

    return await attempt(run())


async def _with_order(refund: Any) -> RefundResult:
    return RefundResult(await lifecycle.any_order(refund.order_id), refund)


async def refund_approve(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        refund = await refunds.get_refund(decode_id(data.refund_id, "Refund", "refundId"))
        return await _with_order(await refunds.approve(ctx.services.orders, refund, ctx.actor))

    return await attempt(run())


async def refund_reject(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        refund = await refunds.get_refund(decode_id(data.refund_id, "Refund", "refundId"))
        return await _with_order(await refunds.reject(refund, ctx.actor, data.reason))

    return await attempt(run())


async def refund_retry(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        refund = await refunds.get_refund(decode_id(data.refund_id, "Refund", "refundId"))
        return await _with_order(await refund_calls.retry_by_staff(ctx.services.orders, refund))

    return await attempt(run())


async def order_refund(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        order = await _order(data.order_id)
        refund = await refunds.refund_directly(ctx.services.orders, order, data.amount, data.reason, ctx.actor)
        return await _with_order(refund)

    return await attempt(run())
