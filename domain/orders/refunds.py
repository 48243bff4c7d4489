"""Money back: customer requests, staff decisions, the refund call to WeChat Pay, and its notification."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from domain.columns import column
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.inventory import holds
from domain.ledger import service as ledger
from domain.orders import states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from domain.orders.numbers import refund_number
from domain.orders.ports import PaymentGatewayError
from domain.pricing import coupons

log = structlog.get_logger("pond.orders.refunds")
REFUNDABLE = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED})
OPEN = (RefundStatus.REQUESTED, RefundStatus.PROCESSING)


async def refundable_amount(order: Order) -> int:
    """Paid through WeChat Pay, minus what was refunded or is being refunded."""
    paid = await ledger.order_balance(order.id)
    pending = sum(await column(Refund.filter(order_id=order.id, status__in=OPEN), "amount", int))
    return paid - pending


async def _open_refund(order: Order, amount: int | None, reason: str, actor: str, status: RefundStatus) -> Refund:
    if order.status not in REFUNDABLE:
        raise DomainError(ErrorCode.INVALID_STATE, f"a {order.status.value} order cannot be refunded", ["orderId"])
    if await Refund.filter(order_id=order.id, status__in=OPEN).exists():
        raise DomainError(ErrorCode.DUPLICATE, "a refund of this order is already open", ["orderId"])
    available = await refundable_amount(order)
    amount = available if amount is None else amount
    if not 1 <= amount <= available:
        raise Invalid(f"amount must be between 1 and {available} fen", ["amount"])
    if len(reason) > 200:
        raise Invalid("reason must be at most 200 characters", ["reason"])
    sequence = await Refund.filter(order_id=order.id).count() + 1
    source = await _refund_source(order.id, amount)
    refund = await Refund.create(order_id=order.id, payment_id=source.id if source else None,
                                 out_refund_no=refund_number(order.number, sequence), amount=amount,
                                 reason=reason.strip(), requested_by=actor, status=status,
                                 decided_by=actor if status == RefundStatus.PROCESSING else "")
    await states.move(order, OrderStatus.REFUNDING, status_before_refund=order.status)
    return refund


async def _refund_source(order_id: int, amount: int) -> Payment | None:
    """The trade the money goes back through: the first paid one with `amount` not yet given back through it. An
    order paid twice has its extra payment refunded on that payment's own trade, so the first one still holds the
    order's money."""
    paid = await Payment.filter(order_id=order_id, status=PaymentStatus.SUCCEEDED).order_by("id")
    for payment in paid:
        used = await column(Refund.filter(payment_id=payment.id).exclude(
            status__in=(RefundStatus.REJECTED, RefundStatus.FAILED)), "amount", int)
        if payment.amount - sum(used) >= amount:
            return payment
    return paid[0] if paid else None


async def request_refund(order: Order, amount: int | None, reason: str, actor: str) -> Refund:
    """The customer asks; staff approve or reject."""
    async with in_transaction():
        return await _open_refund(order, amount, reason, actor, RefundStatus.REQUESTED)


async def refund_directly(deps: OrderDeps, order: Order, amount: int | None, reason: str, actor: str) -> Refund:
    """Staff refund on their own initiative (e.g. out of stock after payment)."""
    async with in_transaction():
        refund = await _open_refund(order, amount, reason, actor, RefundStatus.PROCESSING)
    return await send_refund(deps, refund)


async def get_refund(refund_id: int) -> Refund:
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("refund", ["refundId"])
    return refund


async def approve(deps: OrderDeps, refund: Refund, actor: str) -> Refund:
    if not await Refund.filter(id=refund.id, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.PROCESSING, decided_by=actor
    ):
        raise DomainError(ErrorCode.INVALID_STATE, "only a requested refund can be approved", ["refundId"])
    refund.status = RefundStatus.PROCESSING
    return await send_refund(deps, refund)


async def reject(refund: Refund, actor: str, reason: str) -> Refund:
    async with in_transaction():
        if not await Refund.filter(id=refund.id, status=RefundStatus.REQUESTED).update(
            status=RefundStatus.REJECTED, decided_by=actor, reject_reason=reason[:200]
        ):
            raise DomainError(ErrorCode.INVALID_STATE, "only a requested refund can be rejected", ["refundId"])
        await _back_to_before(await Order.get(id=refund.order_id))
    await refund.refresh_from_db()
    return refund


async def _back_to_before(order: Order) -> None:
    if order.status == OrderStatus.REFUNDING and not await Refund.filter(order_id=order.id, status__in=OPEN).exists():
        await states.move(order, order.status_before_refund or OrderStatus.PAID, status_before_refund=None)


