"""A distributor's commission balance: its buckets in the balance ledger, and the moves withdrawals make.

    pending ──freeze passed──▶ available ──withdrawal──▶ withdrawn
                                   ▲  └──refund after available: clawback (may go below 0)──▶ (clawed_back counts it)
                                   └──withdrawal rejected or failed: given back

`summary` reads the buckets; every figure is a sum of ledger entries (domain.balances)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.balances import service as balances
from domain.balances.service import Insufficient, Owner
from domain.commissions.models import AVAILABLE, CLAWED_BACK, OWNER_KIND, PENDING, WITHDRAWN
from domain.commissions.states import mark_withdrawn

__all__ = ["Insufficient", "Summary", "give_back_withdrawal", "owner", "summary", "take_for_withdrawal"]


def owner(distributor_id: int) -> Owner:
    return Owner(OWNER_KIND, distributor_id)


@dataclass(frozen=True)
class Summary:
    pending: int
    available: int
    """Negative while clawbacks exceed what was earned since: withdrawals wait."""
    withdrawn: int
    clawed_back: int
    lifetime: int
    """Earned and kept: pending + available + withdrawn (clawbacks are already taken from available)."""


async def summary(distributor_id: int) -> Summary:
    held = await balances.balances(owner(distributor_id))
    pending, available, withdrawn = held.get(PENDING, 0), held.get(AVAILABLE, 0), held.get(WITHDRAWN, 0)
    return Summary(pending, available, withdrawn, held.get(CLAWED_BACK, 0), pending + available + withdrawn)


async def take_for_withdrawal(distributor_id: int, amount: int, reference: str) -> bool:
    """Inside the withdrawal's transaction: `amount` leaves `available` for `withdrawn`, never taking `available`
    below 0 (raises `Insufficient`; of concurrent withdrawals only those the balance covers pass). False when this
    reference already moved."""
    moved = await balances.shift(owner(distributor_id), AVAILABLE, WITHDRAWN, amount, reference, floor=0)
    if moved:
        await mark_withdrawn(distributor_id)
    return moved


async def give_back_withdrawal(distributor_id: int, amount: int, reference: str) -> bool:
    """Inside the transaction that rejects a withdrawal or learns its transfer failed: the amount goes back to
    `available`, once per `reference`."""
    moved = await balances.shift(owner(distributor_id), WITHDRAWN, AVAILABLE, amount, reference, floor=None)
    if moved:
        await mark_withdrawn(distributor_id)
    return moved
