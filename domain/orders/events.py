"""What other areas hear of an order's life: one seam, so attribution, commissions and rewards never edit the order
code.

Every event is told inside the transaction that made it happen, so what a listener writes commits or rolls back
with it; a listener must be idempotent (the same event may be told again, e.g. by a sweep finishing a crashed run)
and must not call out of the process. The server wires the listeners (`domain.selling.order_events`).

- `placed`: the order and its lines were just written (checkout, a flash sale buy); `placed_all`: several orders
  written in one transaction (a flash sale group commit), each told as `placed` unless a listener does better;
- `confirmed`: the sale is final: paid, or for a group-buy order, paid and its group succeeded;
- `completed`: received by the customer (confirmed, picked up, or completed by the sweep);
- `refunded`: a refund of the order succeeded (`order.refunded_total` includes it).

A group that fails confirms none of its orders; their refunds are still told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.orders.models import Order, Refund


class OrderEvents:
    """A listener: override what it cares about. This base hears nothing."""

    async def placed(self, order: Order) -> None:
        pass

    async def placed_all(self, orders: Sequence[Order]) -> None:
        for order in orders:
            await self.placed(order)

    async def confirmed(self, order: Order) -> None:
        pass

    async def completed(self, order: Order) -> None:
        pass

    async def refunded(self, order: Order, refund: Refund) -> None:
        pass


class Listeners(OrderEvents):
    """Tells each event to every listener, in order."""

    def __init__(self, listeners: Sequence[OrderEvents]) -> None:
        self.listeners = tuple(listeners)

    async def placed(self, order: Order) -> None:
        for listener in self.listeners:
            await listener.placed(order)

    async def placed_all(self, orders: Sequence[Order]) -> None:
        for listener in self.listeners:
            await listener.placed_all(orders)

    async def confirmed(self, order: Order) -> None:
        for listener in self.listeners:
            await listener.confirmed(order)

    async def completed(self, order: Order) -> None:
        for listener in self.listeners:
            await listener.completed(order)

    async def refunded(self, order: Order, refund: Refund) -> None:
        for listener in self.listeners:
            await listener.refunded(order, refund)


NOBODY = OrderEvents()
