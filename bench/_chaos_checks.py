"""What must hold after chaos (bench/chaos.py and tests/workers/test_chaos.py both call `check_all`).

Read straight from PostgreSQL, the Redis stock counter and the WeChat Pay simulator's own state (`GET /__sim/state`),
never through Pond's code, so that a bug in Pond cannot hide itself:

* paid exactly once: every SUCCESS trade at the simulator is one SUCCEEDED payment in Pond (same transaction id and
  amount) and one `pay:<out_trade_no>` ledger entry of that amount, and the other way round;
* refunds done or queued: none REQUESTED (staff decided every one), none PROCESSING past the reconcile grace; every
  SUCCEEDED one is SUCCESS at the simulator with one `refund:<out_refund_no>` ledger entry of minus its amount;
* stock equals its audit trail: a SKU's `reserved` is the sum of its HELD reservations, its stock the last
  movement's `stock_after`, and the Redis counter (where loaded) is stock − reserved;
* nothing stuck: no PENDING_PAYMENT order past its expiry plus a sweep, no REFUNDING order without an open refund.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PAID_STATES = ("SUCCESS", "REFUND")  # a refunded trade was paid first


@dataclass
class Check:
    name: str
    checked: int = 0
    discrepancies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name} ({self.checked} checked)"
        shown = "; ".join(self.discrepancies[:10])
        more = f" (+{len(self.discrepancies) - 10} more)" if len(self.discrepancies) > 10 else ""
        return f"FAIL  {self.name}: {shown}{more}"


def check_payments(trades: list[dict[str, Any]], payments: list[Any], ledger: dict[str, int]) -> Check:
    check = Check("every paid order is paid exactly once (simulator trades = payments = ledger)")
    succeeded = {p["out_trade_no"]: p for p in payments if p["status"] == "SUCCEEDED"}
    paid_trades = {t["out_trade_no"]: t for t in trades if t["trade_state"] in PAID_STATES}
    for no, trade in paid_trades.items():
        check.checked += 1
        payment = succeeded.get(no)
        if payment is None:
            check.discrepancies.append(f"trade {no} paid at WeChat Pay, not SUCCEEDED in Pond")
        elif payment["transaction_id"] != trade["transaction_id"] or payment["amount"] != trade["amount"]["total"]:
            check.discrepancies.append(f"payment {no}: Pond has {payment['transaction_id']}/{payment['amount']}, "
                                       f"WeChat Pay {trade['transaction_id']}/{trade['amount']['total']}")
    for no, payment in succeeded.items():
        if no not in paid_trades:
            check.discrepancies.append(f"payment {no} SUCCEEDED in Pond without a paid trade")
        if ledger.get(f"pay:{no}") != payment["amount"]:
            check.discrepancies.append(f"payment {no}: ledger has {ledger.get(f'pay:{no}')}, not {payment['amount']}")
    for reference in ledger:
        if reference.startswith("pay:") and reference.removeprefix("pay:") not in succeeded:
            check.discrepancies.append(f"ledger entry {reference} without a SUCCEEDED payment")
    return check


def check_refunds(sim_refunds: list[dict[str, Any]], refunds: list[Any], ledger: dict[str, int],
                  now: datetime, grace: timedelta) -> Check:
    check = Check("every refund is done or queued (SUCCEEDED, or FAILED in staffRefunds)")
    at_sim = {r["out_refund_no"]: r for r in sim_refunds}
    for refund in refunds:
        check.checked += 1
        no, status = refund["out_refund_no"], refund["status"]
        if status == "REQUESTED":
            check.discrepancies.append(f"refund {no} still REQUESTED")
        elif status == "PROCESSING" and refund["updated_at"] < now - grace:
            check.discrepancies.append(f"refund {no} PROCESSING since {refund['updated_at']:%H:%M:%S}")
        elif status == "SUCCEEDED":
            sim = at_sim.get(no)
            if sim is None or sim["status"] != "SUCCESS":
                check.discrepancies.append(f"refund {no} SUCCEEDED in Pond, {sim and sim['status']} at WeChat Pay")
            if ledger.get(f"refund:{no}") != -refund["amount"]:
                check.discrepancies.append(f"refund {no}: ledger has {ledger.get(f'refund:{no}')}")
    return check


def check_stock(skus: list[Any], held: dict[int, int], last_after: dict[int, int],
                counter: dict[int, int | None]) -> Check:
    check = Check("stock equals its audit trail (holds, movements, the Redis counter)")
    for sku in skus:
        check.checked += 1
        sku_id = sku["id"]
        if sku["reserved"] != held.get(sku_id, 0):
            check.discrepancies.append(f"SKU {sku_id}: reserved {sku['reserved']}, HELD {held.get(sku_id, 0)}")
        if sku_id in last_after and last_after[sku_id] != sku["stock"]:
            check.discrepancies.append(f"SKU {sku_id}: stock {sku['stock']}, last movement {last_after[sku_id]}")
        count = counter.get(sku_id)
        if count is not None and count != sku["stock"] - sku["reserved"]:
            check.discrepancies.append(f"SKU {sku_id}: Redis counter {count}, stock − reserved "
                                       f"{sku['stock'] - sku['reserved']}")
    return check


def check_stuck(orders: list[Any], open_refunds: set[int], now: datetime, sweep: timedelta) -> Check:
    check = Check("no order stuck in a passing state past its sweep")
    for order in orders:
        check.checked += 1
        if order["status"] == "PENDING_PAYMENT" and order["expires_at"] < now - sweep:
            check.discrepancies.append(f"order {order['number']} PENDING_PAYMENT, expired {order['expires_at']:%X}")
        if order["status"] == "REFUNDING" and order["id"] not in open_refunds:
            check.discrepancies.append(f"order {order['number']} REFUNDING with no open refund")
    return check


async def check_all(database_url: str, redis_url: str, redis_prefix: str, sim_state: dict[str, Any], *,
                    now: datetime, sweep: timedelta, refund_grace: timedelta) -> list[Check]:
    """Every check, from the database at `database_url`, Pond's Redis and the simulator's `GET /__sim/state`."""
    import asyncpg
    import redis.asyncio as aioredis

    conn = await asyncpg.connect(database_url)
    try:
        payments = await conn.fetch("SELECT out_trade_no, status, amount, transaction_id FROM orders_payment")
        ledger = {r["reference"]: int(r["amount"]) for r in await conn.fetch(
            "SELECT reference, amount FROM ledger_entry")}
        refunds = await conn.fetch("SELECT out_refund_no, status, amount, updated_at, order_id FROM orders_refund")
        skus = await conn.fetch("SELECT id, stock, reserved FROM catalog_sku WHERE deleted_at IS NULL")
        held = {r["sku_id"]: int(r["units"]) for r in await conn.fetch(
            "SELECT sku_id, sum(quantity) AS units FROM inventory_reservation WHERE state = 'HELD' GROUP BY sku_id")}
        last_after = {r["sku_id"]: r["stock_after"] for r in await conn.fetch(
            "SELECT DISTINCT ON (sku_id) sku_id, stock_after FROM catalog_stock_movement ORDER BY sku_id, id DESC")}
        orders = await conn.fetch("SELECT id, number, status, expires_at FROM orders_order")
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_url)
    try:
        raw = await client.hgetall(f"{{{redis_prefix}:stock}}:counts")
    finally:
        await client.aclose()
    counter: dict[int, int | None] = {int(k): int(v) for k, v in raw.items()}
    open_refunds = {r["order_id"] for r in refunds if r["status"] in ("REQUESTED", "PROCESSING", "FAILED")}
    return [
        check_payments(sim_state["transactions"], payments, ledger),
        check_refunds(sim_state["refunds"], refunds, ledger, now, refund_grace),
        check_stock(skus, held, last_after, counter),
        check_stuck(orders, open_refunds, now, sweep),
    ]
