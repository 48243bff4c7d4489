"""Commissions through the API: a share, an order, its payment, completion, the freeze and refunds, to the fen."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from domain.attribution.models import OrderAttribution
from domain.balances.service import mismatches
from domain.columns import column
from domain.commissions import balance
from domain.commissions.models import OWNER_KIND, Commission
from domain.commissions.release import release_due
from domain.commissions.states import net
from tests.api.distribution.conftest import Distribution, Person
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ORDER_CONFIRM, ORDER_REFUND, Shop, pk

pytestmark = pytest.mark.usefixtures("audited")

LATER = timedelta(days=8)


async def chain(dist: Distribution, mode: str = "FIRST_TOUCH", **rules: Any) -> tuple[Person, Person, Person]:
    """A parent distributor, a distributor bound to it, and a buyer who opened the distributor's share."""
    await dist.turn_on(mode, **{"levels": 2, "directRateBp": 1000, "parentRateBp": 500, **rules})
    parent = await dist.distributor("上级")
    kid = await dist.customer("下级")
    assert (await dist.open(parent.share_code or "", kid))["errors"] == []
    kid = await dist.distributor_from(kid)
    buyer = await dist.customer("买家")
    assert (await dist.open(kid.share_code or "", buyer))["errors"] == []
    return parent, kid, buyer


async def commissions(order: dict[str, Any]) -> list[tuple[int, int, int, str]]:
    rows = await Commission.filter(order_id=pk(order["id"])).order_by("level", "id")
    return [(row.level, row.amount, net(row), row.status.value) for row in rows]


async def books_balance() -> None:
    """The ledger sums to every balance, and the balances to the commissions."""
    assert await mismatches(OWNER_KIND) == []
    for distributor_id in set(await column(Commission.all(), "distributor_id", int)):
        mine = await Commission.filter(distributor_id=distributor_id)
        summary = await balance.summary(distributor_id)
        assert summary.pending == sum(net(c) for c in mine if c.status.value == "PENDING")
        assert summary.available + summary.withdrawn == sum(net(c) for c in mine if c.status.value in
                                                           ("AVAILABLE", "WITHDRAWN"))


async def completed(shop: Shop, gql, token: str, operator_token: str, *lines) -> dict[str, Any]:
    order = await shop.shipped_order(token, operator_token, *lines)
    done = (await gql.data(ORDER_CONFIRM, {"i": {"orderId": order["id"]}}, token))["orderConfirmReceipt"]
    assert done["errors"] == [], done
    return order


async def refund(shop: Shop, gql, finance_token: str, order: dict[str, Any], amount: int) -> None:
    done = (await gql.data(ORDER_REFUND, {"i": {"orderId": order["id"], "amount": amount, "reason": "缺货"}},
                           finance_token))["orderRefund"]
    assert done["errors"] == [], done
    await shop.finish_refund(done["refund"]["id"])


async def test_a_shared_order_earns_both_levels_when_paid_and_is_available_after_the_freeze(
    dist, shop, gql, operator_token
):
    parent, kid, buyer = await chain(dist)
    sku = await shop.sku(price=1999)
    order, payment = await shop.place(buyer.token, (sku, 3), shareCode=kid.share_code)

    attribution = await OrderAttribution.get(order_id=pk(order["id"]))
    assert (attribution.direct_rate_bp, attribution.parent_rate_bp, attribution.freeze_days) == (1000, 500, 7)
    assert await commissions(order) == []  # nothing before the money
    await shop.pay(payment)

    # 5997 × 10% = 599.7 → 599; × 5% = 299.85 → 299
    assert await commissions(order) == [(1, 599, 599, "PENDING"), (2, 299, 299, "PENDING")]
    kid_id, parent_id = int(kid.distributor_id and pk(kid.distributor_id)), pk(parent.distributor_id or "")
    assert (await balance.summary(kid_id)).pending == 599
    assert (await balance.summary(parent_id)).pending == 299

    await _ship_and_confirm(shop, gql, buyer, operator_token, order)
    assert await release_due(datetime.now(UTC)) == 0  # still frozen
    assert await release_due(datetime.now(UTC) + LATER) == 2
    assert await commissions(order) == [(1, 599, 599, "AVAILABLE"), (2, 299, 299, "AVAILABLE")]
    summary = await balance.summary(kid_id)
    assert (summary.pending, summary.available, summary.lifetime) == (0, 599, 599)
    assert await release_due(datetime.now(UTC) + LATER) == 0  # once
    await books_balance()


async def _ship_and_confirm(shop: Shop, gql, buyer: Person, operator_token: str, order: dict[str, Any]) -> None:
    from tests.fixtures.orders import ORDER_SHIP

    variables = {"i": {"orderId": order["id"], "carrier": "顺丰速运", "trackingNumber": "SF1234567890"}}
    assert (await gql.data(ORDER_SHIP, variables, operator_token))["orderShip"]["errors"] == []
    done = (await gql.data(ORDER_CONFIRM, {"i": {"orderId": order["id"]}}, buyer.token))["orderConfirmReceipt"]
    assert done["errors"] == [], done