async def send_refund(deps: OrderDeps, refund: Refund) -> Refund:
    """Call WeChat Pay for a PROCESSING refund (outside any transaction). A failed call marks it FAILED."""
    if refund.payment_id is not None:
        payment = await Payment.get_or_none(id=refund.payment_id)
    else:  # a refund recorded before refunds named their trade
        payment = await _refund_source(refund.order_id, refund.amount)
    if payment is None:
        return await _settle(deps, refund, "CLOSED", None)
    try:
        result = await deps.gateway.refund(out_refund_no=refund.out_refund_no, out_trade_no=payment.out_trade_no,
                                           amount=refund.amount, total=payment.amount, reason=refund.reason)
    except PaymentGatewayError as exc:
        log.warning("refund call failed", refund=refund.out_refund_no, code=exc.code)
        if exc.retryable:
            return refund
        return await _settle(deps, refund, "CLOSED", None)
    if result.status in {"SUCCESS", "CLOSED"}:
        return await _settle(deps, refund, result.status, result.refund_id)
    await Refund.filter(id=refund.id).update(refund_id=result.refund_id)
    return refund


async def settle_refund(deps: OrderDeps, out_refund_no: str, status: str, refund_id: str | None) -> str:
    """A refund notification (or query) reached a final state. Idempotent; never lets an old state win."""
    refund = await Refund.get_or_none(out_refund_no=out_refund_no)
    if refund is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no refund {out_refund_no}")
    if status not in {"SUCCESS", "CLOSED"}:
        return "pending"
    await _settle(deps, refund, status, refund_id)
    return "refunded" if status == "SUCCESS" else "failed"


def _goods_come_back(order: Order, refund: Refund) -> bool:
    """A customer asked for their money back before the order shipped: the goods never left the shop, so they go
    back on sale. Staff refunding on their own (often because the goods are missing) adjust stock themselves."""
    return order.status_before_refund == OrderStatus.PAID and refund.requested_by.startswith("customer:")


async def _settle(deps: OrderDeps, refund: Refund, status: str, refund_id: str | None) -> Refund:
    """A refund reached its final state, once. The money is recorded in the ledger. An order refunded in full goes
    to REFUNDED and gives its coupon back, and its units go back to stock when `_goods_come_back`."""
    final = RefundStatus.SUCCEEDED if status == "SUCCESS" else RefundStatus.FAILED
    restocked: list[int] = []
    async with in_transaction():
        if not await Refund.filter(id=refund.id, status=RefundStatus.PROCESSING).update(status=final,
                                                                                        refund_id=refund_id):
            await refund.refresh_from_db()
            return refund
        order = await Order.get(id=refund.order_id)
        if final == RefundStatus.SUCCEEDED:
            await Refund.filter(id=refund.id).update(succeeded_at=now())
            await ledger.record(account="wechatpay", kind="refund", amount=-refund.amount,
                                reference=f"refund:{refund.out_refund_no}", order_id=order.id)
            await Order.filter(id=order.id).update(refunded_total=order.refunded_total + refund.amount)
            if await ledger.order_balance(order.id) == 0:
                returned = _goods_come_back(order, refund)
                await states.move(order, OrderStatus.REFUNDED)
                await coupons.give_back(order.id)  # all the money came back: so does the coupon
                if returned:
                    restocked = await holds.restock(order.id)
            else:
                await _back_to_before(order)
        else:
            await _back_to_before(order)
    await deps.inventory.resync(restocked)
    await refund.refresh_from_db()
    return refund


async def reconcile_refunds(deps: OrderDeps, at: datetime | None = None, quiet_minutes: int = 5) -> int:
    """Refunds still PROCESSING after a while: ask WeChat Pay; one it never received is sent again.

    Sending again reuses the out_refund_no, which WeChat Pay treats as the same refund, so money never leaves twice.
    """
    cutoff = (at or deps.clock()) - timedelta(minutes=quiet_minutes)
    stuck = await Refund.filter(status=RefundStatus.PROCESSING, updated_at__lte=cutoff).order_by("id").limit(200)
    settled = 0
    for refund in stuck:
        try:
            found = await deps.gateway.query_refund(refund.out_refund_no)
            if found is None:
                refund = await send_refund(deps, refund)
            elif found.status in {"SUCCESS", "CLOSED"}:
                refund = await _settle(deps, refund, found.status, found.refund_id)
        except PaymentGatewayError as exc:
            log.info("refund reconcile skipped", refund=refund.out_refund_no, code=exc.code)
            continue
        settled += refund.status != RefundStatus.PROCESSING
    return settled
