"""Group-buy seats paid with the wallet: a seat the wallet pays in full is paid at once and counts toward its group;
a failed group gives each seat's wallet part back (paid seats by their refund, unpaid ones when cancelled)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.group_buy.sweep import fail_expired_groups
from domain.orders.models import Refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import pk
from tests.fixtures.wallet import funded, wallet

pytestmark = pytest.mark.usefixtures("audited")


async def test_seats_the_wallet_pays_in_full_are_paid_at_once_and_fill_the_group(desk, shop, gql, operator_token):
    sku = await shop.sku(price=5990, stock=10)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    leader, member = await desk.customer("o-leader"), await desk.customer("o-member")
    for token in (leader, member):
        await funded(gql, shop, operator_token, token, 5000, 500)
    started = await desk.start(leader, campaign, sku, useWallet=True)
    assert started["errors"] == [] and started["payment"] is None
    assert (started["order"]["status"], started["group"]["paidCount"]) == ("PAID", 1)
    joined = await desk.join(member, started["group"], sku, useWallet=True)
    assert joined["errors"] == [] and joined["payment"] is None
    assert (await desk.read(started["group"]))["status"] == "SUCCEEDED"
    # bonus ⌊3990 × 500 ÷ 5500⌋ = 362
    assert await wallet(gql, leader) == await wallet(gql, member) == (5000 - 3628, 500 - 362)


async def test_a_failed_group_gives_every_seat_its_wallet_part_back(app, desk, shop, gql, operator_token):
    sku = await shop.sku(price=5990, stock=10)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    leader, paid, unpaid = [await desk.customer(name) for name in ("o-leader", "o-paid", "o-unpaid")]
    await funded(gql, shop, operator_token, leader, 5000, 0)
    await funded(gql, shop, operator_token, paid, 1000, 100)
    await funded(gql, shop, operator_token, unpaid, 1000, 0)
    group = (await desk.start(leader, campaign, sku, useWallet=True))["group"]
    seat = await desk.join(paid, group, sku, useWallet=True)
    await shop.pay(seat["payment"])
    pending = await desk.join(unpaid, group, sku, useWallet=True)
    assert pending["order"]["status"] == "PENDING_PAYMENT" and await wallet(gql, unpaid) == (0, 0)

    await fail_expired_groups(app.state.runtime.services.orders, datetime.now(UTC) + timedelta(days=2))
    assert (await desk.read(group))["status"] == "FAILED"
    assert await wallet(gql, leader) == (5000, 0)  # paid by the wallet alone: refunded at once
    assert await wallet(gql, paid) == (0, 0)  # its wallet part goes back with its WeChat Pay part
    refund = await Refund.get(order_id=pk(seat["order"]["id"]))
    assert (refund.amount, refund.wallet_principal, refund.wallet_bonus, refund.wechat_amount) == (3990, 1000, 100,
                                                                                                   2890)
    await shop.finish_refund(gid("Refund", refund.id))
    assert await wallet(gql, paid) == (1000, 100)
    assert await wallet(gql, unpaid) == (1000, 0)
