"""One bad notification is never retried for ever: after MAX_CRASHES crashes it is acknowledged and logged."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from domain.orders.models import PaymentNotification, Refund, RefundStatus
from domain.orders.refunds import refund_directly
from payments import notify
from tests.fixtures.orders_paid import PayFlow, reload


async def test_a_notification_that_crashes_every_time_is_given_up_after_max_crashes(
    pay_flow: PayFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sku = await pay_flow.sku(stock=2)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    refund = await refund_directly(pay_flow.deps, await reload(order), None, "缺货", "staff:1")

    async def crash(*args: object) -> str:
        raise RuntimeError("a bug handling this one notification")

    monkeypatch.setattr(notify, "apply_refund_status", crash)
    given_up = REGISTRY.get_sample_value("pond_wechatpay_notifications_given_up_total", {"kind": "refund"}) or 0
    with capture_logs() as logs:
        note_id = await pay_flow.finish_refund(refund.out_refund_no)
        await pay_flow.drain()

    assert [status for _, _, status in pay_flow.attempts(note_id)] == [500] * (notify.MAX_CRASHES - 1) + [204]
    row = await PaymentNotification.get(notification_id=note_id)
    assert (row.outcome, row.failures) == (notify.GIVEN_UP, notify.MAX_CRASHES)
    assert any(e["log_level"] == "error" and e["event"].startswith("wechatpay notification given up") for e in logs)
    assert REGISTRY.get_sample_value("pond_wechatpay_notifications_given_up_total", {"kind": "refund"}) == given_up + 1
    # not handled: the reconcile sweep still finds the refund PROCESSING and asks WeChat Pay about it
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING


async def test_a_notification_that_crashed_once_is_handled_on_the_next_delivery(
    pay_flow: PayFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sku = await pay_flow.sku(stock=2)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    refund = await refund_directly(pay_flow.deps, await reload(order), None, "缺货", "staff:1")
    real = notify.apply_refund_status
    calls = []

    async def crash_once(*args: object) -> str:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(notify, "apply_refund_status", crash_once)
    note_id = await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()

    assert [status for _, _, status in pay_flow.attempts(note_id)] == [500, 204]
    assert (await PaymentNotification.get(notification_id=note_id)).outcome == "refunded"
    assert (await Refund.get(id=refund.id)).status == RefundStatus.SUCCEEDED
