"""Paying with the wallet through the API: the wallet pays what it can, principal and bonus in proportion to their
balances, WeChat Pay the rest; an order it pays in full is paid at once; the wallet part comes back whole when the
order is cancelled or expires, and in proportion when it is refunded; `rechargeRefund` never lets bonus leave as
cash. The books are audited after every test."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.balances.models import BalanceEntry
from domain.ledger.models import LedgerEntry
from domain.orders import lifecycle
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus
from domain.wallet import account
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_CANCEL, ORDER_PAY, ORDER_REQUEST_REFUND, REFUND_APPROVE, customer, pk
from tests.fixtures.wallet import create, funded, recharge, wallet

pytestmark = pytest.mark.usefixtures("audited")

RECHARGE_REFUND = """mutation($i: RechargeRefundInput!) { rechargeRefund(input: $i) {
  refund { id status amount { amount } } order { id status } errors { code field } } }"""


async def parts(order: dict[str, Any]) -> dict[str, int]:
    """The order's money on the ledger, by account (net)."""
    found: dict[str, int] = {}
    for entry in await LedgerEntry.filter(order_id=pk(order["id"])):
        found[entry.account] = found.get(entry.account, 0) + entry.amount
    return found


async def test_a_wallet_that_covers_the_order_pays_it_at_once_in_proportion(gql, shop, operator_token,
                                                                            customer_token):
    await funded(gql, shop, operator_token, customer_token, 50000, 5000)
    sku = await shop.sku(price=3990, stock=5)
    placed = await shop.checkout(customer_token, (sku, 1), useWallet=True)
    assert placed["errors"] == [] and placed["payment"] is None
    order = placed["order"]
    assert (order["status"], order["walletPaid"], order["payable"]) == ("PAID", {"amount": 3990}, {"amount": 0})
    # bonus ⌊3990 × 5000 ÷ 55000⌋ = 362, principal the rest
    assert await wallet(gql, customer_token) == (50000 - 3628, 5000 - 362)
    assert await parts(order) == {"wallet_principal": 3628, "wallet_bonus": 362}
    assert await shop.available(sku) == 4


async def test_the_wallet_pays_part_wechat_pay_the_rest_and_a_cancel_gives_it_back(gql, shop, operator_token,
                                                                                  customer_token):
    await funded(gql, shop, operator_token, customer_token, 1000, 100)
    sku = await shop.sku(price=3990, stock=5)
    order, payment = await shop.place(customer_token, (sku, 1), useWallet=True)
    assert (order["status"], order["walletPaid"], order["payable"]) == ("PENDING_PAYMENT", {"amount": 1100},
                                                                       {"amount": 2890})
    assert payment is not None and await wallet(gql, customer_token) == (0, 0)
    assert (await Payment.get(order_id=pk(order["id"]))).amount == 2890

    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert await wallet(gql, customer_token) == (1000, 100)
    assert await parts(order) == {"wallet_principal": 0, "wallet_bonus": 0}

    again, payment = await shop.place(customer_token, (sku, 1), useWallet=True)
    await shop.pay(payment)
    assert (await shop.read(again, customer_token))["status"] == "PAID"
    assert await parts(again) == {"wallet_principal": 1000, "wallet_bonus": 100, "wechatpay": 2890}


async def expired_with_a_wallet_part(app, gql, shop, operator_token: str, token: str) -> tuple[dict, dict]:
    """A 3000 order the wallet paid 1000 of, expired while its buyer was paying the rest: (order, payment). The sweep
    cannot close a trade being paid (WeChat Pay says ORDERPAID only once paid), so the test cancels it as the sweep
    would after closing, and then lets the payment arrive late (`late_payment`)."""
    await funded(gql, shop, operator_token, token, 1000, 0)
    sku = await shop.sku(price=3000, stock=5)
    order, payment = await shop.place(token, (sku, 1), useWallet=True)
    row = await Order.get(id=pk(order["id"]))
    await Payment.filter(order_id=row.id).update(prepay_id=None)
    assert await lifecycle.expire_due(app.state.runtime.services.orders, row.expires_at + timedelta(seconds=1)) == 1
    return order, payment


async def late_payment(shop, order: dict, payment: dict) -> None:
    await Payment.filter(order_id=pk(order["id"])).update(prepay_id="wx-kept")
    await shop.pay(payment)


