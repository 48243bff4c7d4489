"""A commission's life: every allowed status change, in one table, and which available commissions the
withdrawals have covered.

    PENDING ──order completed and its freeze passed──▶ AVAILABLE ◀──▶ WITHDRAWN
       └──its order refunded in full before that──▶ CANCELLED
"""

from __future__ import annotations

from domain.balances.models import Balance
from domain.commissions.models import OWNER_KIND, WITHDRAWN, Commission, CommissionStatus

C = CommissionStatus
TRANSITIONS: dict[CommissionStatus, frozenset[CommissionStatus]] = {
    C.PENDING: frozenset({C.AVAILABLE, C.CANCELLED}),
    C.AVAILABLE: frozenset({C.WITHDRAWN}),
    C.WITHDRAWN: frozenset({C.AVAILABLE}),
    C.CANCELLED: frozenset(),
}
SETTLED = (C.AVAILABLE, C.WITHDRAWN)
"""Past the freeze: a refund now claws back instead of reducing."""


def net(commission: Commission) -> int:
    """What the commission is worth now: earned, less what refunds reduced or clawed back."""
    return commission.amount - commission.reduced - commission.clawed_back


async def mark_withdrawn(distributor_id: int) -> None:
    """Inside the transaction that moved the distributor's `withdrawn` bucket or changed a settled commission:
    withdrawals cover the settled commissions oldest first (by when they became available), and a commission the
    running total of withdrawals covers in full is WITHDRAWN, the others AVAILABLE. A withdrawal given back makes
    the commissions it covered AVAILABLE again."""
    row = await Balance.filter(owner_kind=OWNER_KIND, owner_id=distributor_id, bucket=WITHDRAWN).first()
    covered = 0 if row is None else int(row.amount)
    settled = await Commission.filter(distributor_id=distributor_id, status__in=SETTLED).order_by("available_at", "id")
    running = 0
    to_withdrawn: list[int] = []
    to_available: list[int] = []
    for commission in settled:
        running += net(commission)
        wanted = C.WITHDRAWN if running <= covered else C.AVAILABLE
        if commission.status is not wanted:
            (to_withdrawn if wanted is C.WITHDRAWN else to_available).append(commission.id)
    if to_withdrawn:
        await Commission.filter(id__in=to_withdrawn).update(status=C.WITHDRAWN)
    if to_available:
        await Commission.filter(id__in=to_available).update(status=C.AVAILABLE)