async def test_a_refund_before_the_freeze_ends_reduces_in_proportion_and_a_full_one_cancels(
    dist, shop, gql, operator_token, finance_token
):
    _, kid, buyer = await chain(dist)
    sku = await shop.sku(price=1000)
    order = await shop.paid_order(buyer.token, (sku, 3))  # bound by the share: no code needed at checkout
    assert await commissions(order) == [(1, 300, 300, "PENDING"), (2, 150, 150, "PENDING")]

    await refund(shop, gql, finance_token, order, 1000)  # a third back: two thirds kept
    assert await commissions(order) == [(1, 300, 200, "PENDING"), (2, 150, 100, "PENDING")]
    await refund(shop, gql, finance_token, order, 1)  # 1999/3000 kept: 199.9 → 199, 99.95 → 99
    assert await commissions(order) == [(1, 300, 199, "PENDING"), (2, 150, 99, "PENDING")]
    await refund(shop, gql, finance_token, order, 1999)
    assert await commissions(order) == [(1, 300, 0, "CANCELLED"), (2, 150, 0, "CANCELLED")]
    assert (await balance.summary(pk(kid.distributor_id or ""))).pending == 0
    await books_balance()


async def test_a_refund_after_the_commission_is_available_claws_it_back_even_after_a_withdrawal(
    dist, shop, gql, operator_token, finance_token
):
    _, kid, buyer = await chain(dist, levels=1, parentRateBp=0)
    sku = await shop.sku(price=5000)
    order = await completed(shop, gql, buyer.token, operator_token, (sku, 2))
    await release_due(datetime.now(UTC) + LATER)
    kid_id = pk(kid.distributor_id or "")
    async with in_transaction():
        assert await balance.take_for_withdrawal(kid_id, 1000, "test-withdrawal:1")
    assert await commissions(order) == [(1, 1000, 1000, "WITHDRAWN")]

    await refund(shop, gql, finance_token, order, 2500)  # a quarter back after the money left: clawed back

    assert await commissions(order) == [(1, 1000, 750, "WITHDRAWN")]  # its money left before the refund
    summary = await balance.summary(kid_id)
    assert (summary.available, summary.withdrawn, summary.clawed_back, summary.lifetime) == (-250, 1000, 250, 750)
    await books_balance()

    # later earnings net against the debt first
    other = await completed(shop, gql, buyer.token, operator_token, (sku, 1))
    await release_due(datetime.now(UTC) + LATER)
    assert await commissions(other) == [(1, 500, 500, "AVAILABLE")]
    assert (await balance.summary(kid_id)).available == 250
    await books_balance()


async def test_the_attribution_stays_with_the_order_after_a_rebinding_and_a_change_of_rates(
    dist, shop, gql, finance_token
):
    _, kid, buyer = await chain(dist, "LAST_TOUCH", levels=1, parentRateBp=0)
    other = await dist.distributor("另一个")
    sku = await shop.sku(price=1000)
    order, payment = await shop.place(buyer.token, (sku, 1))

    assert (await dist.open(other.share_code or "", buyer))["errors"] == []
    assert await dist.bound_to(buyer) == other.id
    assert (await dist.settings(directRateBp=3000))["errors"] == []
    await shop.pay(payment)

    rows = await Commission.filter(order_id=pk(order["id"]))
    assert [(row.distributor_id, row.amount, row.rate_bp) for row in rows] == [(pk(kid.distributor_id or ""), 100,
                                                                                 1000)]
    later = await shop.paid_order(buyer.token, (sku, 1))  # a new order: the new binding and rates
    rows = await Commission.filter(order_id=pk(later["id"]))
    assert [(row.distributor_id, row.amount) for row in rows] == [(pk(other.distributor_id or ""), 300)]


async def earners(order: dict[str, Any]) -> list[int]:
    return await column(Commission.filter(order_id=pk(order["id"])).order_by("level"), "distributor_id", int)


async def test_a_distributor_earns_on_their_own_order_only_if_the_settings_say_so_and_never_when_disabled(
    dist, shop, gql
):
    parent, kid, buyer = await chain(dist, levels=1, parentRateBp=0)
    parent_id, kid_id = pk(parent.distributor_id or ""), pk(kid.distributor_id or "")
    sku = await shop.sku(price=1000)
    own = await shop.paid_order(kid.token, (sku, 1))
    assert await earners(own) == [parent_id]  # a customer of its parent, like any other

    assert (await dist.settings(selfPurchaseEarns=True))["errors"] == []
    own = await shop.paid_order(kid.token, (sku, 1))
    assert await earners(own) == [kid_id]
    assert await commissions(own) == [(1, 100, 100, "PENDING")]

    from tests.api.distribution.conftest import SET_ENABLED

    assert (await dist.staff(SET_ENABLED, {"id": kid.distributor_id, "enabled": False}))["errors"] == []
    bought = await shop.paid_order(buyer.token, (sku, 1))
    assert await commissions(bought) == []


