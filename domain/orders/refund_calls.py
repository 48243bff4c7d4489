"""Talking to WeChat Pay about a refund: sending it, applying what it answers, and what happens when it fails.

A refund WeChat Pay refuses or gives up on ends FAILED, and the customer's money stays with the merchant, so it is
never silent: an error-level log line, `OrderDeps.refund_failed` (the server counts it in a metric), the staff queue
(`staffRefunds(status: FAILED)`) and its order's `refundOwed`. A failure that can clear by itself (the gateway marks
it retryable: the merchant's balance short, WeChat Pay busy or unreachable) is sent again by `retry_due` after
RETRY_AFTER; any other (a refused request, a refund WeChat Pay closed or holds as ABNORMAL) waits for staff (`retry`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from tortoise.expressions import F, Q
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from domain.errors import DomainError, ErrorCode
from domain.ledger import service as ledger
from domain.orders import refund_states, states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from domain.orders.numbers import resent_refund_number
from domain.orders.ports import PaymentGatewayError
from domain.pricing import coupons
from domain.wallet import spending

log = structlog.get_logger("pond.orders.refunds")
RETRY_AFTER = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440))
"""Waits before each automatic retry of a failure that can clear; after the last (about two days) staff decide."""
SWEEP_BATCH = 200
UNANSWERED_AFTER = timedelta(hours=6)
"""A PROCESSING refund WeChat Pay could not be asked about for this long fails (loudly) and is retried with backoff."""
NO_TRADE = "NO_TRADE"
WECHAT_FAILED = {
    "CLOSED": "WeChat Pay closed the refund without paying it",
    "ABNORMAL": "WeChat Pay cannot pay it into the customer's account (ABNORMAL): settle it in the merchant platform",
}


async def refund_source(order_id: int, amount: int) -> Payment | None:
    """The trade the money goes back through: the first paid one with `amount` not yet given back through it. An
    order paid twice has its extra payment refunded on that payment's own trade, so the first one still holds the
    order's money."""
    paid = await Payment.filter(order_id=order_id, status=PaymentStatus.SUCCEEDED).order_by("id")
    for payment in paid:
        # a FAILED refund still owes its money through its trade: it is sent again there
        used = [refund.wechat_amount
                for refund in await Refund.filter(payment_id=payment.id).exclude(status=RefundStatus.REJECTED)]
        if payment.amount - sum(used) >= amount:
            return payment
    return paid[0] if paid else None


async def _trade(refund: Refund) -> Payment | None:
    if refund.payment_id is not None:
        return await Payment.get_or_none(id=refund.payment_id)
    return await refund_source(refund.order_id, refund.wechat_amount)  # made before trades were named


async def _locked_order(refund: Refund) -> Order:
    """The refund's order, locked, and the refund as it is now: one refund of an order changes at a time, so totals
    and checks never race and a status read before the lock never decides."""
    order = await Order.filter(id=refund.order_id).select_for_update().get()
    await refund.refresh_from_db()
    return order


async def back_to_before(order: Order) -> None:
    """No refund of the order is in flight any more: it goes back to where it was."""
    if order.status == OrderStatus.REFUNDING and not await Refund.filter(
        order_id=order.id, status__in=refund_states.IN_FLIGHT
    ).exists():
        await states.move(order, order.status_before_refund or OrderStatus.PAID, status_before_refund=None)


def holds_order(order: Order, refund: Refund) -> bool:
    """Whether the refund keeps its order REFUNDING while it is in flight and decides where the order ends. Every
    refund a customer or staff open does. The give-back of a payment no order could use (`requested_by` "system")
    does only for an order that was cancelled: a second payment of a PAID, shipped, completed or already REFUNDED
    order goes back without touching the order's own status."""
    if refund.requested_by != refund_states.SYSTEM:
        return True
    return order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDING)


async def reopen(order: Order, refund: Refund) -> None:
    """A refund is in flight again (a retry, or a late success): the order is REFUNDING, as when it opened."""
    if holds_order(order, refund) and order.status != OrderStatus.REFUNDING:
        await states.move(order, OrderStatus.REFUNDING, status_before_refund=order.status)


async def send_refund(deps: OrderDeps, refund: Refund) -> Refund:
    """Call WeChat Pay for a PROCESSING refund (outside any transaction) and apply its answer. A refund whose money
    all goes back to the wallet asks WeChat Pay nothing: it succeeds at once."""
    if refund.wechat_amount == 0:
        return await _succeed(deps, refund, None)
    payment = await _trade(refund)
    if payment is None:
        return await _fail(deps, refund, NO_TRADE, "the order has no paid trade to refund through", can_clear=False)
    try:
        result = await deps.gateway.refund(out_refund_no=refund.out_refund_no, out_trade_no=payment.out_trade_no,
                                           amount=refund.wechat_amount, total=payment.amount, reason=refund.reason)
    except PaymentGatewayError as exc:
        return await _fail(deps, refund, exc.code, exc.message, can_clear=exc.retryable)
    return await _apply(deps, refund, result.status, result.refund_id)


