"""An order's life: paid through WeChat Pay, cancelled, shipped, received; illegal moves change nothing."""

from __future__ import annotations

import asyncio

from domain.orders.models import Payment, PaymentStatus
from tests.fixtures.catalog import gid
from tests.fixtures.orders import (
    ORDER_CANCEL,
    ORDER_CONFIRM,
    ORDER_PAY,
    ORDER_SHIP,
    ledger,
    order_row,
    reservations,
    stock,
)
from tests.support.statements import count_statements


def order_input(order, **fields):
    return {"i": {"orderId": order["id"], **fields}}


async def test_paying_through_wechat_pay_marks_the_order_paid_and_commits_the_stock(shop, customer_token):
    sku = await shop.sku(price=1990, stock=5)
    order, payment = await shop.place(customer_token, (sku, 2))
    assert await stock(sku) == (5, 2)

    await shop.pay(payment)

    paid = await shop.read(order, customer_token)
    assert paid["status"] == "PAID" and paid["paidAt"] is not None
    assert await stock(sku) == (3, 0)
    assert await shop.available(sku) == 3
    assert await reservations(order) == [(sku.id, 2, "COMMITTED")]
    assert await ledger(order) == [("payment", 3980)]
    assert await Payment.filter(order_id=(await order_row(order)).id).values_list("status", flat=True) == [
        PaymentStatus.SUCCEEDED
    ]


async def test_order_pay_gives_payment_fields_again_for_a_pending_order(shop, gql, customer_token):
    sku = await shop.sku()
    order, payment = await shop.place(customer_token, (sku, 1))

    again = (await gql.data(ORDER_PAY, order_input(order), customer_token))["orderPay"]

    assert again["errors"] == []
    assert again["order"] == {"id": order["id"], "status": "PENDING_PAYMENT"}
    assert again["payment"]["package"] == payment["package"]  # the live prepay is reused
    await shop.pay(again["payment"])
    assert (await shop.read(order, customer_token))["status"] == "PAID"


