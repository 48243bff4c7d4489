"""The chaos test, short: bench/chaos.py's run (real processes, real PostgreSQL, a Redis of its own) and its checks.

The checks themselves are shown to catch what they look for, on hand-made states, so that a green chaos run means
something.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench._chaos_checks import check_payments, check_refunds, check_stock, check_stuck
from bench.chaos import parse_args, run_chaos
from tests.support import backends

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
TRADE = {"out_trade_no": "P1", "trade_state": "SUCCESS", "transaction_id": "T1", "amount": {"total": 990}}
PAYMENT = {"out_trade_no": "P1", "status": "SUCCEEDED", "amount": 990, "transaction_id": "T1"}


def test_a_payment_is_consistent_when_the_trade_the_payment_and_the_ledger_agree() -> None:
    assert check_payments([TRADE], [PAYMENT], {"pay:P1": 990}).ok


def test_a_payment_missing_from_the_ledger_or_pond_or_paid_twice_in_the_ledger_is_a_discrepancy() -> None:
    assert not check_payments([TRADE], [PAYMENT], {}).ok
    assert not check_payments([TRADE], [{**PAYMENT, "status": "PENDING"}], {}).ok
    assert not check_payments([], [PAYMENT], {"pay:P1": 990}).ok
    assert not check_payments([TRADE], [PAYMENT], {"pay:P1": 990, "pay:P2": 990}).ok


def test_a_refund_left_requested_or_processing_past_its_reconcile_is_a_discrepancy() -> None:
    old = NOW - timedelta(minutes=10)
    base = {"out_refund_no": "R1", "amount": 500, "updated_at": old, "order_id": 1}
    grace = timedelta(minutes=1)
    assert not check_refunds([], [{**base, "status": "REQUESTED"}], {}, NOW, grace).ok
    assert not check_refunds([], [{**base, "status": "PROCESSING"}], {}, NOW, grace).ok
    assert check_refunds([], [{**base, "status": "FAILED"}], {}, NOW, grace).ok
    done = [{"out_refund_no": "R1", "status": "SUCCESS"}]
    assert check_refunds(done, [{**base, "status": "SUCCEEDED"}], {"refund:R1": -500}, NOW, grace).ok
    assert not check_refunds(done, [{**base, "status": "SUCCEEDED"}], {}, NOW, grace).ok


def test_stock_that_disagrees_with_its_holds_movements_or_redis_counter_is_a_discrepancy() -> None:
    sku = {"id": 1, "stock": 10, "reserved": 2}
    assert check_stock([sku], {1: 2}, {1: 10}, {1: 8}).ok
    assert check_stock([sku], {1: 2}, {1: 10}, {}).ok  # a counter not loaded since a flush is loaded on use
    assert not check_stock([sku], {1: 1}, {1: 10}, {1: 8}).ok
    assert not check_stock([sku], {1: 2}, {1: 11}, {1: 8}).ok
    assert not check_stock([sku], {1: 2}, {1: 10}, {1: 9}).ok


def test_an_order_pending_past_its_expiry_or_refunding_with_no_open_refund_is_stuck() -> None:
    sweep = timedelta(seconds=30)
    pending = {"id": 1, "number": "N1", "status": "PENDING_PAYMENT", "expires_at": NOW - timedelta(minutes=1)}
    assert not check_stuck([pending], set(), NOW, sweep).ok
    assert check_stuck([{**pending, "expires_at": NOW}], set(), NOW, sweep).ok
    refunding = {**pending, "status": "REFUNDING"}
    assert not check_stuck([refunding], set(), NOW, sweep).ok
    assert check_stuck([refunding], {1}, NOW, sweep).ok


def test_customers_pay_and_get_refunds_through_a_killed_worker_a_flushed_redis_and_a_failing_wechat_pay() -> None:
    """Real processes: pond serve, pond worker, both WeChat simulators, a redis-server of the test's own."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    asyncio.run(backends.check_redis())  # skips when the real backends are unavailable, as the real half does
    database = f"pond_chaos_{uuid.uuid4().hex[:10]}"
    args = parse_args(["--seconds", "16", "--customers", "24", "--concurrency", "6", "--settle", "12",
                       "--database", database])
    try:
        outcome = run_chaos(args)
    finally:
        asyncio.run(backends.drop_pg_database(f"postgres://postgres@127.0.0.1:5432/{database}"))
    report = outcome.report()
    assert [f.what for f in outcome.chaos.faults] == [
        "worker killed, restarted", "Redis FLUSHALL", "WeChat Pay answers SYSTEM_ERROR (HTTP 500)",
        "WeChat Pay refunds answer SYSTEM_ERROR", "WeChat Pay answers too late (calls time out)",
        "WeChat Pay drops notifications"], report
    assert outcome.tally.paid > 0 and outcome.chaos.refunds_approved > 0, report
    assert outcome.chaos.dropped > 0, report  # some payments or refunds were found by the sweeps alone
    assert outcome.ok, report
