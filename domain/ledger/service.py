"""Writing the ledger: each movement once, by its reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.columns import column
from domain.ledger.models import LedgerEntry
from domain.raw_sql import Params, db_value, fetch

if TYPE_CHECKING:
    from domain.orders.models import Order

WECHATPAY = "wechatpay"
WALLET_PRINCIPAL = "wallet_principal"
WALLET_BONUS = "wallet_bonus"
ORDER_ACCOUNTS = (WECHATPAY, WALLET_PRINCIPAL, WALLET_BONUS)
"""Where an order's money comes from: its parts (`domain.wallet.spending` moves the wallet's)."""
PAYMENT, REFUND, RELEASE = "payment", "refund", "release"
"""Kinds of entry: money in, money back by a refund, and a wallet part given back when its order is cancelled."""


_INSERT = 'INSERT INTO "ledger_entry" ("account", "kind", "amount", "reference", "order_id", "created_at")'
_ONCE = 'ON CONFLICT ("reference") DO NOTHING'
_RECORD = f'{_INSERT} VALUES ($1, $2, $3, $4, $5, $6) {_ONCE} RETURNING "id"'


async def record(*, account: str, kind: str, amount: int, reference: str, order_id: int | None = None) -> bool:
    """Record a movement unless its reference is already there (one statement); call inside the transaction that
    moves the money. True when recorded."""
    return bool(await fetch(_RECORD, account, kind, amount, reference, order_id, _now()))


def record_sql(params: Params, rows: str, order_id: str, *, account: str, kind: str, amount: int,
               reference: str) -> str:
    """`record` as a statement inside another (PostgreSQL's WITH): recorded once for the row of `rows` (a WITH
    query of the statement), its order the column `order_id` of it."""
    return (f'{_INSERT} SELECT {params(account)}, {params(kind)}, {params(amount)}, {params(reference)}, '
            f'{rows}."{order_id}", {params(_now())} FROM {rows} {_ONCE}')


def _now() -> object:
    return db_value(LedgerEntry, "created_at", datetime.now(UTC))


@dataclass(frozen=True)
class Part:
    """One part of an order's money: where it came from (an account of `ORDER_ACCOUNTS`), what the order holds of it
    (paid, less a wallet part given back when the order was cancelled) and what refunds gave back of it."""

    account: str
    paid: int
    refunded: int


async def parts_by_order(order_ids: Sequence[int]) -> dict[int, list[Part]]:
    """Each order's money as its parts, in `ORDER_ACCOUNTS` order (a part never moved is absent)."""
    sums: dict[tuple[int, str], list[int]] = {}
    rows = LedgerEntry.filter(order_id__in=list(order_ids), account__in=ORDER_ACCOUNTS)
    for order_id, account, kind, amount in await rows.values_list("order_id", "account", "kind", "amount"):
        paid_refunded = sums.setdefault((order_id, account), [0, 0])
        if kind == REFUND:
            paid_refunded[1] -= amount
        else:
            paid_refunded[0] += amount
    found: dict[int, list[Part]] = {}
    for order_id in order_ids:
        found[order_id] = [Part(account, *sums[(order_id, account)]) for account in ORDER_ACCOUNTS
                           if (order_id, account) in sums]
    return found


async def order_balance(order_id: int, accounts: Sequence[str] = ORDER_ACCOUNTS) -> int:
    """Net money the shop holds for an order (every part, or those of `accounts`): payments minus refunds and wallet
    parts given back."""
    amounts = await column(LedgerEntry.filter(order_id=order_id, account__in=tuple(accounts)), "amount", int)
    return sum(amounts)


async def balances_by_order(order_ids: Sequence[int], accounts: Sequence[str] = ORDER_ACCOUNTS) -> dict[int, int]:
    """`order_balance` for many orders in one query (an order with no entry is absent)."""
    found: dict[int, int] = {}
    for order_id, amount in await LedgerEntry.filter(order_id__in=list(order_ids), account__in=tuple(accounts)) \
            .values_list("order_id", "amount"):
        found[order_id] = found.get(order_id, 0) + amount
    return found


def kept_of_sale(money_in: int, balance: int) -> int:
    """What the customer still pays for an order's sale: the order's net on the ledger (every part), never above what
    the order cost. A second payment refunded in full (an unwanted one) leaves it whole, where
    `Order.refunded_total`, which counts that refund too, would not."""
    return max(0, min(money_in, balance))


async def refunded_of_sale(order: Order) -> int:
    """What refunds took back of the order's sale (not of an unwanted second payment)."""
    return order.money_in - kept_of_sale(order.money_in, await order_balance(order.id))