async def test_order_pay_on_a_paid_order_is_invalid_state(shop, gql, customer_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    result = (await gql.data(ORDER_PAY, order_input(order), customer_token))["orderPay"]
    assert (result["order"], result["payment"]) == (None, None)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_STATE", ["orderId"])]
    assert await Payment.filter(order_id=(await order_row(order)).id).count() == 1


async def test_cancel_gives_the_stock_back_exactly_once(shop, gql, customer_token):
    sku = await shop.sku(stock=5)
    order, _ = await shop.place(customer_token, (sku, 3))
    assert await shop.available(sku) == 2

    first = (await gql.data(ORDER_CANCEL, order_input(order), customer_token))["orderCancel"]
    assert first["errors"] == []
    assert first["order"]["status"] == "CANCELLED" and first["order"]["cancelledAt"] is not None
    assert await shop.available(sku) == 5

    second = (await gql.data(ORDER_CANCEL, order_input(order), customer_token))["orderCancel"]
    assert second["order"] is None
    assert [e["code"] for e in second["errors"]] == ["INVALID_STATE"]
    assert await stock(sku) == (5, 0)
    assert await reservations(order) == [(sku.id, 3, "RELEASED")]
    assert await shop.place(customer_token, (sku, 5))  # the counter has exactly 5 again, not 8
    assert [e["code"] for e in (await shop.checkout(customer_token, (sku, 1)))["errors"]] == ["SOLD_OUT"]


async def test_a_cancelled_order_closes_its_wechat_pay_trade(shop, gql, customer_token):
    sku = await shop.sku()
    order, payment = await shop.place(customer_token, (sku, 1))
    await gql.data(ORDER_CANCEL, order_input(order), customer_token)
    trades = await Payment.filter(order_id=(await order_row(order)).id).values_list("status", flat=True)
    assert trades == [PaymentStatus.CLOSED]
    prepay_id = payment["package"].removeprefix("prepay_id=")
    response = await shop.http.post("/__sim/wechatpay/__sim/pay", json={
        "prepay_id": prepay_id, "paySign": payment["paySign"], "timeStamp": payment["timeStamp"],
        "nonceStr": payment["nonceStr"]})
    assert response.json()["code"] == "ORDER_CLOSED"


async def test_a_paid_order_cannot_be_cancelled_by_the_customer(shop, gql, customer_token):
    sku = await shop.sku(stock=5)
    order = await shop.paid_order(customer_token, (sku, 1))
    result = (await gql.data(ORDER_CANCEL, order_input(order), customer_token))["orderCancel"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_STATE"]
    assert (await shop.read(order, customer_token))["status"] == "PAID"
    assert await stock(sku) == (4, 0)


async def test_ship_then_confirm_receipt_completes_the_order(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))

    ship = order_input(order, carrier="顺丰速运", trackingNumber=" SF1234567890 ")
    shipped = (await gql.data(ORDER_SHIP, ship, operator_token))["orderShip"]
    assert shipped["errors"] == []
    assert (shipped["order"]["status"], shipped["order"]["carrier"], shipped["order"]["trackingNumber"]) == (
        "SHIPPED", "顺丰速运", "SF1234567890")
    assert shipped["order"]["shippedAt"] is not None

    confirmed = (await gql.data(ORDER_CONFIRM, order_input(order), customer_token))["orderConfirmReceipt"]
    assert confirmed["errors"] == []
    assert confirmed["order"]["status"] == "COMPLETED" and confirmed["order"]["completedAt"] is not None
    read = await shop.read(order, customer_token)
    assert (read["status"], read["trackingNumber"]) == ("COMPLETED", "SF1234567890")


async def test_shipping_a_pending_order_is_invalid_state_and_changes_nothing(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order, _ = await shop.place(customer_token, (sku, 1))
    ship = order_input(order, carrier="顺丰速运", trackingNumber="SF1")
    result = (await gql.data(ORDER_SHIP, ship, operator_token))["orderShip"]
    assert result["order"] is None and [e["code"] for e in result["errors"]] == ["INVALID_STATE"]
    row = await order_row(order)
    assert (row.status, row.carrier, row.shipped_at) == ("PENDING_PAYMENT", "", None)


async def test_confirming_a_paid_order_is_invalid_state_and_changes_nothing(shop, gql, customer_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    result = (await gql.data(ORDER_CONFIRM, order_input(order), customer_token))["orderConfirmReceipt"]
    assert result["order"] is None and [e["code"] for e in result["errors"]] == ["INVALID_STATE"]
    row = await order_row(order)
    assert (row.status, row.completed_at) == ("PAID", None)


async def test_shipping_twice_is_invalid_state(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order = await shop.shipped_order(customer_token, operator_token, (sku, 1))
    again = order_input(order, carrier="中通快递", trackingNumber="ZT999")
    result = (await gql.data(ORDER_SHIP, again, operator_token))["orderShip"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_STATE"]
    assert (await order_row(order)).carrier == "顺丰速运"


async def test_a_parcel_needs_a_carrier_and_tracking_number(shop, gql, customer_token, operator_token):
    sku = await shop.sku()
    order = await shop.paid_order(customer_token, (sku, 1))
    result = (await gql.data(ORDER_SHIP, order_input(order, carrier="顺丰速运"), operator_token))["orderShip"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["trackingNumber"])]
    assert (await order_row(order)).status == "PAID"


async def test_a_pickup_order_is_marked_ready_without_a_tracking_number(
    shop, gql, customer_token, operator_token, store_pickup
):
    sku = await shop.sku()
    order, payment = await shop.place(customer_token, (sku, 1),
                                      delivery={"pickupPointId": gid("PickupPoint", store_pickup.id)})
    await shop.pay(payment)
    result = (await gql.data(ORDER_SHIP, order_input(order), operator_token))["orderShip"]
    assert result["errors"] == [] and result["order"]["status"] == "SHIPPED"


async def test_every_sold_unit_leaves_an_audit_row_and_the_audit_sums_to_the_stock(shop, customer_token):
    from domain.catalog.models import StockMovement

    sku = await shop.sku(stock=5)
    await shop.paid_order(customer_token, (sku, 2))
    await sku.refresh_from_db()
    movements = await StockMovement.filter(sku_id=sku.id).order_by("id").values_list("delta", "reason", "stock_after")
    assert movements[-1][:2] == (-2, "sold") and movements[-1][2] == sku.stock == 3
    assert sum(delta for delta, _, _ in movements) == sku.stock


async def test_orders_of_several_skus_paid_at_once_sell_every_unit_with_its_audit_row(
    shop, customer_token, other_customer_token
):
    """PostgreSQL sells one SKU's units with the statement settling its reservations, and several SKUs' after
    locking their rows in id order (one lock order for every buyer): two orders naming the same SKUs in opposite
    orders and one of a single SKU, paid at the same time, sell every unit once, each with its audit row."""
    from domain import raw_sql
    from domain.catalog.models import StockMovement

    first_sku, second_sku = await shop.sku(stock=10), await shop.sku(stock=10)
    one, one_payment = await shop.place(customer_token, (first_sku, 1), (second_sku, 2))
    other, other_payment = await shop.place(other_customer_token, (second_sku, 3), (first_sku, 4))
    single, single_payment = await shop.place(customer_token, (second_sku, 1))

    async with count_statements() as paying:
        confirmed = await asyncio.gather(*(shop.confirm(p["package"], p["paySign"], p["timeStamp"], p["nonceStr"])
                                           for p in (one_payment, other_payment, single_payment)))
        assert [r.status_code for r in confirmed] == [200, 200, 200]
        await shop.drain()

    assert [(await shop.read(o, token))["status"] for o, token in
            ((one, customer_token), (other, other_customer_token), (single, customer_token))] == ["PAID"] * 3
    assert (await stock(first_sku), await stock(second_sku)) == ((5, 0), (4, 0))
    for order in (one, other, single):
        assert {state for _, _, state in await reservations(order)} == {"COMMITTED"}
    for sku, sold in ((first_sku, [-1, -4]), (second_sku, [-1, -2, -3])):
        movements = await StockMovement.filter(sku_id=sku.id, reason="sold").values_list("delta", "stock_after")
        assert sorted(delta for delta, _ in movements) == sorted(sold)
        assert min(after for _, after in movements) == sku.stock
    if raw_sql.postgres():  # the two orders of two SKUs locked them in id order; the one of a single SKU did not
        locks = [s for s in paying if 'FROM "catalog_sku"' in s and 'ORDER BY "id" FOR NO KEY UPDATE' in s]
        assert len(locks) == 2, paying
