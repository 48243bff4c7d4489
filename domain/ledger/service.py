"""Writing the ledger: each movement once, by its reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.columns import column
from domain.ledger.models import LedgerEntry

if TYPE_CHECKING:
    from domain.orders.models import Order


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


async def balances_by_order(order_ids: Sequence[int], account: str = "wechatpay") -> dict[int, int]:
    """`order_balance` for many orders in one query (an order with no entry is absent)."""
    found: dict[int, int] = {}
    for order_id, amount in await LedgerEntry.filter(order_id__in=list(order_ids), account=account) \
            .values_list("order_id", "amount"):
        found[order_id] = found.get(order_id, 0) + amount
    return found


def kept_of_sale(money_in: int, wallet_paid: int, wechat_balance: int) -> int:
    """What the customer still pays for an order's sale: its WeChat Pay net on the ledger plus its wallet part, never
    above what the order cost. A second payment refunded in full (an unwanted one) leaves it whole, where
    `Order.refunded_total`, which counts that refund too, would not."""
    return max(0, min(money_in, wechat_balance + wallet_paid))


async def refunded_of_sale(order: Order) -> int:
    """What refunds took back of the order's sale (not of an unwanted second payment)."""
    return order.money_in - kept_of_sale(order.money_in, order.wallet_paid, await order_balance(order.id))