async def test_an_expired_order_gives_its_wallet_part_back_and_a_late_payment_takes_it_again(
        app, gql, shop, operator_token, customer_token):
    order, payment = await expired_with_a_wallet_part(app, gql, shop, operator_token, customer_token)
    assert await wallet(gql, customer_token) == (1000, 0)
    await late_payment(shop, order, payment)
    assert (await shop.read(order, customer_token))["status"] == "PAID"  # revived: the wallet part taken again
    assert await wallet(gql, customer_token) == (0, 0)
    assert await parts(order) == {"wallet_principal": 1000, "wechatpay": 2000}


async def test_a_late_payment_whose_wallet_part_was_spent_meanwhile_is_refunded(
        app, gql, shop, operator_token, customer_token):
    order, payment = await expired_with_a_wallet_part(app, gql, shop, operator_token, customer_token)
    other = await shop.sku(price=1000, stock=5)
    spent = await shop.checkout(customer_token, (other, 1), useWallet=True)
    assert spent["order"]["status"] == "PAID"
    await late_payment(shop, order, payment)
    read = await shop.read(order, customer_token)
    assert read["status"] in ("REFUNDING", "REFUNDED")
    assert [refund["amount"] for refund in read["refunds"]] == [{"amount": 2000}]
    assert await wallet(gql, customer_token) == (0, 0)


async def test_order_pay_with_the_wallet_closes_the_old_trade_and_pays_in_full(gql, shop, operator_token,
                                                                               customer_token):
    sku = await shop.sku(price=3990, stock=5)
    order, first = await shop.place(customer_token, (sku, 1))
    assert first is not None
    await funded(gql, shop, operator_token, customer_token, 5000, 0)
    paid = (await gql.data(ORDER_PAY, {"i": {"orderId": order["id"], "useWallet": True}}, customer_token))["orderPay"]
    assert (paid["errors"], paid["order"]["status"], paid["payment"]) == ([], "PAID", None)
    assert [payment.status for payment in await Payment.filter(order_id=pk(order["id"]))] == [PaymentStatus.CLOSED]
    assert await wallet(gql, customer_token) == (1010, 0)
    response = await shop.confirm(first["package"], first["paySign"], first["timeStamp"], first["nonceStr"])
    assert response.status_code != 200 or (await Order.get(id=pk(order["id"]))).status == OrderStatus.PAID
    await shop.drain()


async def test_order_pay_with_a_small_wallet_prepays_the_rest(gql, shop, operator_token, customer_token):
    await funded(gql, shop, operator_token, customer_token, 990, 0)
    sku = await shop.sku(price=3990, stock=5)
    order, _ = await shop.place(customer_token, (sku, 1))
    paid = (await gql.data(ORDER_PAY, {"i": {"orderId": order["id"], "useWallet": True}}, customer_token))["orderPay"]
    assert paid["errors"] == [] and paid["order"]["status"] == "PENDING_PAYMENT"
    await shop.pay(paid["payment"])
    read = await shop.read(order, customer_token)
    assert (read["status"], read["walletPaid"], read["payable"]) == ("PAID", {"amount": 990}, {"amount": 3000})
    again = (await gql.data(ORDER_PAY, {"i": {"orderId": order["id"], "useWallet": True}}, customer_token))["orderPay"]
    assert [error["code"] for error in again["errors"]] == ["INVALID_STATE"]


async def test_refunds_go_back_where_the_money_came_from(gql, shop, operator_token, finance_token, customer_token):
    await funded(gql, shop, operator_token, customer_token, 1000, 100)
    sku = await shop.sku(price=3990, stock=5)
    order, payment = await shop.place(customer_token, (sku, 1), useWallet=True)
    await shop.pay(payment)

    async def refund(amount: int | None) -> dict[str, Any]:
        asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": order["id"], "reason": "坏了",
                                                              "amount": amount}}, customer_token))
        assert asked["orderRequestRefund"]["errors"] == []
        refund_id = asked["orderRequestRefund"]["refund"]["id"]
        approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": refund_id}}, finance_token))["refundApprove"]
        assert approved["errors"] == []
        await shop.finish_refund(refund_id)
        return approved["refund"]

    await refund(1000)
    # wallet back ⌊1000 × 1100 ÷ 3990⌋ = 275: principal ⌊275 × 1000 ÷ 1100⌋ = 250, bonus 25; WeChat Pay 725
    assert await wallet(gql, customer_token) == (250, 25)
    assert await parts(order) == {"wallet_principal": 750, "wallet_bonus": 75, "wechatpay": 2890 - 725}
    await refund(None)  # the rest: every part comes back exactly
    assert await wallet(gql, customer_token) == (1000, 100)
    assert await parts(order) == {"wallet_principal": 0, "wallet_bonus": 0, "wechatpay": 0}
    assert (await shop.read(order, customer_token))["status"] == "REFUNDED"


