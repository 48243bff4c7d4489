"""Relay entries paid with the wallet: one the wallet pays in full is numbered at once; a refund gives it back."""

from __future__ import annotations

import pytest

from tests.fixtures.orders import ORDER_REQUEST_REFUND, REFUND_APPROVE
from tests.fixtures.wallet import funded, wallet

pytestmark = pytest.mark.usefixtures("audited")


async def test_an_entry_the_wallet_pays_is_numbered_at_once_and_refunded_to_the_wallet(relays, gql, operator_token,
                                                                                       finance_token):
    sku = await relays.shop.sku(price=3990, stock=10)
    relay = await relays.relay((sku, 2990, 5))
    member = await relays.member("小王")
    await funded(gql, relays.shop, operator_token, member, 3000, 300)
    joined = await relays.joined(member, relay, (sku, 1), useWallet=True)
    assert joined["payment"] is None and joined["order"]["status"] == "PAID"
    assert (await relays.read(relay))["entryCount"] == 1
    assert await wallet(gql, member) == (3000 - 2719, 300 - 271)  # bonus ⌊2990 × 300 ÷ 3300⌋ = 271

    asked = (await gql.data(ORDER_REQUEST_REFUND, {"i": {"orderId": joined["order"]["id"], "reason": "不要了"}},
                            member))["orderRequestRefund"]
    assert asked["errors"] == []
    approved = (await gql.data(REFUND_APPROVE, {"i": {"refundId": asked["refund"]["id"]}}, finance_token))
    assert approved["refundApprove"]["refund"]["status"] == "SUCCEEDED"
    assert await wallet(gql, member) == (3000, 300)
