"""Refunds: the customer asks, finance decides, WeChat Pay pays back, and the ledger nets to what was kept."""

from __future__ import annotations

import pytest

from domain.catalog.models import StockMovement
from domain.inventory import holds
from domain.orders.models import Refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import (
    ORDER_REFUND,
    ORDER_REQUEST_REFUND,
    REFUND_APPROVE,
    REFUND_REJECT,
    ledger,
    order_row,
    reservations,
    stock,
)

pytestmark = pytest.mark.usefixtures("audited")


async def request_refund(gql, token, order, reason="不想要了", amount=None):
    variables = {"i": {"orderId": order["id"], "reason": reason, "amount": amount}}
    return (await gql.data(ORDER_REQUEST_REFUND, variables, token))["orderRequestRefund"]


async def approve(gql, token, refund):
    return (await gql.data(REFUND_APPROVE, {"i": {"refundId": refund["id"]}}, token))["refundApprove"]


async def reject(gql, token, refund, reason="商品已发出"):
    return (await gql.data(REFUND_REJECT, {"i": {"refundId": refund["id"], "reason": reason}}, token))["refundReject"]


def codes(result):
    return [e["code"] for e in result["errors"]]


async def test_a_full_refund_requested_approved_and_finished_refunds_the_order(
    shop, gql, customer_token, finance_token
):
    sku = await shop.sku(price=1990)
    order = await shop.paid_order(customer_token, (sku, 2))

    asked = await request_refund(gql, customer_token, order)
    assert asked["errors"] == []
    assert asked["order"]["status"] == "REFUNDING"
    refund = asked["refund"]
    assert (refund["status"], refund["amount"], refund["reason"]) == ("REQUESTED", {"amount": 3980}, "不想要了")

    approved = await approve(gql, finance_token, refund)
    assert approved["errors"] == []
    assert (approved["refund"]["status"], approved["order"]["status"]) == ("PROCESSING", "REFUNDING")

    await shop.finish_refund(refund["id"])

    read = await shop.read(order, customer_token)
    assert read["status"] == "REFUNDED"
    assert read["refundedTotal"] == {"amount": 3980}
    assert [(r["status"], r["amount"]["amount"]) for r in read["refunds"]] == [("SUCCEEDED", 3980)]
    assert await ledger(order) == [("payment", 3980), ("refund", -3980)]


async def test_a_partial_refund_returns_the_order_to_where_it_was(
    shop, gql, customer_token, operator_token, finance_token
):
    sku = await shop.sku(price=1990)
    order = await shop.shipped_order(customer_token, operator_token, (sku, 2))

    asked = await request_refund(gql, customer_token, order, reason="少了一个", amount=1000)
    assert asked["order"]["status"] == "REFUNDING"
    await approve(gql, finance_token, asked["refund"])
    await shop.finish_refund(asked["refund"]["id"])

    read = await shop.read(order, customer_token)
    assert (read["status"], read["refundedTotal"]) == ("SHIPPED", {"amount": 1000})
    assert await ledger(order) == [("payment", 3980), ("refund", -1000)]
    assert sum(amount for _, amount in await ledger(order)) == 3980 - 1000

    too_much = await request_refund(gql, customer_token, order, amount=2981)
    assert codes(too_much) == ["INVALID"] and too_much["refund"] is None
    rest = await request_refund(gql, customer_token, order)
    assert rest["refund"]["amount"] == {"amount": 2980}
    await approve(gql, finance_token, rest["refund"])
    await shop.finish_refund(rest["refund"]["id"])
    assert (await order_row(order)).status == "REFUNDED"
    assert sum(amount for _, amount in await ledger(order)) == 0


async def test_a_rejected_request_returns_the_order_to_where_it_was(
    shop, gql, customer_token, operator_token, finance_token
):
    sku = await shop.sku()
    order = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    asked = await request_refund(gql, customer_token, order)

    rejected = await reject(gql, finance_token, asked["refund"], reason="已签收，请走售后")

    assert rejected["errors"] == []
    assert (rejected["refund"]["status"], rejected["refund"]["rejectReason"]) == ("REJECTED", "已签收，请走售后")
    assert rejected["order"]["status"] == "SHIPPED"
    row = await order_row(order)
    assert (row.status, row.status_before_refund, row.refunded_total) == ("SHIPPED", None, 0)
    assert await ledger(order) == [("payment", 1990)]
    again = await request_refund(gql, customer_token, order)  # a rejected request does not block a new one
    assert again["errors"] == [] and again["order"]["status"] == "REFUNDING"


