"""Money back: customer requests and staff decisions. Sending to WeChat Pay and what it answers: refund_calls."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.columns import column
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.ledger import service as ledger
from domain.orders import refund_states, states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, Refund, RefundStatus
from domain.orders.numbers import refund_number
from domain.orders.refund_calls import back_to_before, refund_source, send_refund
from domain.pagination import Page, paginate
from domain.wallet import spending


async def refundable_amount(order: Order) -> int:
    """What the shop holds for the order (WeChat Pay and wallet parts), minus what is being refunded (a failed refund
    still owes its amount)."""
    paid = await ledger.order_balance(order.id)
    pending = sum(await column(Refund.filter(order_id=order.id, status__in=refund_states.UNSETTLED), "amount", int))
    return paid - pending


async def _open_refund(deps: OrderDeps, order: Order, amount: int | None, reason: str, actor: str,
                       status: RefundStatus) -> Refund:
    if order.status not in states.REFUNDABLE:
        raise DomainError(ErrorCode.INVALID_STATE, f"a {order.status.value} order cannot be refunded", ["orderId"])
    await deps.policy(order.kind).check_refund(order)
    if await Refund.filter(order_id=order.id, status__in=refund_states.UNSETTLED).exists():
        raise DomainError(ErrorCode.DUPLICATE, "a refund of this order is already open (or failed and is being "
                          "sent again)", ["orderId"])
    available = await refundable_amount(order)
    amount = available if amount is None else amount
    if not 1 <= amount <= available:
        raise Invalid(f"amount must be between 1 and {available} fen", ["amount"])
    if len(reason) > 200:
        raise Invalid("reason must be at most 200 characters", ["reason"])
    sequence = await Refund.filter(order_id=order.id).count() + 1
    earlier = await Refund.filter(order_id=order.id).exclude(status=RefundStatus.REJECTED).exclude(
        requested_by=refund_states.SYSTEM)
    wallet = await spending.refund_parts(order, amount, earlier)
    source = await refund_source(order.id, amount - wallet.total) if amount > wallet.total else None
    refund = await Refund.create(order_id=order.id, payment_id=source.id if source else None,
                                 out_refund_no=refund_number(order.number, sequence), amount=amount,
                                 wallet_principal=wallet.principal, wallet_bonus=wallet.bonus,
                                 reason=reason.strip(), requested_by=actor, status=status,
                                 decided_by=actor if status == RefundStatus.PROCESSING else "")
    await states.move(order, OrderStatus.REFUNDING, status_before_refund=order.status)
    return refund


async def request_refund(deps: OrderDeps, order: Order, amount: int | None, reason: str, actor: str) -> Refund:
    """The customer asks; staff approve or reject."""
    async with in_transaction():
        return await _open_refund(deps, order, amount, reason, actor, RefundStatus.REQUESTED)


async def refund_directly(deps: OrderDeps, order: Order, amount: int | None, reason: str, actor: str) -> Refund:
    """Staff refund on their own initiative (e.g. out of stock after payment)."""
    async with in_transaction():
        refund = await _open_refund(deps, order, amount, reason, actor, RefundStatus.PROCESSING)
    return await send_refund(deps, refund)


async def get_refund(refund_id: int) -> Refund:
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("refund", ["refundId"])
    return refund


async def approve(deps: OrderDeps, refund: Refund, actor: str) -> Refund:
    if refund.status != RefundStatus.REQUESTED or not await refund_states.move(
        refund, RefundStatus.PROCESSING, decided_by=actor
    ):
        raise DomainError(ErrorCode.INVALID_STATE, "only a requested refund can be approved", ["refundId"])
    return await send_refund(deps, refund)


async def reject(refund: Refund, actor: str, reason: str) -> Refund:
    async with in_transaction():
        if not await refund_states.move(refund, RefundStatus.REJECTED, decided_by=actor, reject_reason=reason[:200]):
            raise DomainError(ErrorCode.INVALID_STATE, "only a requested refund can be rejected", ["refundId"])
        await back_to_before(await Order.get(id=refund.order_id))
    return refund


async def staff_refunds(status: RefundStatus | None, first: int | None, after: str | None) -> Page[Refund]:
    """The staff queue, newest first: `FAILED` lists the money still owed to customers."""
    query = Refund.all() if status is None else Refund.filter(status=status)
    return await paginate(query, ("id",), first, after, descending=True)
