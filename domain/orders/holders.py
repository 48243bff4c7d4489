"""The name under which an order's units are held in the fast gates (the stock counter, a flash sale's pool).

An order placed with an idempotency key is held under that key, so a double tap finds the units its twin holds
(and waits for the twin's order) instead of taking them twice or being told they are sold out; any other order is
held under its number.
"""

from __future__ import annotations

from domain.orders.models import Order


def holder_for(customer_id: int, idempotency_key: str | None, number: str) -> str:
    return f"k:{customer_id}:{idempotency_key}" if idempotency_key else f"n:{number}"


def holder_of(order: Order) -> str:
    return holder_for(order.customer_id, order.idempotency_key, order.number)
