"""What a checkout and its payment notification cost the database, counted as it receives them (every statement,
BEGIN and COMMIT included; on PostgreSQL one round trip each), so the lean path stays lean.

Counted on 2026-12-04 (the last row on 2026-12-05), a steady-state checkout (the customer's second) of one unit
with an idempotency key, asked with the bench's selection (`bench/_checkout_load.py`), and the notification of its
payment:

| | checkout | notification | together |
|---|---|---|---|
| PostgreSQL, asyncpg's reset on every release (before) | 30 (10 of them resets) | 22 (5 resets) | 52 |
| PostgreSQL, no reset (`domain.db.PooledConnection`) | 20 | 17 | 37 |
| PostgreSQL, set-based holds and ledger, one SKU join; the member levels read (+1) | 18 | 14 | 32 |
| SQLite (each INSERT adds `SELECT last_insert_rowid()`) | 20 | 15 | 35 |
| PostgreSQL, lean path (below) | 11 | 8 | 19 |
| SQLite, lean path | 14 | 11 | 25 |
| PostgreSQL, promotions, levels and settings remembered between staff changes (`domain.remembered`) | 7 | 8 | 15 |
| SQLite, the same | 10 | 11 | 21 |
| PostgreSQL, one SKU sold by one statement; the notification recorded by the payment's claim | 7 | 6 | 13 |

PostgreSQL's checkout of 11, in order: the SKUs; three promotion reads (discount items, member levels,
spend-and-save); BEGIN; the customer's row locked; the order, its lines and its first trade, inserted only if the
key is new and the customer under the unpaid-order cap; the distribution settings; the SKUs' holds and
reservations; COMMIT; the prepay id. The notification's 6: BEGIN; the trade claimed (unless its notification was
seen), its ledger entry, the notification's record (as PAID; corrected in the same transaction if the payment did
something else), its order locked and read; the order PAID; the held units settled and, for one SKU, its stock and
stock movement (several SKUs: their rows then locked in id order, and sold by one more); the order's attribution
(commissions); COMMIT. The four reads of promotions and settings are remembered between staff changes
(`domain.remembered`), which leaves 7 + 6: 13 together (issue #12 asks at most 15).

The bounds below are today's counts: lower them as the path gets leaner."""

from __future__ import annotations

from typing import Any

from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS, order_row
from tests.support.statements import count_statements

CHECKOUT = """mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) {
    order { id number status payable { amount } }
    payment { timeStamp nonceStr package signType paySign }
    errors { code message }
  }
}"""
CHECKOUT_STATEMENTS = {"real": 7, "embedded": 10}
NOTIFY_STATEMENTS = {"real": 6, "embedded": 11}
RESET = ("pg_advisory_unlock_all", "RESET ALL", "UNLISTEN")


async def test_a_checkout_and_its_payment_notification_stay_within_their_statement_counts(
    shop, gql, customer_token, backend
):
    sku = await shop.sku(stock=10)

    async def checkout(key: str) -> dict[str, Any]:
        variables = {"input": {"delivery": {"address": ADDRESS}, "idempotencyKey": key,
                               "lines": [{"skuId": gid("Sku", sku.id), "quantity": 1}]}}
        result: dict[str, Any] = (await gql.data(CHECKOUT, variables, customer_token))["checkout"]
        assert result["errors"] == [], result["errors"]
        return result

    await shop.pay((await checkout("first"))["payment"])  # what a process reads once (settings, caches) is read
    async with count_statements() as placing:
        placed = await checkout("second")
    async with count_statements() as notified:
        await shop.pay(placed["payment"])

    assert (await order_row(placed["order"])).status == "PAID"
    assert not [s for s in placing + notified if any(word in s for word in RESET)]
    assert len(placing) <= CHECKOUT_STATEMENTS[backend.name], placing
    assert len(notified) <= NOTIFY_STATEMENTS[backend.name], notified
