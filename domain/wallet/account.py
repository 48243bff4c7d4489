"""A customer's wallet: the `principal` and `bonus` buckets of the balance ledger, and their movements."""

from __future__ import annotations

from dataclasses import dataclass

from domain.balances import service as balances
from domain.balances.models import BalanceEntry
from domain.balances.service import Owner
from domain.pagination import Page, paginate

OWNER_KIND = "customer"
PRINCIPAL = "principal"
"""What the customer paid in: may go back to them as cash (a recharge refund)."""
BONUS = "bonus"
"""What the shop gave: spent like principal, never paid out."""
BUCKETS = (BONUS, PRINCIPAL)
"""Both buckets, in name order: the order every wallet movement locks and writes their balance rows in (as
`balances.shift` does), so two never wait for each other in a circle."""


def owner(customer_id: int) -> Owner:
    return Owner(OWNER_KIND, customer_id)


@dataclass(frozen=True)
class Wallet:
    principal: int
    bonus: int

    @property
    def balance(self) -> int:
        return self.principal + self.bonus


async def wallet_of(customer_id: int) -> Wallet:
    held = await balances.balances(owner(customer_id))
    return Wallet(held.get(PRINCIPAL, 0), held.get(BONUS, 0))


async def locked_wallet(customer_id: int) -> Wallet:
    """Inside a transaction: the wallet, both balance rows locked (in `BUCKETS` order) until it ends."""
    held = {bucket: await balances.locked(owner(customer_id), bucket) for bucket in BUCKETS}
    return Wallet(held[PRINCIPAL], held[BONUS])


async def ledger(customer_id: int, first: int | None, after: str | None) -> Page[BalanceEntry]:
    """Every movement of the wallet's two buckets, newest first."""
    query = BalanceEntry.filter(owner_kind=OWNER_KIND, owner_id=customer_id, bucket__in=(PRINCIPAL, BONUS))
    return await paginate(query, ("id",), first, after, descending=True)