async def _apply(deps: OrderDeps, refund: Refund, status: str, refund_id: str | None) -> Refund:
    """What WeChat Pay says of a refund, applied once; an earlier state never overwrites a later one."""
    if status == "SUCCESS":
        return await _succeed(deps, refund, refund_id)
    if status in WECHAT_FAILED:
        return await _fail(deps, refund, status, WECHAT_FAILED[status], can_clear=False)
    if refund_id and refund.status == RefundStatus.PROCESSING:
        await Refund.filter(id=refund.id, status=RefundStatus.PROCESSING).update(refund_id=refund_id)
        refund.refund_id = refund_id
    return refund


async def _renamed(out_refund_no: str) -> bool:
    """Whether a refund was sent again under a new number after this one (`numbers.resent_refund_number`)."""
    first = out_refund_no.split("-", 1)[0]
    return await Refund.filter(Q(out_refund_no=first) | Q(out_refund_no__startswith=f"{first}-")).exists()


async def apply_refund_status(deps: OrderDeps, out_refund_no: str, status: str, refund_id: str | None) -> str:
    """A refund notification (or query) said where a refund stands. Idempotent; returns what it means."""
    refund = await Refund.get_or_none(out_refund_no=out_refund_no)
    if refund is None:
        if await _renamed(out_refund_no):
            # A number WeChat Pay closed and the refund was sent again under a new one: the old number's news says
            # nothing about the money the new one carries.
            log.info("refund notification for a number sent again under a new one", out_refund_no=out_refund_no,
                     status=status)
            return "superseded"
        raise DomainError(ErrorCode.NOT_FOUND, f"no refund {out_refund_no}")
    refund = await _apply(deps, refund, status, refund_id)
    outcomes = {"SUCCESS": "refunded", "CLOSED": "failed", "ABNORMAL": "abnormal"}
    return outcomes.get(status, "pending")


async def _succeed(deps: OrderDeps, refund: Refund, refund_id: str | None) -> Refund:
    """The money went back, once: through WeChat Pay, and the wallet part to the wallet. The ledger records it; an
    order refunded in full goes to REFUNDED and gives its coupon back, and its units go back to stock when
    `_goods_come_back`."""
    restocked: list[int] = []
    async with in_transaction():
        order = await _locked_order(refund)
        if not await refund_states.move(refund, RefundStatus.SUCCEEDED, refund_id=refund_id or refund.refund_id,
                                        succeeded_at=now(), next_attempt_at=None):
            return refund
        if refund.wechat_amount:
            await ledger.record(account=ledger.WECHATPAY, kind=ledger.REFUND, amount=-refund.wechat_amount,
                                reference=f"refund:{refund.out_refund_no}", order_id=order.id)
        await Order.filter(id=order.id).update(refunded_total=F("refunded_total") + refund.amount)
        order.refunded_total += refund.amount
        of_the_sale = holds_order(order, refund)  # asked once: the status moves below
        if not of_the_sale:
            pass  # an unwanted payment went back: the order keeps its own status
        elif await ledger.order_balance(order.id) == refund.amount - refund.wechat_amount:  # its wallet part below
            await reopen(order, refund)  # a FAILED refund that WeChat Pay paid after all finds its order moved back
            policy = deps.policy(order.kind)
            returned = policy.goods_come_back(order, refund)
            await states.move(order, OrderStatus.REFUNDED)
            await coupons.give_back(order.id)  # all the money came back: so does the coupon
            if returned:
                restocked = await policy.restock_units(order)
        else:
            await back_to_before(order)
        await spending.give_back_refund(order, refund)  # balances after the SKUs' rows (the lock order)
        if of_the_sale:
            await deps.events.refunded(order, refund)
    await deps.inventory.resync(restocked)
    return refund


def _next_attempt(deps: OrderDeps, failures: int, can_clear: bool) -> datetime | None:
    if not can_clear or failures > len(RETRY_AFTER):
        return None
    return deps.clock() + RETRY_AFTER[failures - 1]


async def _fail(deps: OrderDeps, refund: Refund, code: str, message: str, *, can_clear: bool) -> Refund:
    """The refund did not pay out: FAILED, loudly, with when (if ever) it goes again by itself."""
    async with in_transaction():
        order = await _locked_order(refund)
        failures = refund.failures + 1
        retry_at = _next_attempt(deps, failures, can_clear)
        if not await refund_states.move(refund, RefundStatus.FAILED, failure_code=code[:32],
                                        failure_message=message[:200], failures=failures, next_attempt_at=retry_at):
            return refund
        await back_to_before(order)
    log.error("refund failed: the customer's money stays with the merchant", refund=refund.out_refund_no,
              order=order.number, amount=refund.amount, code=code, detail=message[:200], failures=failures,
              retry_at=retry_at.isoformat() if retry_at else "staff", requested_by=refund.requested_by)
    deps.refund_failed(code)
    return refund


