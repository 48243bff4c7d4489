"""The audit finds what is wrong, each kind of wrong in its own check, and nothing on books that are right.
(Modules that drive money and stock concurrently run it after every test: the `audited` fixture.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from domain.audit.checks import audit
from domain.balances.models import Balance, BalanceEntry
from domain.balances.service import Owner, move
from domain.catalog.models import Sku
from domain.ledger.models import LedgerEntry
from domain.orders.models import Order, Payment
from tests.fixtures.orders import Shop, pk

pytestmark = pytest.mark.usefixtures("db")
STAFF_AUDIT = "query($d: Int) { staffAudit(days: $d) { ok checks { name ok checked discrepancies } } }"


async def wrong(shop: Shop) -> dict[str, list[str]]:
    checks = await audit(shop.deps.gateway, datetime.now(UTC))
    return {check.name.split()[1]: check.discrepancies for check in checks if not check.ok}


async def test_right_books_pass_and_each_kind_of_wrong_is_named(shop: Shop, customer_token: str) -> None:
    sku = await shop.sku(price=1990, stock=5)
    order = await shop.paid_order(customer_token, (sku, 2))
    async with in_transaction():
        await move(Owner("customer", 1), "principal", 500, "test:1")
    assert await wrong(shop) == {}

    await Balance.filter(owner_kind="customer").update(amount=400)
    await Sku.filter(id=sku.id).update(reserved=1)
    number = (await Order.get(id=pk(order["id"]))).number
    await LedgerEntry.filter(reference__startswith=f"pay:{number}").delete()
    found = await wrong(shop)
    assert len(found) == 3, found  # balances, order money, stock
    text = "\n".join(line for lines in found.values() for line in lines)
    assert "customer 1 principal: balance 400, ledger sum 500" in text
    assert f"SKU {sku.id}: reserved 1" in text
    assert f"payment {number}_1: ledger None, paid 3980" in text


async def test_a_bucket_below_zero_is_wrong_unless_a_clawback_may_take_it_there(shop: Shop) -> None:
    async with in_transaction():
        await move(Owner("customer", 7), "points", -5, "test:neg", floor=None)
        await move(Owner("distributor", 7), "available", -5, "test:claw", floor=None)
    found = await wrong(shop)
    assert found["balance"] == ["customer 7 points is -5"]  # (and distributor 7's commissions do not explain it)


async def test_a_trade_pond_holds_as_paid_that_wechat_pay_never_saw_is_named(shop: Shop, customer_token: str) -> None:
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    shop.sim.forget()
    payment = await Payment.get(order_id=pk(order["id"]))
    assert [line for lines in (await wrong(shop)).values() for line in lines] == [
        f"trade {payment.out_trade_no}: unknown to WeChat Pay"]


async def test_staff_audit_answers_finance_and_refuses_a_customer(gql, finance_token: str, customer_token: str,
                                                                 shop: Shop) -> None:
    report = (await gql.data(STAFF_AUDIT, {"d": 2}, finance_token))["staffAudit"]
    assert report["ok"] is True and all(check["ok"] for check in report["checks"])
    assert len(report["checks"]) == 5
    await BalanceEntry.create(owner_kind="customer", owner_id=3, bucket="points", amount=9, reference="stray")
    report = (await gql.data(STAFF_AUDIT, {"d": 2}, finance_token))["staffAudit"]
    assert report["ok"] is False
    refused = await gql(STAFF_AUDIT, {"d": 2}, customer_token)
    assert refused["data"] is None and refused["errors"]
    bad = await gql(STAFF_AUDIT, {"d": 0}, finance_token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"


async def test_books_changing_while_the_audit_reads_them_show_no_discrepancy(shop: Shop) -> None:
    """Each movement commits its entry and its balance together; the audit reads entries and balances in separate
    statements, so without one snapshot a movement landing between them would show as a mismatch."""
    owner = Owner("customer", 7)
    moving = True

    async def keep_moving() -> int:
        n = 0
        while moving:
            n += 1
            async with in_transaction():
                await move(owner, "principal", 1, f"test:live:{n}")
        return n

    writer = asyncio.create_task(keep_moving())
    try:
        found = [await wrong(shop) for _ in range(15)]
    finally:
        moving = False
        moved = await writer
    assert moved > 15 and found == [{}] * 15


async def test_an_order_holding_more_than_it_costs_is_named(shop: Shop, customer_token: str) -> None:
    """Payments, refunds and the ledger may agree with each other while an order holds more than it costs (a second
    trade paid and never given back): the audit says so."""
    sku = await shop.sku(price=1990, stock=5)
    order = await Order.get(id=pk((await shop.paid_order(customer_token, (sku, 1)))["id"]))
    await Payment.create(order_id=order.id, out_trade_no=f"{order.number}_9", amount=500, status="SUCCEEDED",
                         transaction_id="4200000000000000000000000000")
    await LedgerEntry.create(account="wechatpay", kind="payment", amount=500, reference=f"pay:{order.number}_9",
                             order_id=order.id)
    checks = await audit(None, datetime.now(UTC))
    found = [message for check in checks for message in check.discrepancies]
    assert found == [f"order {order.number}: holds 2490, more than it costs (1990)"]
