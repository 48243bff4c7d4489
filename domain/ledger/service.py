"""Writing the ledger: each movement once, by its reference."""

from __future__ import annotations

from domain.columns import column
from domain.ledger.models import LedgerEntry


async def record(*, account: str, kind: str, amount: int, reference: str, order_id: int | None = None) -> bool:
    """Record a movement unless its reference is already there; call inside the transaction that moves the money."""
    if await LedgerEntry.filter(reference=reference).exists():
        return False
    await LedgerEntry.create(account=account, kind=kind, amount=amount, reference=reference, order_id=order_id)
    return True


async def order_balance(order_id: int, account: str = "wechatpay") -> int:
    """Net money received for an order on one account: payments minus refunds."""
    amounts = await column(LedgerEntry.filter(order_id=order_id, account=account), "amount", int)
    return sum(amounts)
