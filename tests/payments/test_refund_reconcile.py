"""Refunds stuck in PROCESSING heal on the next sweep: a lost notification is queried, a lost call is resent."""

from __future__ import annotations

from datetime import timedelta

from domain.orders.models import OrderStatus, Refund, RefundStatus
from domain.orders.refund_calls import UNANSWERED_AFTER, reconcile_refunds, retry_due
from domain.orders.refunds import refund_directly
from tests.fixtures.orders_paid import ledger, reload


async def _paid_order(pay_flow):
    sku = await pay_flow.sku(stock=3)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    return await reload(order)


async def test_a_refund_whose_notification_was_lost_is_settled_by_the_sweep(pay_flow):
    order = await _paid_order(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    await pay_flow.faults(drop=True)
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING

    later = pay_flow.deps.clock() + timedelta(minutes=10)
    assert await reconcile_refunds(pay_flow.deps, later) == 1
    refund = await Refund.get(id=refund.id)
    assert refund.status == RefundStatus.SUCCEEDED and refund.succeeded_at is not None
    assert (await reload(order)).status == OrderStatus.REFUNDED
    assert sum(amount for _, amount, _ in await ledger(order)) == 0
    assert await reconcile_refunds(pay_flow.deps, later) == 0


async def test_a_refund_call_that_failed_on_a_busy_gateway_fails_and_is_sent_again_a_minute_later(pay_flow):
    order = await _paid_order(pay_flow)
    await pay_flow.faults(api_error="SYSTEM_ERROR", count=1)
    refund = await refund_directly(pay_flow.deps, order, 100, "部分退款", "staff:1")
    failed = await Refund.get(id=refund.id)
    assert (failed.status, failed.failure_code, failed.failures) == (RefundStatus.FAILED, "SYSTEM_ERROR", 1)
    assert failed.next_attempt_at is not None

    now = pay_flow.deps.clock()
    assert await retry_due(pay_flow.deps, now) == 0  # not yet: it waits a minute
    assert await retry_due(pay_flow.deps, now + timedelta(minutes=2)) == 1
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    order = await reload(order)
    assert (await Refund.get(id=refund.id)).status == RefundStatus.SUCCEEDED
    assert order.status == OrderStatus.PAID and order.refunded_total == 100
    assert [amount for _, amount, _ in await ledger(order)] == [order.payable, -100]


async def test_a_refund_wechat_pay_cannot_be_asked_about_for_hours_fails_loudly_and_is_retried(pay_flow):
    order = await _paid_order(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING
    await pay_flow.faults(api_error="SYSTEM_ERROR", endpoint="query_refund", count=2)

    soon = pay_flow.deps.clock() + timedelta(minutes=10)
    assert await reconcile_refunds(pay_flow.deps, soon) == 0  # a query failed: asked again next time
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING

    hours_later = pay_flow.deps.clock() + UNANSWERED_AFTER + timedelta(minutes=1)
    assert await reconcile_refunds(pay_flow.deps, hours_later) == 1
    failed = await Refund.get(id=refund.id)
    assert (failed.status, failed.failure_code) == (RefundStatus.FAILED, "SYSTEM_ERROR")
    assert failed.next_attempt_at is not None  # it goes again by itself

    assert await retry_due(pay_flow.deps, failed.next_attempt_at + timedelta(seconds=1)) == 1
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING  # asked first: still processing there
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.REFUNDED
