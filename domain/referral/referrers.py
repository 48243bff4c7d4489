"""Who referred a customer: the owner of the share that first brought them (one rule, here)."""

from __future__ import annotations

from datetime import datetime

from domain.distribution.models import BindingChange, ShareLink, ShareOpen
from domain.orders.models import Order


async def referrer_of(customer_id: int) -> int | None:
    """The owner of the earliest share among the customer's share opens, their first binding and their first
    order's share code, not counting shares the customer owns; None when nobody referred them."""
    touches: list[tuple[datetime, int]] = []
    opened = await ShareOpen.filter(customer_id=customer_id).exclude(link__customer_id=customer_id) \
        .order_by("opened_at", "id").first().prefetch_related("link")
    if opened is not None:
        touches.append((opened.opened_at, opened.link.customer_id))
    binding = await BindingChange.filter(customer_id=customer_id).order_by("bound_at", "id").first()
    if binding is not None:
        link = await ShareLink.get_or_none(code=binding.code)
        if link is not None and link.customer_id != customer_id:
            touches.append((binding.bound_at, link.customer_id))
    first = await Order.filter(customer_id=customer_id).order_by("created_at", "id").first()
    if first is not None and first.share_code:
        link = await ShareLink.get_or_none(code=first.share_code)
        if link is not None and link.customer_id != customer_id:
            touches.append((first.created_at, link.customer_id))
    if not touches:
        return None
    return min(touches, key=lambda touch: touch[0])[1]