async def test_an_order_paid_by_the_wallet_alone_is_refunded_at_once(gql, shop, operator_token, finance_token,
                                                                     customer_token):
    await funded(gql, shop, operator_token, customer_token, 5000, 500)
    sku = await shop.sku(price=3990, stock=5)
    order = (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]
    asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": order["id"], "reason": "不要了"}},
                            customer_token))["orderRequestRefund"]
    approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}}, finance_token))
    assert approved["refundApprove"]["refund"]["status"] == "SUCCEEDED"
    assert await wallet(gql, customer_token) == (5000, 500)
    assert await shop.available(sku) == 5  # asked before it shipped: the goods never left


async def test_concurrent_orders_never_take_more_than_the_wallet_holds(gql, shop, operator_token, customer_token):
    await funded(gql, shop, operator_token, customer_token, 10000, 1000)
    sku = await shop.sku(price=3000, stock=50)
    done = await asyncio.gather(*(shop.checkout(customer_token, (sku, 1), useWallet=True) for _ in range(12)))
    placed = [result["order"] for result in done if not result["errors"]]
    assert {error["code"] for result in done for error in result["errors"]} <= {"LIMIT_EXCEEDED", "RATE_LIMITED"}
    assert sum(order["walletPaid"]["amount"] for order in placed) == 11000
    assert sum(order["status"] == "PAID" for order in placed) == 3
    assert await wallet(gql, customer_token) == (0, 0)
    me = await customer("o-customer-a")
    assert sum(await BalanceEntry.filter(owner_kind=account.OWNER_KIND, owner_id=me.id).values_list(
        "amount", flat=True)) == 0


async def test_a_recharge_refund_never_lets_bonus_leave_as_cash(gql, shop, operator_token, finance_token,
                                                                customer_token):
    generous = await funded(gql, shop, operator_token, customer_token, 1000, 1000)
    await funded(gql, shop, operator_token, customer_token, 1000, 0)
    sku = await shop.sku(price=1500, stock=5)
    assert (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]["status"] == "PAID"
    # spent 1500 of 2000 principal + 1000 bonus: bonus ⌊1500 × 1000 ÷ 3000⌋ = 500, principal 1000
    assert await wallet(gql, customer_token) == (1000, 500)

    refused = await gql(RECHARGE_REFUND, {"i": {"orderId": generous["id"]}}, operator_token)
    assert refused["data"] is None  # FINANCE and OWNER only
    done = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": generous["id"], "reason": "退卡"}},
                           finance_token))["rechargeRefund"]
    assert done["errors"] == []
    # its principal back: 1000; its bonus due: 1000, of which 500 is left; the 500 spent is paid out of the 1000
    assert done["refund"]["amount"] == {"amount": 500}
    await shop.finish_refund(done["refund"]["id"])
    assert await wallet(gql, customer_token) == (0, 0)
    assert (await shop.read(generous, customer_token))["status"] == "PAID"  # half its price went back

    again = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": generous["id"]}}, finance_token))["rechargeRefund"]
    assert [error["code"] for error in again["errors"]] == ["INVALID_STATE"]
    normal = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": (await shop.checkout(
        customer_token, (sku, 1)))["order"]["id"]}}, finance_token))["rechargeRefund"]
    assert [error["code"] for error in normal["errors"]] == ["NOT_FOUND"]


async def test_an_unspent_recharge_is_refunded_in_full(gql, shop, operator_token, finance_token, customer_token):
    order = await funded(gql, shop, operator_token, customer_token, 50000, 5000)
    done = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": order["id"]}}, finance_token))["rechargeRefund"]
    assert done["refund"]["amount"] == {"amount": 50000}
    await shop.finish_refund(done["refund"]["id"])
    assert await wallet(gql, customer_token) == (0, 0)
    assert (await shop.read(order, customer_token))["status"] == "REFUNDED"


