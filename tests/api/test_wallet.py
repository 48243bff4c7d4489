"""Stored value through the API: staff offer packages, a customer recharges through WeChat Pay, the price lands in
the principal and the bonus in the bonus, once, however often WeChat Pay says so; limits hold under concurrency and a
recharge is neither shipped nor refunded on request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.orders.models import Payment
from domain.orders.payment import settle_payment
from tests.fixtures.orders import ORDER_REQUEST_REFUND, ORDER_SHIP, order_row
from tests.fixtures.wallet import CREATE, END, LIVE, RECHARGE, WALLET, create, package_input, recharge

pytestmark = pytest.mark.usefixtures("audited")

async def test_a_paid_recharge_credits_principal_and_bonus_once(gql, shop, app, operator_token, customer_token):
    package = (await create(gql, operator_token))["package"]
    assert [found["id"] for found in (await gql.data(LIVE))["walletRechargePackages"]] == [package["id"]]
    placed = await recharge(gql, customer_token, package, key="r-1")
    assert placed["errors"] == []
    assert (placed["order"]["kind"], placed["order"]["status"], placed["order"]["payable"]) == (
        "RECHARGE", "PENDING_PAYMENT", {"amount": 50000})
    assert (await recharge(gql, customer_token, package, key="r-1"))["order"]["id"] == placed["order"]["id"]

    await shop.pay(placed["payment"])
    read = await shop.read(placed["order"], customer_token)  # every field of an order renders for a recharge
    assert read is not None and (read["status"], read["lines"]) == ("PAID", [])
    wallet = (await gql.data(WALLET, token=customer_token))["me"]["wallet"]
    assert (wallet["balance"], wallet["principal"], wallet["bonus"], wallet["bonusBalance"]) == (
        {"amount": 55000}, {"amount": 50000}, {"amount": 5000}, {"amount": 5000})
    assert sorted(edge["node"]["bucket"] for edge in wallet["ledger"]["edges"]) == ["BONUS", "PRINCIPAL"]

    paid = await Payment.get(order_id=(await order_row(placed["order"])).id)
    again = await settle_payment(app.state.runtime.services.orders, paid.out_trade_no, paid.transaction_id or "",
                                 paid.amount)
    assert again == "duplicate"
    assert (await gql.data(WALLET, token=customer_token))["me"]["wallet"]["balance"] == {"amount": 55000}


async def test_five_recharges_at_once_of_a_once_per_customer_package_place_one(gql, operator_token, customer_token):
    package = (await create(gql, operator_token, perCustomerLimit=1))["package"]
    done = await asyncio.gather(*(recharge(gql, customer_token, package) for _ in range(5)))
    assert sorted(result["errors"][0]["code"] if result["errors"] else "OK" for result in done) == [
        "LIMIT_EXCEEDED"] * 4 + ["OK"]


async def test_a_recharge_ships_nothing_and_is_not_refunded_on_request(gql, shop, operator_token, customer_token):
    package = (await create(gql, operator_token, bonus=0))["package"]
    placed = await recharge(gql, customer_token, package)
    await shop.pay(placed["payment"])
    asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": placed["order"]["id"], "reason": "不要了"}},
                            customer_token))["orderRequestRefund"]
    assert [error["code"] for error in asked["errors"]] == ["INVALID_STATE"]
    shipped = (await gql.data(ORDER_SHIP, {"i": {"orderId": placed["order"]["id"], "carrier": "顺丰",
                                                 "trackingNumber": "SF1"}}, operator_token))["orderShip"]
    assert [error["code"] for error in shipped["errors"]] == ["INVALID_STATE"]
    assert (await gql.data(WALLET, token=customer_token))["me"]["wallet"]["bonus"] == {"amount": 0}


async def test_packages_off_sale_and_bad_packages_are_refused(gql, operator_token, customer_token):
    later = (await create(gql, operator_token, startsAt=(datetime.now(UTC) + timedelta(days=1)).isoformat()))
    assert [error["code"] for error in (await recharge(gql, customer_token, later["package"]))["errors"]] == [
        "NOT_STARTED"]
    ended = (await create(gql, operator_token))["package"]
    assert (await gql.data(END, {"i": {"id": ended["id"]}}, operator_token))["rechargePackageEnd"]["errors"] == []
    assert [error["code"] for error in (await recharge(gql, customer_token, ended))["errors"]] == ["ENDED"]
    assert (await gql.data(LIVE))["walletRechargePackages"] == []

    bad = await create(gql, operator_token, name=" ", price=0, bonus=-1, perCustomerLimit=0,
                       endsAt=(datetime.now(UTC) - timedelta(days=2)).isoformat())
    assert sorted(error["field"][0] for error in bad["errors"]) == ["bonus", "endsAt", "name", "perCustomerLimit",
                                                                     "price"]
    refused = await gql(CREATE, {"i": package_input()}, customer_token)
    assert refused["data"] is None
    missing = await gql.data(RECHARGE, {"i": {"packageId": "UmVjaGFyZ2VQYWNrYWdlOjk5"}}, customer_token)
    assert [error["code"] for error in missing["walletRecharge"]["errors"]] == ["NOT_FOUND"]
