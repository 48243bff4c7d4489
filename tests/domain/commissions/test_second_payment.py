"""A second payment of an order, refunded in full as unwanted, is no refund of the sale: the order's commission and
points stay whole (its `refunded_total` counts that refund too, so neither may read it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from domain.attribution.snapshot import snapshot
from domain.commissions.earning import Commissions
from domain.commissions.models import Commission
from domain.commissions.states import net
from domain.distribution import binding
from domain.distribution import settings as distribution_settings
from domain.identity.models import Customer
from domain.ledger import service as ledger
from domain.orders.models import Order, OrderLine, OrderStatus, Refund, RefundStatus
from domain.points.account import Points, points_of
from tests.domain.commissions.test_commission_books import _distributor
from tests.fixtures.cart import MakeSku

pytestmark = pytest.mark.usefixtures("db")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def test_an_unwanted_second_payment_refunded_leaves_commission_and_points_whole(make_sku: MakeSku) -> None:
    sku = await make_sku(price=10000)
    _, code = await _distributor("koc")
    await distribution_settings.update({"enabled": True, "levels": 1, "direct_rate_bp": 1000})
    buyer = await Customer.create(openid="o-twice")
    assert await binding.bind(buyer.id, code, T0)
    order = await Order.create(number="T00000001", customer_id=buyer.id, subtotal=10000, payable=10000, delivery={},
                               expires_at=T0, status=OrderStatus.PAID, paid_at=T0)
    line = await OrderLine.create(order_id=order.id, sku_id=sku.id, product_id=sku.product_id, title="t",
                                  unit_price=10000, quantity=1, line_total=10000)
    listeners = [Commissions(), Points()]
    async with in_transaction():
        await ledger.record(account="wechatpay", kind="payment", amount=10000, reference="pay:T00000001_1",
                            order_id=order.id)
        assert await snapshot(order, T0) is not None
        await listeners[0].confirmed(order)
    # a second trade paid and refunded in full as unwanted: the order's own status and sale are untouched
    async with in_transaction():
        await ledger.record(account="wechatpay", kind="payment", amount=10000, reference="pay:T00000001_2",
                            order_id=order.id)
        await ledger.record(account="wechatpay", kind="refund", amount=-10000, reference="refund:T00000001R1",
                            order_id=order.id)
        await Order.filter(id=order.id).update(refunded_total=10000)
    order = await Order.get(id=order.id)
    assert await ledger.refunded_of_sale(order) == 0
    async with in_transaction():
        await Order.filter(id=order.id).update(status=OrderStatus.COMPLETED, completed_at=T0)
        order = await Order.get(id=order.id)
        await listeners[1].completed(order)
    assert await points_of(buyer.id) == 100
    # then a real partial refund of 1 fen: the sale keeps 9999 of 10000
    refund = await Refund.create(order_id=order.id, out_refund_no="T00000001R2", amount=1,
                                 status=RefundStatus.SUCCEEDED, requested_by="system")
    async with in_transaction():
        await ledger.record(account="wechatpay", kind="refund", amount=-1, reference="refund:T00000001R2",
                            order_id=order.id)
        await Order.filter(id=order.id).update(refunded_total=10001)
        order = await Order.get(id=order.id)
        for listener in listeners:
            await listener.refunded(order, refund)
    commission = await Commission.get(order_line_id=line.id)
    assert (commission.amount, net(commission)) == (1000, 999)
    assert await points_of(buyer.id) == 99
