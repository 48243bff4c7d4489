"""A customer's level: what they paid (WeChat Pay and wallet principal on paid orders, net of refunds, recharges and
bonus not counted) decides it, and a refund can take it back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.identity.models import Customer
from domain.ledger.models import LedgerEntry
from domain.members import standing
from domain.members.models import MemberLevel
from domain.members.standing import MemberDiscount
from domain.orders.models import Order, OrderKind
from domain.orders.refunds import refund_directly
from domain.pricing import engine
from tests.fixtures.members import order_with_money
from tests.fixtures.orders_paid import PayFlow, reload


async def _order(customer: Customer, kind: OrderKind = OrderKind.NORMAL, paid: bool = True, **money: int) -> Order:
    return await order_with_money(customer.id, kind, paid, **money)


def test_the_level_is_the_highest_threshold_reached():
    levels = [MemberLevel(id=1, name="普通", threshold=0, discount_bp=0),
              MemberLevel(id=2, name="银卡", threshold=1000, discount_bp=300),
              MemberLevel(id=3, name="金卡", threshold=5000, discount_bp=800)]
    assert [(a and a.id, b and b.id) for a, b in (standing.reached(levels, paid) for paid in
                                                  (0, 999, 1000, 4999, 5000, 10**9))] == [
        (1, 2), (1, 2), (2, 3), (2, 3), (3, None), (3, None)]
    assert standing.reached(levels[1:], 999) == (None, levels[1])
    assert standing.reached([], 100) == (None, None)


@pytest.mark.parametrize(("basis_points", "price", "expected"),
                         [(500, 1990, 1890), (500, 1, 0), (1, 9999, 9998), (9999, 10_000, 1), (250, 0, 0)])
def test_the_member_discount_floors_to_the_fen(basis_points, price, expected):
    assert MemberDiscount(1, basis_points).apply(price) == expected


async def test_wechat_pay_and_wallet_principal_count_and_bonus_recharges_and_unpaid_orders_do_not(db):
    me = await Customer.create(openid="o-me")
    someone = await Customer.create(openid="o-someone")
    await _order(me, wechatpay=500, wallet_principal=300, wallet_bonus=200)
    await _order(me, OrderKind.FLASH_SALE, wechatpay=1000)
    await _order(me, OrderKind.RECHARGE, wechatpay=50_000)
    await _order(me, paid=False, wechatpay=700)
    await _order(someone, wechatpay=9000)
    refunded = await _order(me, wechatpay=400)
    await LedgerEntry.create(account="wechatpay", kind="refund", amount=-150, order_id=refunded.id,
                             reference="refund:1")
    assert await standing.paid_total(me.id) == 500 + 300 + 1000 + 400 - 150
    assert await standing.paid_total(someone.id) == 9000
    assert await standing.paid_total(12345) == 0


async def test_no_discount_for_nobody_below_the_lowest_level_or_at_a_level_without_one(db):
    me = await Customer.create(openid="o-me")
    assert await standing.discount_for(None) is None
    assert await standing.discount_for(me.id) is None  # no levels at all
    await MemberLevel.create(name="普通", threshold=0, discount_bp=0)
    await MemberLevel.create(name="银卡", threshold=1000, discount_bp=300)
    assert await standing.discount_for(me.id) is None
    await _order(me, wechatpay=1000)
    silver = await MemberLevel.get(name="银卡")
    assert await standing.discount_for(me.id) == MemberDiscount(silver.id, 300)
    assert await standing.discount_for(None) is None


async def test_a_level_is_reached_through_a_paid_order_and_lost_through_its_refund(pay_flow: PayFlow):
    bronze = await MemberLevel.create(name="铜卡", threshold=1000, discount_bp=0)
    silver = await MemberLevel.create(name="银卡", threshold=3000, discount_bp=500)
    buyer = pay_flow.buyer
    sku = await pay_flow.sku(price=1990, stock=10)
    order, params = await pay_flow.place((sku, 2))
    before = await standing.standing_of(buyer.id)
    assert (before.paid, before.level, before.next_level, before.to_next) == (0, None, bronze, 1000)

    await pay_flow.paid(params)
    reached = await standing.standing_of(buyer.id)
    assert (reached.paid, reached.level, reached.next_level, reached.to_next) == (3980, silver, None, None)
    assert await standing.discount_for(buyer.id) == MemberDiscount(silver.id, 500)
    member_quote = await engine.quote([(sku, 1)], datetime.now(UTC), buyer.id)
    assert (member_quote.total, member_quote.lines[0].source) == (
        1890, engine.PriceSource(engine.MEMBER, silver.id, 1890))

    await pay_flow.refunds_finish_after(0.05)
    await refund_directly(pay_flow.deps, await reload(order), 1000, "缺货", "staff:1")
    await pay_flow.drain()
    lost = await standing.standing_of(buyer.id)
    assert (lost.paid, lost.level, lost.next_level, lost.to_next) == (2980, bronze, silver, 20)
    assert await standing.discount_for(buyer.id) is None
    assert (await engine.quote([(sku, 1)], datetime.now(UTC), buyer.id)).total == 1990


async def test_an_unwanted_second_payment_on_its_way_back_does_not_count(pay_flow: PayFlow):
    """Review: a second trade paid for a paid order is refunded as unwanted (a SYSTEM refund, held here in
    PROCESSING); until that refund lands, its money must not lift the customer to a level."""
    from domain.orders.models import Payment, PaymentStatus, Refund
    from domain.orders.payment import settle_payment

    await MemberLevel.create(name="银卡", threshold=3000, discount_bp=500)
    sku = await pay_flow.sku(price=1990, stock=10)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    assert await standing.paid_total(pay_flow.buyer.id) == 1990
    second = await Payment.create(order_id=order.id, out_trade_no=f"{order.number}X2", amount=1990,
                                  status=PaymentStatus.PENDING)
    assert await settle_payment(pay_flow.deps, second.out_trade_no, "4200000000000000992", 1990) == "refund"
    assert await Refund.filter(order_id=order.id, requested_by="system").exclude(status="SUCCEEDED").exists()
    assert await standing.paid_total(pay_flow.buyer.id) == 1990
    assert await standing.discount_for(pay_flow.buyer.id) is None
