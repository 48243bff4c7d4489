"""Paying with the wallet, reviewed (issue #11 items 3 and 4): a late payment of a trade for the amount an order
owed before the wallet paid part of it, and recharges credited while the same wallet pays for orders. The books are
audited after every test."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from domain.errors import DomainError, ErrorCode
from domain.orders import lifecycle, payment
from domain.orders.models import Order, Payment
from tests.api.test_wallet import create, recharge
from tests.api.test_wallet_pay import funded, parts, wallet
from tests.fixtures.orders import ORDER_CANCEL, ORDER_PAY, pk

pytestmark = pytest.mark.usefixtures("audited")
ROUNDS, PER_ROUND = 8, 5


async def test_a_late_payment_of_the_amount_owed_before_the_wallet_paid_part_is_not_taken_with_it(
        app, gql, shop, operator_token, customer_token):
    """A trade for the whole price that `orderPay(useWallet)` could not close (its prepay was on its way: a
    concurrent `orderPay` had not stored its prepay_id yet) is paid after the order expired: the wallet part must not
    be taken again on top of the whole price."""
    await funded(gql, shop, operator_token, customer_token, 1000, 0)
    sku = await shop.make_sku(price=3000, stock=5)
    order, whole = await shop.place(customer_token, (sku, 1))  # a trade for 3000
    row = await Order.get(id=pk(order["id"]))
    first = await Payment.get(order_id=row.id)
    await Payment.filter(id=first.id).update(prepay_id=None)  # still on its way: orderPay cannot close it
    paid = (await gql.data(ORDER_PAY, {"i": {"orderId": order["id"], "useWallet": True}}, customer_token))["orderPay"]
    assert paid["errors"] == [] and paid["order"]["status"] == "PENDING_PAYMENT"
    assert await wallet(gql, customer_token) == (0, 0)  # the wallet paid 1000, WeChat Pay owes 2000 now

    deps = app.state.runtime.services.orders
    assert await lifecycle.expire_due(deps, row.expires_at + timedelta(seconds=1)) == 1
    assert await wallet(gql, customer_token) == (1000, 0)  # given back whole
    await Payment.filter(id=first.id).update(prepay_id="wx-on-its-way")
    await shop.pay(whole)  # the buyer pays the 3000 trade after all

    read = await shop.read(order, customer_token)
    found = await parts(order)
    # the customer never pays more than the order's 3000: either the 3000 revives it without the wallet part, or it
    # goes back and the wallet keeps its 1000
    assert sum(found.values()) <= 3000, (read["status"], found, await wallet(gql, customer_token))
    assert await wallet(gql, customer_token) == (1000, 0)



async def test_recharges_credited_while_the_wallet_pays_for_orders_never_deadlock(app, gql, shop, operator_token,
                                                                                  customer_token):
    """A recharge's credit (`RechargePolicy.take_payment`, inside its payment's transaction, the order row locked)
    and `orderPay(useWallet)` (`payment.pay`) lock the same two balance rows: in one order (the lock order), or
    PostgreSQL breaks the circle by failing one of them (an orderPay error, or a payment notification that
    crashes)."""
    await funded(gql, shop, operator_token, customer_token, 100000, 10000)  # both balance rows exist
    package = (await create(gql, operator_token, price=1000, bonus=100))["package"]
    deps = app.state.runtime.services.orders
    sku = await shop.make_sku(price=100, stock=1000)
    failures: list[str] = []
    recharges: list[dict[str, Any]] = []

    async def credit(placed: dict[str, Any]) -> None:
        try:
            async with in_transaction():  # as `settle_payment` does
                order = await Order.filter(id=pk(placed["order"]["id"])).select_for_update().get()
                await deps.policy(order.kind).take_payment(deps, order)
        except Exception as exc:  # noqa: BLE001  (what a crash would be)
            failures.append(f"credit: {exc!r}")

    async def spend(order: dict[str, Any]) -> None:
        try:
            await payment.pay(deps, await Order.get(id=pk(order["id"])), use_wallet=True)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"orderPay: {exc!r}")

    for _ in range(ROUNDS):
        orders = [(await shop.place(customer_token, (sku, 1)))[0] for _ in range(PER_ROUND)]
        placed = [await recharge(gql, customer_token, package) for _ in range(PER_ROUND)]
        recharges += placed
        await asyncio.gather(*(task for pair in zip((spend(order) for order in orders),
                                                    (credit(one) for one in placed), strict=True) for task in pair))
        assert failures == []
    for placed in recharges:  # their payments arrive (the credits are there already: once)
        await shop.pay(placed["payment"])
    assert sum(await wallet(gql, customer_token)) == 110000 + ROUNDS * PER_ROUND * (1100 - 100)


async def test_order_pay_with_the_wallet_never_answers_a_cancelled_order_as_paid(app, gql, shop, operator_token,
                                                                                 customer_token):
    """`orderPay(useWallet)` reads the order, then the wallet pays under its lock: an order cancelled in between (the
    expiry sweep, or the customer's other tap) is an INVALID_STATE, not a success with no payment to make (what the
    mini-program reads as paid by the wallet)."""
    await funded(gql, shop, operator_token, customer_token, 5000, 0)
    sku = await shop.make_sku(price=3990, stock=5)
    order, _ = await shop.place(customer_token, (sku, 1))
    read_first = await Order.get(id=pk(order["id"]))  # what the resolver read
    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    deps = app.state.runtime.services.orders
    with pytest.raises(DomainError) as raised:
        placed = await payment.pay(deps, read_first, use_wallet=True)
        pytest.fail(f"answered {placed.order.status} with payment {placed.payment}")
    assert raised.value.code == ErrorCode.INVALID_STATE
    assert await wallet(gql, customer_token) == (5000, 0)
