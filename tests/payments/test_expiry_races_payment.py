"""An unpaid order expiring at the very moment its payment lands: stock moves once, money is never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.orders.lifecycle import expire_due
from domain.orders.models import OrderStatus, Payment, Refund, RefundStatus
from domain.orders.payment import cancel, reconcile, settle_payment
from tests.fixtures.orders_paid import ledger, reload, stock


async def test_expiry_sweep_and_a_late_notification_together_leave_the_order_paid_once(pay_flow):
    sku = await pay_flow.sku(stock=5)
    order, _params = await pay_flow.place((sku, 2))
    payment = await Payment.get(order_id=order.id)
    after_expiry = order.expires_at + timedelta(seconds=1)
    await asyncio.gather(
        expire_due(pay_flow.deps, after_expiry),
        settle_payment(pay_flow.deps, payment.out_trade_no, "4200000000000000001", payment.amount),
    )
    order = await reload(order)
    assert order.status == OrderStatus.PAID
    assert await stock(sku) == (3, 0)
    assert [(kind, amount) for kind, amount, _ in await ledger(order)] == [("payment", order.payable)]


async def test_a_paid_trade_found_while_expiring_is_settled_not_cancelled(pay_flow):
    sku = await pay_flow.sku(stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(drop=True)
    assert (await pay_flow.pay(params)).status_code == 200
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT
    await expire_due(pay_flow.deps, order.expires_at + timedelta(seconds=1))
    order = await reload(order)
    assert order.status == OrderStatus.PAID
    assert await stock(sku) == (4, 0)
    assert len(await ledger(order)) == 1


async def test_a_payment_found_after_cancelling_when_the_units_were_sold_meanwhile_is_refunded(pay_flow):
    """WeChat holds the money (paid, notification lost) but our cancel went through without a close."""
    sku = await pay_flow.sku(stock=1)
    first, first_params = await pay_flow.place((sku, 1))
    await pay_flow.faults(drop=True)
    assert (await pay_flow.pay(first_params)).status_code == 200
    await pay_flow.drain()
    await cancel(pay_flow.deps, first, "expired")
    second, second_params = await pay_flow.place((sku, 1))
    await pay_flow.paid(second_params)

    payment = await Payment.get(order_id=first.id)
    assert await reconcile(pay_flow.deps, payment.out_trade_no) == "refund"
    first = await reload(first)
    assert first.status == OrderStatus.REFUNDING
    refund = await Refund.get(order_id=first.id)
    assert (refund.status, refund.amount) == (RefundStatus.PROCESSING, first.payable)
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(first)).status == OrderStatus.REFUNDED
    assert sum(amount for _, amount, _ in await ledger(first)) == 0
    assert await stock(sku) == (0, 0)
    assert (await reload(second)).status == OrderStatus.PAID


async def test_an_order_paid_on_two_trades_refunds_each_payment_through_its_own_trade(pay_flow):
    """The first trade was marked closed here but WeChat Pay still took the money, after a second trade was opened:
    the extra payment goes back through its own trade, and a later refund of the order through the first one."""
    from domain.orders.payment import prepay
    from domain.orders.refunds import approve, request_refund

    sku = await pay_flow.sku(stock=5)
    order, first_params = await pay_flow.place((sku, 1))
    await Payment.filter(order_id=order.id).update(status="CLOSED")
    second_params = await prepay(pay_flow.deps, await reload(order))
    first_trade, second_trade = await Payment.filter(order_id=order.id).order_by("id")
    await pay_flow.paid(first_params)
    assert (await reload(order)).status == OrderStatus.PAID
    await pay_flow.paid(second_params)

    extra = await Refund.get(order_id=order.id)
    assert (extra.payment_id, extra.amount) == (second_trade.id, second_trade.amount)
    assert pay_flow.sim.refunds[extra.out_refund_no].out_trade_no == second_trade.out_trade_no
    await pay_flow.finish_refund(extra.out_refund_no)
    await pay_flow.drain()
    order = await reload(order)
    assert order.status == OrderStatus.PAID and sum(amount for _, amount, _ in await ledger(order)) == order.payable

    refund = await request_refund(pay_flow.deps, order, None, "不想要了", f"customer:{order.customer_id}")
    refund = await approve(pay_flow.deps, refund, "staff:1")
    assert refund.payment_id == first_trade.id and refund.status == RefundStatus.PROCESSING
    assert pay_flow.sim.refunds[refund.out_refund_no].out_trade_no == first_trade.out_trade_no
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.REFUNDED