async def retry(deps: OrderDeps, refund: Refund) -> Refund:
    """Send a FAILED refund again; it ends SUCCEEDED, PROCESSING (WeChat Pay took it) or FAILED again.

    WeChat Pay is asked first what became of it: one it paid after all settles, one it still processes is awaited,
    one it never received is sent under the same out_refund_no (so money never leaves twice), and one it closed is
    sent under a new number.
    """
    async with in_transaction():
        order = await _locked_order(refund)
        if refund.status != RefundStatus.FAILED or not await refund_states.move(
            refund, RefundStatus.PROCESSING, next_attempt_at=None
        ):
            raise DomainError(ErrorCode.INVALID_STATE, "only a failed refund can be sent again", ["refundId"])
        await reopen(order, refund)
    try:
        found = await deps.gateway.query_refund(refund.out_refund_no)
    except PaymentGatewayError as exc:
        return await _fail(deps, refund, exc.code, exc.message, can_clear=exc.retryable)
    if found is not None and found.status != "CLOSED":
        return await _apply(deps, refund, found.status, found.refund_id)
    if found is not None:
        renamed = resent_refund_number(refund.out_refund_no, refund.failures + 1)
        await Refund.filter(id=refund.id).update(out_refund_no=renamed, refund_id=None)
        refund.out_refund_no, refund.refund_id = renamed, None
    return await send_refund(deps, refund)


async def retry_by_staff(deps: OrderDeps, refund: Refund) -> Refund:
    refund = await retry(deps, refund)
    if refund.status == RefundStatus.FAILED:
        raise DomainError(ErrorCode.PAYMENT_FAILED,
                          f"WeChat Pay did not pay it ({refund.failure_code}): {refund.failure_message}", ["refundId"])
    return refund


async def retry_due(deps: OrderDeps, at: datetime | None = None) -> int:
    """Failed refunds whose wait is over are sent again, each on its own: one that crashes never stops the rest."""
    at = at or deps.clock()
    due = await Refund.filter(status=RefundStatus.FAILED, next_attempt_at__lte=at).order_by(
        "next_attempt_at", "id").limit(SWEEP_BATCH)
    paid = 0
    for refund in due:
        try:
            refund = await retry(deps, refund)
        except DomainError as exc:  # a staff retry took it meanwhile
            log.info("refund retry skipped", refund=refund.out_refund_no, reason=exc.message)
            continue
        except Exception:
            log.exception("refund retry crashed", refund=refund.out_refund_no)
            # to the back of the queue, so a refund that keeps crashing never holds up the ones behind it
            await Refund.filter(id=refund.id, status=RefundStatus.FAILED).update(
                next_attempt_at=at + RETRY_AFTER[0])
            continue
        paid += refund.status != RefundStatus.FAILED
    return paid


async def reconcile_refunds(deps: OrderDeps, at: datetime | None = None, quiet_minutes: int = 5) -> int:
    """Refunds still PROCESSING after a while: ask WeChat Pay; one it never received is sent again. Each refund is
    handled on its own: one that fails or crashes never stops the others.

    Sending again reuses the out_refund_no, which WeChat Pay treats as the same refund, so money never leaves twice.
    """
    at = at or deps.clock()
    cutoff = at - timedelta(minutes=quiet_minutes)
    stuck = await Refund.filter(status=RefundStatus.PROCESSING, updated_at__lte=cutoff).order_by("id").limit(
        SWEEP_BATCH)
    settled = 0
    for refund in stuck:
        try:
            found = await deps.gateway.query_refund(refund.out_refund_no)
            if found is None:
                refund = await send_refund(deps, refund)
            else:
                refund = await _apply(deps, refund, found.status, found.refund_id)
        except PaymentGatewayError as exc:
            if refund.updated_at <= at - UNANSWERED_AFTER:
                # Nobody can say where the money is: staff see it (FAILED), and it goes again by itself, asking first.
                refund = await _fail(deps, refund, exc.code, f"WeChat Pay has not answered about this refund for "
                                     f"{UNANSWERED_AFTER} ({exc.message})", can_clear=True)
                settled += 1
                continue
            log.info("refund reconcile skipped", refund=refund.out_refund_no, code=exc.code)
            continue
        except Exception:
            log.exception("refund reconcile crashed", refund=refund.out_refund_no)
            # to the back of the queue (the sweep goes by updated_at), so one that keeps crashing holds up none
            await Refund.filter(id=refund.id, status=RefundStatus.PROCESSING).update(updated_at=at)
            continue
        settled += refund.status != RefundStatus.PROCESSING
    return settled