async def test_kinds_the_settings_leave_out_earn_nothing_and_a_products_own_rate_wins(dist, shop, gql):
    _, kid, buyer = await chain(dist, levels=1, parentRateBp=0)
    sku = await shop.sku(price=1000)
    assert (await dist.settings(earningKinds=["GROUP_BUY"]))["errors"] == []
    assert await commissions(await shop.paid_order(buyer.token, (sku, 1))) == []

    own_rate = [{"productId": gid("Product", sku.product_id), "fixedFen": 30}]
    assert (await dist.settings(earningKinds=["NORMAL"], productRates=own_rate))["errors"] == []
    assert await commissions(await shop.paid_order(buyer.token, (sku, 2))) == [(1, 60, 60, "PENDING")]


async def test_checking_out_with_a_share_code_binds_the_customer_and_the_order_earns_for_that_distributor(
    dist, shop
):
    await dist.turn_on(levels=1)
    koc = await dist.distributor("KOC")
    buyer = await dist.customer("直接下单")
    sku = await shop.sku(price=2000)
    order, payment = await shop.place(buyer.token, (sku, 1), shareCode=koc.share_code)
    assert await dist.bound_to(buyer) == koc.id
    await shop.pay(payment)
    assert await earners(order) == [pk(koc.distributor_id or "")]
    assert await commissions(order) == [(1, 200, 200, "PENDING")]

    stranger = await dist.customer("乱填")
    other, _ = await shop.place(stranger.token, (sku, 1), shareCode="NoSuchCode123")  # an unknown code binds nobody
    assert await dist.bound_to(stranger) is None
    assert await OrderAttribution.filter(order_id=pk(other["id"])).count() == 0


async def test_the_whole_loop_share_buy_complete_release_withdraw_and_be_paid(
    dist, shop, gql, operator_token, finance_token, pay_flow
):
    from domain.withdrawals.models import Withdrawal, WithdrawalStatus
    from tests.api.distribution.test_withdrawals import APPROVE, MINE, WITHDRAW

    _, kid, buyer = await chain(dist, levels=1, parentRateBp=0, withdrawalMinimum=100)
    sku = await shop.sku(price=5000)
    order = await completed(shop, gql, buyer.token, operator_token, (sku, 2))
    await release_due(datetime.now(UTC) + LATER)
    asked = (await gql.data(WITHDRAW, {"i": {"amount": 1000, "idempotencyKey": "all"}}, kid.token))
    withdrawal = asked["commissionWithdraw"]["withdrawal"]
    assert asked["commissionWithdraw"]["errors"] == [] and withdrawal["status"] == "REQUESTED"
    assert await commissions(order) == [(1, 1000, 1000, "WITHDRAWN")]
    approved = (await gql.data(APPROVE, {"i": {"withdrawalId": withdrawal["id"]}}, finance_token))
    assert approved["withdrawalApprove"]["withdrawal"]["status"] == "TRANSFERRING"
    row = await Withdrawal.get(id=pk(withdrawal["id"]))
    assert row.out_bill_no is not None
    await pay_flow.finish_transfer(row.out_bill_no)
    assert (await Withdrawal.get(id=row.id)).status == WithdrawalStatus.PAID
    mine = (await gql.data(MINE, token=kid.token))["me"]["distributor"]["withdrawals"]["edges"]
    assert [edge["node"]["status"] for edge in mine] == ["PAID"]
    summary = await balance.summary(pk(kid.distributor_id or ""))
    assert (summary.pending, summary.available, summary.withdrawn, summary.lifetime) == (0, 0, 1000, 1000)
    await books_balance()


async def test_flash_sale_orders_written_in_one_batch_are_each_attributed_to_their_buyers_distributor(
    dist, shop, flash
):
    _, kid, buyer = await chain(dist, levels=1, parentRateBp=0, earningKinds=["NORMAL", "FLASH_SALE"])
    stranger = await dist.customer("路人")
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10))
    bought, other = await asyncio.gather(flash.buy(buyer.token, sale, sku), flash.buy(stranger.token, sale, sku))
    assert bought["errors"] == [] and other["errors"] == []
    attribution = await OrderAttribution.get(order_id=pk(bought["order"]["id"]))
    assert attribution.distributor_id == pk(kid.distributor_id or "")
    assert await OrderAttribution.filter(order_id=pk(other["order"]["id"])).count() == 0
    await flash.pay(buyer.token, bought)
    assert await earners(bought["order"]) == [pk(kid.distributor_id or "")]
