"""In the embedded store a refund finishes by itself a moment later, as WeChat Pay's do; tests can hold or fail it."""

from __future__ import annotations

from domain.orders.models import OrderStatus, Refund, RefundStatus
from domain.orders.refunds import refund_directly
from tests.fixtures.orders_paid import PayFlow, reload


async def paid(pay_flow: PayFlow):
    sku = await pay_flow.sku(stock=2)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    return await reload(order)


async def test_a_refund_succeeds_by_itself_a_moment_later(pay_flow: PayFlow) -> None:
    await pay_flow.refunds_finish_after(0.05)
    order = await paid(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    assert refund.status == RefundStatus.PROCESSING

    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.REFUNDED


async def test_a_held_refund_stays_processing_until_finished_by_hand(pay_flow: PayFlow) -> None:
    await pay_flow.refunds_finish_after(0.05)
    await pay_flow.faults(refund="HOLD")
    order = await paid(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PROCESSING
    assert pay_flow.sim.refunds[refund.out_refund_no].status == "PROCESSING"


async def test_a_refund_planned_abnormal_ends_in_the_failed_queue(pay_flow: PayFlow) -> None:
    await pay_flow.faults(refund="ABNORMAL")
    order = await paid(pay_flow)
    refund = await refund_directly(pay_flow.deps, order, None, "缺货", "staff:1")
    await pay_flow.drain()
    refund = await Refund.get(id=refund.id)
    assert (refund.status, refund.failure_code, refund.next_attempt_at) == (RefundStatus.FAILED, "ABNORMAL", None)
    assert (await reload(order)).status == OrderStatus.PAID


async def test_the_control_plane_refuses_a_bad_refund_plan(pay_flow: PayFlow) -> None:
    for body in ({"refund": "LATER"}, {"endpoint": "refund"}, {"api_error": "NOT_ENOUGH", "endpoint": "nowhere"}):
        response = await pay_flow.http.post("/__sim/wechatpay/__sim/faults", json=body)
        assert response.status_code == 400 and response.json()["code"] == "PARAM_ERROR"
    bad_delays: tuple[dict[str, object], ...] = ({"after": -1}, {"after": "soon"}, {})
    for delay in bad_delays:
        response = await pay_flow.http.post("/__sim/wechatpay/__sim/refunds/auto", json=delay)
        assert response.status_code == 400
    assert (await pay_flow.http.get("/__sim/wechatpay/__sim/faults")).json()["refunds"] == []
