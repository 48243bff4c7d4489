"""How much one customer may hold at once: nobody hoards stock with orders they never pay."""

from __future__ import annotations

from domain.errors import DomainError, ErrorCode
from domain.orders.models import Order, OrderKind, OrderStatus

#: Order kinds whose unpaid orders hold stock (a recharge holds none).
HOLDING_KINDS = [kind for kind in OrderKind if kind is not OrderKind.RECHARGE]


async def pending_orders(customer_id: int) -> int:
    return await Order.filter(
        customer_id=customer_id, status=OrderStatus.PENDING_PAYMENT, kind__in=HOLDING_KINDS
    ).count()


async def check_pending(customer_id: int, limit: int) -> None:
    """LIMIT_EXCEEDED when the customer already holds `limit` unpaid orders. Race-free only inside the order's
    transaction with the customer's row locked (`checkout.earlier_tap`), so concurrent checkouts count one by one."""
    held = await pending_orders(customer_id)
    if held >= limit:
        raise DomainError(
            ErrorCode.LIMIT_EXCEEDED,
            f"you have {held} unpaid orders, the most one customer may hold: pay or cancel one first",
        )