async def test_a_spent_wallet_has_nothing_to_refund(gql, shop, operator_token, finance_token, customer_token):
    order = await funded(gql, shop, operator_token, customer_token, 1000, 100)
    sku = await shop.sku(price=1100, stock=5)
    assert (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]["status"] == "PAID"
    done = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": order["id"]}}, finance_token))["rechargeRefund"]
    assert [error["code"] for error in done["errors"]] == ["INVALID_STATE"]
    assert await wallet(gql, customer_token) == (0, 0)


async def test_a_recharge_cannot_be_paid_with_the_wallet(gql, shop, operator_token, customer_token):
    await funded(gql, shop, operator_token, customer_token, 1000, 0)
    package = (await create(gql, operator_token, price=500, bonus=0))["package"]
    placed = await recharge(gql, customer_token, package)
    paid = (await gql.data(ORDER_PAY, {"i": {"orderId": placed["order"]["id"], "useWallet": True}},
                           customer_token))["orderPay"]
    assert [error["code"] for error in paid["errors"]] == ["INVALID"]
    assert await wallet(gql, customer_token) == (1000, 0)


async def test_another_customers_wallet_is_unreadable(gql, shop, operator_token, customer_token, other_customer_token,
                                                      finance_token):
    order = await funded(gql, shop, operator_token, customer_token, 1000, 100)
    me = await customer("o-customer-a")
    query = """query($id: ID!) { node(id: $id) { ... on Customer { wallet { balance { amount } } } } }"""
    for token in (other_customer_token, finance_token, None):
        found = await gql(query, {"id": gid("Customer", me.id)}, token)
        assert (found.get("data") or {}).get("node") in (None, {"wallet": None}), found
    spent = (await gql.data(ORDER_PAY, {"i": {"orderId": order["id"], "useWallet": True}}, other_customer_token))
    assert [error["code"] for error in spent["orderPay"]["errors"]] == ["NOT_FOUND"]
    assert await wallet(gql, customer_token) == (1000, 100)


async def test_bad_recharge_refunds_change_nothing(gql, shop, operator_token, finance_token, customer_token):
    order = await funded(gql, shop, operator_token, customer_token, 1000, 100)
    cases = [({"orderId": "bm90LWFuLWlk"}, "NOT_FOUND"), ({"orderId": gid("Sku", 1)}, "NOT_FOUND"),
             ({"orderId": order["id"], "reason": "长" * 201}, "INVALID")]
    for data, code in cases:
        done = (await gql.data(RECHARGE_REFUND, {"i": data}, finance_token))["rechargeRefund"]
        assert [error["code"] for error in done["errors"]] == [code], data
    unpaid = await recharge(gql, customer_token, (await create(gql, operator_token, price=300, bonus=0))["package"])
    done = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": unpaid["order"]["id"]}}, finance_token))
    assert [error["code"] for error in done["rechargeRefund"]["errors"]] == ["INVALID_STATE"]
    assert await wallet(gql, customer_token) == (1000, 100)


async def test_a_flash_sale_order_is_paid_with_the_wallet_through_order_pay(gql, shop, flash, operator_token,
                                                                            customer_token):
    await funded(gql, shop, operator_token, customer_token, 2000, 200)
    sku = await shop.sku(price=5990, stock=10)
    sale = await flash.sale((sku, 990, 3))
    bought = await flash.buy(customer_token, sale, sku, 2)
    assert bought["errors"] == [] and bought["order"]["status"] == "PENDING_PAYMENT"
    paid = (await gql.data(ORDER_PAY, {"i": {"orderId": bought["order"]["id"], "useWallet": True}},
                           customer_token))["orderPay"]
    assert (paid["errors"], paid["order"]["status"], paid["payment"]) == ([], "PAID", None)
    assert await wallet(gql, customer_token) == (2000 - 1800, 200 - 180)  # bonus ⌊1980 × 200 ÷ 2200⌋ = 180
    assert await shop.available(sku) == 10 - 3  # the pool set aside 3; the 2 sold stay sold
