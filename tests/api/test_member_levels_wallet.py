"""Member levels with the wallet: a recharge counts nothing, the wallet principal an order spends counts, its bonus
never does, and a refund of a wallet-paid order takes the level back. The books are audited after every test."""

from __future__ import annotations

import pytest

from domain.members import levels
from domain.members.levels import LevelDraft
from tests.fixtures.orders import ORDER_REQUEST_REFUND, REFUND_APPROVE
from tests.fixtures.wallet import funded

pytestmark = pytest.mark.usefixtures("audited")

ME = "{ me { memberLevel { level { name } paid { amount } amountToNextLevel { amount } } } }"


async def standing(gql, token: str) -> dict:
    return (await gql.data(ME, token=token))["me"]["memberLevel"]


async def test_wallet_principal_counts_bonus_and_recharges_do_not_and_a_refund_takes_the_level_back(
        gql, shop, operator_token, finance_token, customer_token):
    await levels.create(LevelDraft(name="银卡", threshold=5000, discount_bp=500))
    await funded(gql, shop, operator_token, customer_token, 50000, 5000)
    assert await standing(gql, customer_token) == {"level": None, "paid": {"amount": 0},
                                                   "amountToNextLevel": {"amount": 5000}}
    sku = await shop.sku(price=3990, stock=5)
    first = (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]
    assert first["status"] == "PAID"  # principal 3628, bonus ⌊3990 × 5000 ÷ 55000⌋ = 362
    assert await standing(gql, customer_token) == {"level": None, "paid": {"amount": 3628},
                                                   "amountToNextLevel": {"amount": 1372}}
    second = (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]
    reached = await standing(gql, customer_token)
    assert reached["level"] == {"name": "银卡"} and reached["paid"]["amount"] > 5000
    assert second["lines"][0]["unitPrice"]["amount"] == 3990  # placed before the level was reached
    third = (await shop.checkout(customer_token, (sku, 1), useWallet=True))["order"]
    assert third["lines"][0]["unitPrice"]["amount"] == 3790  # 3990 × 0.95, floored

    for order in (second, third):
        asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": order["id"], "reason": "不要了"}},
                                customer_token))["orderRequestRefund"]
        approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}}, finance_token))
        assert approved["refundApprove"]["refund"]["status"] == "SUCCEEDED"
    assert await standing(gql, customer_token) == {"level": None, "paid": {"amount": 3628},
                                                   "amountToNextLevel": {"amount": 1372}}
