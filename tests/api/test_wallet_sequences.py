"""Random sequences of recharge, spend, refund and recharge refund (hypothesis draws them; each is played through the
API against WeChat Pay's simulator) keep the books after every step: every balance equals its ledger and none is
below zero, every order's money is its payments minus its refunds, and no money is created: nothing goes back as
cash that was not paid in as cash, a recharge refund pays out only principal, and no order gives back more than it
took."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.audit import checks
from domain.balances.models import BalanceEntry
from domain.columns import column
from domain.identity.models import Customer
from domain.ledger.models import LedgerEntry
from domain.orders.models import Order, Refund, RefundStatus
from domain.wallet import account
from domain.wallet.models import Recharge
from tests.api.test_wallet_pay import RECHARGE_REFUND
from tests.fixtures.orders import ORDER_REQUEST_REFUND, REFUND_APPROVE, pk
from tests.fixtures.wallet import funded, wallet


@dataclass(frozen=True)
class Recharging:
    price: int
    bonus: int


@dataclass(frozen=True)
class Spending:
    price: int
    quantity: int


@dataclass(frozen=True)
class Refunding:
    which: int
    """an index into the orders paid so far"""
    share: int
    """thousandths of what is left (at least 1 fen); 1000 or more: all of it"""


@dataclass(frozen=True)
class RechargeRefunding:
    which: int


steps = st.one_of(
    st.builds(Recharging, price=st.integers(1, 20_000), bonus=st.integers(0, 20_000)).map(
        lambda step: Recharging(step.price, min(step.bonus, step.price))),
    st.builds(Spending, price=st.integers(1, 9_000), quantity=st.integers(1, 3)),
    st.builds(Refunding, which=st.integers(0, 20), share=st.integers(1, 1200)),
    st.builds(RechargeRefunding, which=st.integers(0, 20)),
)
SEEN = [
    [Recharging(1000, 1000), Recharging(1000, 0), Spending(1500, 1), RechargeRefunding(0), Refunding(0, 1000)],
    [Recharging(3, 3), Spending(1, 1), Spending(2, 1), Refunding(0, 1000), RechargeRefunding(0), Refunding(1, 500)],
]


def drawn(how_many: int) -> list[list[Any]]:
    found: list[list[Any]] = []

    @settings(max_examples=how_many, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(sequence=st.lists(steps, min_size=2, max_size=7))
    def collect(sequence: list[Any]) -> None:
        found.append(sequence)

    collect()
    return found


async def test_random_wallet_sequences_keep_the_books_and_never_create_money(
        gql, shop, operator_token, finance_token, issue_customer_token):
    customers = count(1)
    for sequence in [*SEEN, *drawn(12)]:
        openid = f"o-wallet-{next(customers)}"
        token = await issue_customer_token(openid)
        customer_id = (await Customer.get(openid=openid)).id
        await _play(sequence, gql, shop, operator_token, finance_token, token, customer_id)


async def _play(sequence: list[Any], gql, shop, operator_token: str, finance_token: str, token: str,
                customer_id: int) -> None:
    recharges: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for step in sequence:
        if isinstance(step, Recharging):
            recharges.append(await funded(gql, shop, operator_token, token, step.price, step.bonus))
        elif isinstance(step, Spending):
            await _spend(gql, shop, token, step, orders)
        elif isinstance(step, Refunding) and orders:
            await _refund(gql, shop, token, finance_token, orders[step.which % len(orders)], step.share)
        elif isinstance(step, RechargeRefunding) and recharges:
            order = recharges[step.which % len(recharges)]
            done = (await gql.data(RECHARGE_REFUND, {"i": {"orderId": order["id"]}}, finance_token))["rechargeRefund"]
            if not done["errors"]:
                await shop.finish_refund(done["refund"]["id"])
            else:
                assert [error["code"] for error in done["errors"]] == ["INVALID_STATE"], (sequence, done)
        await _books_hold(gql, token, customer_id, sequence)


async def _spend(gql, shop, token: str, step: Spending, orders: list[dict[str, Any]]) -> None:
    sku = await shop.sku(price=step.price, stock=10)
    placed = await shop.checkout(token, (sku, step.quantity), useWallet=True)
    assert placed["errors"] == [], placed["errors"]
    if placed["payment"] is not None:
        await shop.pay(placed["payment"])
    read = await shop.read(placed["order"], token)
    assert read["status"] == "PAID"
    assert read["walletPaid"]["amount"] + read["payable"]["amount"] == step.price * step.quantity
    orders.append(placed["order"])


async def _refund(gql, shop, token: str, finance_token: str, order: dict[str, Any], share: int) -> None:
    row = await Order.get(id=pk(order["id"]))
    left = row.money_in - row.refunded_total
    if left <= 0:
        return
    amount = None if share >= 1000 else max(1, left * share // 1000)
    asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": order["id"], "reason": "r", "amount": amount}},
                            token))["orderRequestRefund"]
    assert asked["errors"] == [], asked["errors"]
    approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}}, finance_token))
    refund = approved["refundApprove"]["refund"]
    if refund["status"] != RefundStatus.SUCCEEDED.value:
        await shop.finish_refund(refund["id"])


async def _books_hold(gql, token: str, customer_id: int, sequence: list[Any]) -> None:
    found = [await checks.balances(), await checks.order_money()]
    assert [(check.name, check.discrepancies) for check in found if not check.ok] == [], sequence
    principal, bonus = await wallet(gql, token)
    assert principal >= 0 and bonus >= 0, sequence
    cash_in = sum(await column(LedgerEntry.filter(account="wechatpay", kind="payment"), "amount", int))
    cash_out = -sum(await column(LedgerEntry.filter(account="wechatpay", kind="refund"), "amount", int))
    assert cash_out <= cash_in, sequence
    for order in await Order.filter(customer_id=customer_id):
        assert 0 <= order.refunded_total <= order.money_in, (sequence, order.number)
    # a recharge refund pays out only principal: its cash is at most what left the principal for it
    # and the bonus the customer still enjoys (held, or spent on orders they keep, less the principal a recharge
    # refund kept back to pay for spent bonus) is never more than the bonus of what was not taken back
    may_enjoy = 0
    forfeited = 0
    for recharge in await Recharge.filter(customer_id=customer_id, credited_at__isnull=False):
        may_enjoy += recharge.bonus
        if recharge.refunded_at is None:
            continue
        principal_out = -sum(await column(BalanceEntry.filter(
            owner_kind=account.OWNER_KIND, reference=f"wallet:recharge:{recharge.order_id}:refund:principal"),
            "amount", int))
        cash = sum(await column(Refund.filter(order_id=recharge.order_id, requested_by__startswith="staff:"),
                                "amount", int))
        assert 0 < cash <= principal_out <= recharge.principal, sequence
        forfeited += principal_out - cash
        may_enjoy -= -(-principal_out * recharge.bonus // recharge.principal)
    in_orders = sum(await column(LedgerEntry.filter(order__customer_id=customer_id, account="wallet_bonus"),
                                 "amount", int))
    assert bonus + in_orders - forfeited <= may_enjoy, sequence
    # every fen of each bucket is accounted for: credited by recharges = what the wallet holds + what the customer's
    # orders hold of it + what recharge refunds took out; and orders hold no more than was credited
    for bucket, held, account_name in (("principal", principal, "wallet_principal"), ("bonus", bonus, "wallet_bonus")):
        entries = BalanceEntry.filter(owner_kind=account.OWNER_KIND, owner_id=customer_id, bucket=bucket)
        credited = sum(await column(entries.filter(reference__startswith="wallet:recharge:", amount__gt=0), "amount",
                                    int))
        taken_back = -sum(await column(entries.filter(reference__contains=":refund:", amount__lt=0,
                                                      reference__startswith="wallet:recharge:"), "amount", int))
        in_orders = sum(await column(LedgerEntry.filter(order__customer_id=customer_id, account=account_name),
                                     "amount", int))
        assert credited == held + in_orders + taken_back, (sequence, bucket)
        assert 0 <= in_orders <= credited, (sequence, bucket)
