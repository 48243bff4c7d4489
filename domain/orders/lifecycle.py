"""Moving orders along: the customer's and the merchant's actions, and the sweeps that run on a timer."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from tortoise.transactions import in_transaction

from domain.errors import DomainError, Invalid, NotFound
from domain.orders import states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus
from domain.orders.payment import close_then_cancel, payment_failed, reconcile
from domain.orders.ports import PaymentGatewayError

log = structlog.get_logger("pond.orders.lifecycle")
SWEEP_BATCH = 200


async def customer_order(customer_id: int, order_id: int) -> Order:
    """Another customer's order reads as not found, never as forbidden."""
    order = await Order.get_or_none(id=order_id, customer_id=customer_id)
    if order is None:
        raise NotFound("order", ["orderId"])
    return order


async def any_order(order_id: int) -> Order:
    order = await Order.get_or_none(id=order_id)
    if order is None:
        raise NotFound("order", ["orderId"])
    return order


async def cancel_by_customer(deps: OrderDeps, order: Order) -> Order:
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise states.invalid_state(order, OrderStatus.CANCELLED)
    try:
        await close_then_cancel(deps, order, "customer")
    except PaymentGatewayError as exc:  # WeChat Pay could not close the trade: nothing changed, the customer may retry
        raise payment_failed(exc) from None
    await order.refresh_from_db()
    return order


async def ship(deps: OrderDeps, order: Order, carrier: str, tracking_number: str) -> Order:
    # Only a paid order ships: the state table also allows REFUNDING → SHIPPED, but that edge is for a
    # refund going back to where it was, not for shipping while a refund is open.
    if order.status != OrderStatus.PAID:
        raise states.invalid_state(order, OrderStatus.SHIPPED)
    await deps.policy(order.kind).check_fulfilment(order)
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    by_post = order.pickup_point_id is None
    if by_post and not (1 <= len(carrier) <= 32 and 1 <= len(tracking_number) <= 64):
        raise Invalid("carrier (≤32) and trackingNumber (≤64) are required for delivery", ["trackingNumber"])
    await states.move(order, OrderStatus.SHIPPED, carrier=carrier[:32], tracking_number=tracking_number[:64])
    return order


async def confirm_receipt(deps: OrderDeps, order: Order) -> Order:
    if order.status != OrderStatus.SHIPPED:
        raise states.invalid_state(order, OrderStatus.COMPLETED)
    await _complete(deps, order)
    return order


async def _complete(deps: OrderDeps, order: Order) -> None:
    """Shipped → completed, and those who wait for it (commissions, rewards) hear of it in the same transaction."""
    async with in_transaction():
        # Locked and read again: a refund settling meanwhile changes what the listeners read (refunded money).
        fresh = await Order.filter(id=order.id).select_for_update().get()
        if fresh.status != OrderStatus.SHIPPED:  # e.g. a refund opened meanwhile
            raise states.invalid_state(fresh, OrderStatus.COMPLETED)
        order.refunded_total = fresh.refunded_total
        await states.move(order, OrderStatus.COMPLETED)
        await deps.events.completed(order)


async def expire_due(deps: OrderDeps, now: datetime | None = None) -> int:
    """Cancel unpaid orders whose payment time is over; their stock comes back exactly once."""
    now = now or deps.clock()
    due = await Order.filter(status=OrderStatus.PENDING_PAYMENT, expires_at__lte=now).order_by("id").limit(SWEEP_BATCH)
    done = 0
    for order in due:
        try:
            await close_then_cancel(deps, order, "expired")
            done += 1
        except (DomainError, PaymentGatewayError) as exc:
            log.info("expiry skipped", order=order.number, reason=str(exc))
    return done


async def auto_confirm_due(deps: OrderDeps, now: datetime | None = None) -> int:
    """Shipped orders the customer never confirmed are completed after auto_confirm_days."""
    cutoff = (now or deps.clock()) - timedelta(days=deps.auto_confirm_days)
    due = await Order.filter(status=OrderStatus.SHIPPED, shipped_at__lte=cutoff).order_by("id").limit(SWEEP_BATCH)
    done = 0
    for order in due:
        try:
            await _complete(deps, order)
            done += 1
        except DomainError:
            continue
    return done


async def reconcile_due(deps: OrderDeps, now: datetime | None = None, quiet_minutes: int = 2) -> int:
    """Query WeChat Pay for prepaid trades that have had no notification for a while."""
    cutoff = (now or deps.clock()) - timedelta(minutes=quiet_minutes)
    pending = await Payment.filter(
        status=PaymentStatus.PENDING, prepay_id__isnull=False, created_at__lte=cutoff
    ).order_by("id").limit(SWEEP_BATCH)
    settled = 0
    for payment in pending:
        try:
            if await reconcile(deps, payment.out_trade_no) in {"paid", "revived", "refund"}:
                settled += 1
        except (DomainError, PaymentGatewayError) as exc:
            log.info("reconcile skipped", out_trade_no=payment.out_trade_no, reason=str(exc))
    return settled