async def test_a_refund_wechat_pay_closes_fails_and_the_order_goes_back(shop, gql, customer_token, finance_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    asked = await request_refund(gql, customer_token, order)
    await approve(gql, finance_token, asked["refund"])

    await shop.finish_refund(asked["refund"]["id"], status="CLOSED")

    read = await shop.read(order, customer_token)
    assert read["status"] == "PAID" and read["refundedTotal"] == {"amount": 0}
    assert [r["status"] for r in read["refunds"]] == ["FAILED"]
    assert await ledger(order) == [("payment", 1990)]


async def test_a_pending_order_cannot_be_refunded(shop, gql, customer_token):
    sku = await shop.sku()
    order, _ = await shop.place(customer_token, (sku, 1))
    result = await request_refund(gql, customer_token, order)
    assert codes(result) == ["INVALID_STATE"] and result["order"] is None
    assert not await Refund.exists()
    assert (await order_row(order)).status == "PENDING_PAYMENT"


@pytest.mark.parametrize("amount", [0, -5, 1991])
async def test_an_amount_outside_what_was_paid_is_invalid(shop, gql, customer_token, amount):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    result = await request_refund(gql, customer_token, order, amount=amount)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["amount"])]
    assert not await Refund.exists()
    assert (await order_row(order)).status == "PAID"


async def test_only_one_refund_is_open_at_a_time(shop, gql, customer_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    await request_refund(gql, customer_token, order, amount=500)
    second = await request_refund(gql, customer_token, order, amount=500)
    assert codes(second) == ["INVALID_STATE"]  # the order is REFUNDING now
    assert await Refund.all().count() == 1


async def test_a_decided_refund_cannot_be_decided_again(shop, gql, customer_token, finance_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    refund = (await request_refund(gql, customer_token, order))["refund"]
    await approve(gql, finance_token, refund)

    assert codes(await approve(gql, finance_token, refund)) == ["INVALID_STATE"]
    assert codes(await reject(gql, finance_token, refund)) == ["INVALID_STATE"]
    row = await Refund.get(order_id=(await order_row(order)).id)
    assert (row.status, row.reject_reason) == ("PROCESSING", "")
    await shop.finish_refund(refund["id"])
    assert await ledger(order) == [("payment", 1990), ("refund", -1990)]


async def test_finance_refunds_on_the_shops_own_initiative(shop, gql, customer_token, finance_token):
    sku = await shop.sku(price=1990)
    order = await shop.paid_order(customer_token, (sku, 3))

    variables = {"i": {"orderId": order["id"], "amount": 1990, "reason": "缺货一件"}}
    result = (await gql.data(ORDER_REFUND, variables, finance_token))["orderRefund"]

    assert result["errors"] == []
    assert (result["refund"]["status"], result["refund"]["amount"]) == ("PROCESSING", {"amount": 1990})
    assert result["order"]["status"] == "REFUNDING"
    await shop.finish_refund(result["refund"]["id"])
    read = await shop.read(order, customer_token)
    assert (read["status"], read["refundedTotal"]) == ("PAID", {"amount": 1990})
    assert await ledger(order) == [("payment", 5970), ("refund", -1990)]


async def test_an_unknown_refund_is_not_found(gql, finance_token):
    result = await approve(gql, finance_token, {"id": gid("Refund", 424242)})
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["refundId"])]


async def test_a_full_refund_before_shipping_puts_the_units_back_on_sale_once(
    shop, gql, customer_token, finance_token
):
    sku = await shop.sku(price=1990, stock=5)
    order = await shop.paid_order(customer_token, (sku, 2))
    assert await stock(sku) == (3, 0) and await shop.available(sku) == 3
    asked = await request_refund(gql, customer_token, order)
    await approve(gql, finance_token, asked["refund"])
    await shop.finish_refund(asked["refund"]["id"])
    assert (await order_row(order)).status == "REFUNDED"
    assert await stock(sku) == (5, 0) and await shop.available(sku) == 5
    assert await reservations(order) == [(sku.id, 2, "RETURNED")]
    assert await holds.restock((await order_row(order)).id) == []  # only once
    moves = await StockMovement.filter(sku_id=sku.id).order_by("id").values_list("delta", "reason")
    assert moves[-2:] == [(-2, "sold"), (2, "refunded before shipping")]
    assert sum(delta for delta, _ in moves) == 5


async def test_a_refund_after_shipping_leaves_the_stock_alone(
    shop, gql, customer_token, operator_token, finance_token
):
    sku = await shop.sku(price=1990, stock=5)
    order = await shop.shipped_order(customer_token, operator_token, (sku, 2))
    asked = await request_refund(gql, customer_token, order)
    await approve(gql, finance_token, asked["refund"])
    await shop.finish_refund(asked["refund"]["id"])
    assert (await order_row(order)).status == "REFUNDED"
    assert await stock(sku) == (3, 0)  # the goods left the shop: they come back only through a return
