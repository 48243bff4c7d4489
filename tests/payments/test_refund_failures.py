"""A refund that fails is never silent: it ends FAILED, says so loudly, owes its money on the order and is retried."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from domain.errors import DomainError, ErrorCode
from domain.identity.models import Customer
from domain.orders import payment, refund_states
from domain.orders.models import Order, OrderStatus, Payment, Refund, RefundStatus
from domain.orders.refund_calls import RETRY_AFTER, apply_refund_status, reconcile_refunds, retry_by_staff, retry_due
from domain.orders.refunds import refund_directly
from tests.fixtures.orders_paid import PayFlow, ledger, reload, stock


def failures_counted(reason: str) -> float:
    return REGISTRY.get_sample_value("pond_refund_failures_total", {"reason": reason}) or 0.0


async def paid_order(pay_flow: PayFlow, quantity: int = 1) -> Order:
    sku = await pay_flow.sku(price=1990, stock=3)
    order, params = await pay_flow.place((sku, quantity))
    await pay_flow.paid(params)
    return await reload(order)


async def late_payment_for_sold_stock(pay_flow: PayFlow) -> tuple[Order, Refund]:
    """An order cancelled, its only unit sold to someone else, then paid after all: the money must go back."""
    sku = await pay_flow.sku(price=1990, stock=1)
    order, params = await pay_flow.place((sku, 1))
    await payment.cancel(pay_flow.deps, order, "expired")
    other = await Customer.create(openid="o-pay-other", nickname="other")
    _, other_params = await pay_flow.place((sku, 1), buyer=other)
    await pay_flow.paid(other_params)
    await pay_flow.paid(params)
    [refund] = await Refund.filter(order_id=order.id)
    assert await stock(sku) == (0, 0)
    return await reload(order), refund


async def test_an_automatic_refund_refused_for_a_short_balance_fails_loudly_and_pays_out_on_a_later_retry(pay_flow):
    await pay_flow.faults(api_error="NOT_ENOUGH", endpoint="refund")
    counted = failures_counted("NOT_ENOUGH")
    with capture_logs() as logs:
        order, refund = await late_payment_for_sold_stock(pay_flow)

    await refund.refresh_from_db()
    assert (refund.status, refund.failure_code, refund.failures) == (RefundStatus.FAILED, "NOT_ENOUGH", 1)
    assert refund.next_attempt_at is not None
    assert order.status == OrderStatus.CANCELLED and order.refunded_total == 0
    assert refund_states.owed(await Refund.filter(order_id=order.id)) == 1990
    assert [kind for kind, _, _ in await ledger(order)] == ["payment"]  # the customer's money is still with us
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert [(e["code"], e["refund"], e["amount"]) for e in errors] == [("NOT_ENOUGH", refund.out_refund_no, 1990)]
    assert failures_counted("NOT_ENOUGH") == counted + 1

    assert await retry_due(pay_flow.deps, pay_flow.deps.clock()) == 0  # its wait is not over
    assert await retry_due(pay_flow.deps, pay_flow.deps.clock() + RETRY_AFTER[0]) == 1
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING and refund.next_attempt_at is None
    assert (await reload(order)).status == OrderStatus.REFUNDING

    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    order = await reload(order)
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, 1990)
    assert sum(amount for _, amount, _ in await ledger(order)) == 0
    assert refund_states.owed(await Refund.filter(order_id=order.id)) == 0


async def test_retries_back_off_and_stop_after_the_last_wait_leaving_the_refund_to_staff(pay_flow):
    order = await paid_order(pay_flow)
    await pay_flow.faults(api_error="NOT_ENOUGH", endpoint="refund", count=len(RETRY_AFTER) + 1)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    at = pay_flow.deps.clock()
    for wait in RETRY_AFTER:
        await refund.refresh_from_db()
        assert refund.status == RefundStatus.FAILED
        assert wait - timedelta(seconds=5) <= refund.next_attempt_at - at <= wait + timedelta(seconds=5)
        at = refund.next_attempt_at
        assert await retry_due(pay_flow.deps, at) == 0
        at = pay_flow.deps.clock()
    await refund.refresh_from_db()
    assert (refund.status, refund.failures, refund.next_attempt_at) == (RefundStatus.FAILED, len(RETRY_AFTER) + 1, None)
    assert await retry_due(pay_flow.deps, at + timedelta(days=30)) == 0

    retried = await retry_by_staff(pay_flow.deps, refund)
    assert retried.status == RefundStatus.PROCESSING


async def test_a_refused_request_waits_for_staff_and_a_staff_retry_sends_it_again(pay_flow):
    order = await paid_order(pay_flow)
    await pay_flow.faults(api_error="INVALID_REQUEST", endpoint="refund")
    refund = await refund_directly(pay_flow.deps, order, 500, "少发一件", "staff:1")
    await refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "INVALID_REQUEST")
    assert refund.next_attempt_at is None
    assert await retry_due(pay_flow.deps, pay_flow.deps.clock() + timedelta(days=3)) == 0
    assert (await reload(order)).status == OrderStatus.PAID

    refund = await retry_by_staff(pay_flow.deps, refund)
    assert refund.status == RefundStatus.PROCESSING and (await reload(order)).status == OrderStatus.REFUNDING
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.PAID and order.refunded_total == 500


async def test_only_a_failed_refund_can_be_retried_and_a_retry_that_fails_again_says_so(pay_flow):
    order = await paid_order(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, 500, "少发一件", "staff:1")
    with pytest.raises(DomainError) as raised:
        await retry_by_staff(pay_flow.deps, refund)
    assert raised.value.code == ErrorCode.INVALID_STATE

    await pay_flow.finish_refund(refund.out_refund_no, "ABNORMAL")
    await pay_flow.drain()
    await refund.refresh_from_db()
    with pytest.raises(DomainError) as raised:  # WeChat Pay still holds it as ABNORMAL
        await retry_by_staff(pay_flow.deps, refund)
    assert raised.value.code == ErrorCode.PAYMENT_FAILED and "ABNORMAL" in raised.value.message
    await refund.refresh_from_db()
    assert (refund.status, refund.failures) == (RefundStatus.FAILED, 2)
    assert (await reload(order)).status == OrderStatus.PAID


async def test_a_refund_wechat_pay_closed_is_sent_again_under_a_new_number(pay_flow):
    order = await paid_order(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    first_number = refund.out_refund_no
    await pay_flow.finish_refund(first_number, "CLOSED")
    await pay_flow.drain()
    await refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "CLOSED")

    refund = await retry_by_staff(pay_flow.deps, refund)
    assert refund.status == RefundStatus.PROCESSING and refund.out_refund_no == f"{first_number}-2"
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.REFUNDED
    assert [ref for _, _, ref in await ledger(order)][-1] == f"refund:{first_number}-2"
    # WeChat Pay repeats the old number's CLOSED notification late: acknowledged, and it changes nothing
    assert await apply_refund_status(pay_flow.deps, first_number, "CLOSED", None) == "superseded"
    assert (await reload(order)).status == OrderStatus.REFUNDED
    with pytest.raises(DomainError):
        await apply_refund_status(pay_flow.deps, "NOPE123R1", "CLOSED", None)


async def test_a_failed_refund_that_wechat_pay_paid_after_all_settles_and_refunds_the_order(pay_flow):
    order = await paid_order(pay_flow)
    await pay_flow.faults(api_error="SYSTEM_ERROR", endpoint="refund", after_commit=True)  # taken, reply lost
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    assert (await reload(order)).status == OrderStatus.PAID and refund.status == RefundStatus.FAILED

    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.REFUNDED and order.status_before_refund == OrderStatus.PAID


def crash_on(pay_flow: PayFlow, monkeypatch: pytest.MonkeyPatch, out_refund_no: str) -> None:
    """Asking WeChat Pay about one refund raises, as a bug in handling it would."""
    gateway = pay_flow.deps.gateway
    real_query = gateway.query_refund

    async def query_refund(number: str):
        if number == out_refund_no:
            raise RuntimeError("a bug in one refund")
        return await real_query(number)

    monkeypatch.setattr(gateway, "query_refund", query_refund)


async def test_one_refund_that_crashes_never_stops_the_reconcile_sweep_for_the_others(pay_flow, monkeypatch):
    stuck = [await refund_directly(pay_flow.deps, await paid_order(pay_flow), None, "缺货", "staff:1")
             for _ in range(2)]
    for refund in stuck:
        await pay_flow.faults(drop=True)
        await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    crash_on(pay_flow, monkeypatch, stuck[0].out_refund_no)

    at = pay_flow.deps.clock() + timedelta(minutes=10)
    assert await reconcile_refunds(pay_flow.deps, at) == 1
    statuses = [(await Refund.get(id=refund.id)).status for refund in stuck]
    assert statuses == [RefundStatus.PROCESSING, RefundStatus.SUCCEEDED]
    assert (await Refund.get(id=stuck[0].id)).updated_at >= at  # behind the others: it holds up no later pass


async def test_one_refund_that_crashes_never_stops_the_retry_sweep_for_the_others(pay_flow, monkeypatch):
    await pay_flow.faults(api_error="NOT_ENOUGH", endpoint="refund", count=2)
    failed = [await refund_directly(pay_flow.deps, await paid_order(pay_flow), None, "缺货", "staff:1")
              for _ in range(2)]
    assert [refund.status for refund in failed] == [RefundStatus.FAILED, RefundStatus.FAILED]
    crash_on(pay_flow, monkeypatch, failed[0].out_refund_no)

    at = pay_flow.deps.clock() + timedelta(minutes=2)
    assert await retry_due(pay_flow.deps, at) == 1
    assert (await Refund.get(id=failed[1].id)).status == RefundStatus.PROCESSING
    # no longer due at `at` (sent on to the reconcile sweep, or behind the others): it holds up no later pass
    assert not await Refund.filter(id=failed[0].id, status=RefundStatus.FAILED, next_attempt_at__lte=at).exists()


async def test_concurrent_refund_completions_lose_no_update(pay_flow):
    order = await paid_order(pay_flow, quantity=2)
    await Order.filter(id=order.id).update(status=OrderStatus.REFUNDING, status_before_refund=OrderStatus.PAID)
    quarters = [
        await Refund.create(order_id=order.id, out_refund_no=f"{order.number}R{n}", amount=995, reason="拆单",
                            status=RefundStatus.PROCESSING, requested_by="staff:1", decided_by="staff:1")
        for n in range(1, 5)
    ]
    outcomes = await asyncio.gather(
        *(apply_refund_status(pay_flow.deps, refund.out_refund_no, "SUCCESS", f"50{n}")
          for n, refund in enumerate(quarters))
    )
    assert outcomes == ["refunded"] * 4
    order = await reload(order)
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, 3980)
    assert sum(amount for _, amount, _ in await ledger(order)) == 0


async def paid_twice(pay_flow: PayFlow) -> tuple[Order, object]:
    """An order paid on its trade, and a second trade of the same order opened meanwhile: its prepay params."""
    sku = await pay_flow.sku(price=1990, stock=3)
    order, first = await pay_flow.place((sku, 1))
    await Payment.filter(order_id=order.id).update(status="CLOSED")
    second = await payment.prepay(pay_flow.deps, await reload(order))
    await pay_flow.paid(first)
    return await reload(order), second


async def test_a_retried_give_back_of_a_second_payment_leaves_a_paid_order_paid_and_shippable(pay_flow):
    order, second = await paid_twice(pay_flow)
    await pay_flow.faults(api_error="NOT_ENOUGH", endpoint="refund")
    await pay_flow.paid(second)
    [extra] = await Refund.filter(order_id=order.id)
    assert extra.status == RefundStatus.FAILED and (await reload(order)).status == OrderStatus.PAID

    # the one planned refusal is spent: the balance is topped up
    extra = await retry_by_staff(pay_flow.deps, extra)
    assert extra.status == RefundStatus.PROCESSING
    assert (await reload(order)).status == OrderStatus.PAID  # still shippable while its extra money goes back
    await pay_flow.finish_refund(extra.out_refund_no)
    await pay_flow.drain()
    order = await reload(order)
    assert (order.status, order.refunded_total) == (OrderStatus.PAID, 1990)
    assert sum(amount for _, amount, _ in await ledger(order)) == order.payable


async def test_a_second_payment_of_an_order_already_refunded_in_full_goes_back_and_is_recorded(pay_flow):
    order, second = await paid_twice(pay_flow)
    first_refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    await pay_flow.finish_refund(first_refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.REFUNDED

    await pay_flow.paid(second)
    extra = await Refund.filter(order_id=order.id).exclude(id=first_refund.id).get()
    await pay_flow.finish_refund(extra.out_refund_no)
    await pay_flow.drain()
    await extra.refresh_from_db()
    order = await reload(order)
    assert extra.status == RefundStatus.SUCCEEDED
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, 2 * 1990)
    assert sum(amount for _, amount, _ in await ledger(order)) == 0
