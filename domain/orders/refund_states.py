"""The refund lifecycle: every allowed status change, in one table, guarded by one function.

A FAILED refund still owes the customer its money: it is sent again (by the retry sweep or by staff) and may still
succeed late (WeChat Pay reports the same out_refund_no as SUCCESS after all), so it is not final.
"""

from __future__ import annotations

from tortoise.timezone import now

from domain.orders.models import Refund, RefundStatus

R = RefundStatus
TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    R.REQUESTED: frozenset({R.PROCESSING, R.REJECTED}),
    R.PROCESSING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.FAILED: frozenset({R.PROCESSING, R.SUCCEEDED}),
    R.SUCCEEDED: frozenset(),
    R.REJECTED: frozenset(),
}
IN_FLIGHT = (R.REQUESTED, R.PROCESSING)
"""Refunds that keep their order REFUNDING."""
UNSETTLED = (R.REQUESTED, R.PROCESSING, R.FAILED)
"""Refunds whose money is spoken for: no other refund of the order may open, nor ask for the same money again."""
SYSTEM = "system"
"""Who opens and decides the give-back of a payment no order could use (`Refund.requested_by`)."""


def can_move(current: RefundStatus, target: RefundStatus) -> bool:
    return target in TRANSITIONS[current]


async def move(refund: Refund, target: RefundStatus, **changes: object) -> bool:
    """Change the refund's status if the table allows it from the status read and nobody changed it meanwhile.

    False (and the refund re-read) when it was not moved: the update is conditional on the status read, so two
    concurrent moves cannot both succeed.
    """
    current = refund.status
    changes.setdefault("updated_at", now())  # a bulk update leaves auto_now alone: the sweeps go by it
    if can_move(current, target) and await Refund.filter(id=refund.id, status=current).update(
        status=target, **changes
    ):
        refund.status = target
        for name, value in changes.items():
            setattr(refund, name, value)
        return True
    await refund.refresh_from_db()
    return False


def owed(refunds: list[Refund]) -> int:
    """What an order's failed refunds still owe its customer (they are sent again until they pay out)."""
    return sum(refund.amount for refund in refunds if refund.status == R.FAILED)
