"""A payment that arrives after its order was cancelled: the seat is taken again if the group still has one for
the customer, otherwise the money goes back in full (and a leader who paid too late opens no group)."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from domain.group_buy import states
from domain.group_buy.models import GroupBuyGroup, GroupBuySeat, GroupStatus, SeatState
from domain.orders import payment
from domain.orders.models import OrderStatus, Refund
from tests.api.group_buy.conftest import codes
from tests.fixtures.orders import order_row, pk

pytestmark = pytest.mark.usefixtures("audited")


async def test_a_late_payment_takes_the_seat_again_while_one_is_free(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    joined = await desk.join(await desk.customer("o-slow"), group, sku)
    await payment.cancel(shop.deps, await order_row(joined["order"]), "expired")
    assert (await desk.read(group))["seatsLeft"] == 2

    await shop.pay(joined["payment"])

    assert (await order_row(joined["order"])).status == OrderStatus.PAID
    seat = await GroupBuySeat.get(order_id=pk(joined["order"]["id"]))
    assert seat.state is SeatState.PAID
    shown = await desk.read(group)
    assert (shown["paidCount"], shown["seatsLeft"]) == (2, 1)
    await desk.paid_member(group, sku, "o-last")  # the store and the database agree on the one seat left
    assert (await desk.read(group))["status"] == "SUCCEEDED"
    assert codes(await desk.join(await desk.customer("o-extra"), group, sku)) == ["GROUP_CLOSED"]


async def test_a_late_payment_for_a_seat_taken_meanwhile_is_refunded(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    group = await desk.open_group(campaign, sku)
    joined = await desk.join(await desk.customer("o-slow"), group, sku)
    await payment.cancel(shop.deps, await order_row(joined["order"]), "expired")
    await desk.paid_member(group, sku, "o-quick")

    await shop.pay(joined["payment"])

    assert (await order_row(joined["order"])).status == OrderStatus.REFUNDING
    assert await Refund.filter(order_id=pk(joined["order"]["id"]), amount=3990).count() == 1
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"]) == ("SUCCEEDED", 2)
    assert await shop.available(sku) == 18


async def test_a_leader_who_pays_after_the_order_expired_is_refunded_and_opens_no_group(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, 2990), size=2)
    started = await desk.start(await desk.customer("o-leader"), campaign, sku)
    await payment.cancel(shop.deps, await order_row(started["order"]), "expired")

    await shop.pay(started["payment"])

    assert (await order_row(started["order"])).status == OrderStatus.REFUNDING
    assert await Refund.filter(order_id=pk(started["order"]["id"]), amount=2990).count() == 1
    assert (await GroupBuyGroup.get(id=pk(started["group"]["id"]))).status is GroupStatus.ABANDONED
    assert await desk.read(started["group"]) is None
    assert await shop.available(sku) == 20


async def test_a_payment_after_a_virtual_success_is_refunded_and_the_virtual_seats_stay(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=4, virtualFillPercent=50)
    group = await desk.open_group(campaign, sku)
    await desk.paid_member(group, sku, "o-paid")
    pending = await desk.join(await desk.customer("o-just-in-time"), group, sku)
    async with in_transaction():  # the sweep has just closed the group (2 of 4 paid: two virtual seats)
        row = await GroupBuyGroup.get(id=pk(group["id"]))
        await states.move(row, GroupStatus.SUCCEEDED, row.created_at, paid_count=2, virtual_seats=2)

    await shop.pay(pending["payment"])  # the group no longer forms: refused, and refunded in full

    assert (await order_row(pending["order"])).status == OrderStatus.REFUNDING
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"]) == ("SUCCEEDED", 2)
    assert [m["virtual"] for m in shown["members"]] == [False, False, True, True]


async def test_a_late_payment_past_the_customers_limit_is_refunded(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=3, limit=1, per_order=1)
    first, second = await desk.open_group(campaign, sku), await desk.open_group(campaign, sku, await desk.customer(
        "o-leader-2"))
    token = await desk.customer("o-both")
    joined = await desk.join(token, first, sku)
    await payment.cancel(shop.deps, await order_row(joined["order"]), "expired")
    other = await desk.join(token, second, sku)  # the limit's one unit, now in another group
    assert other["errors"] == []
    await shop.pay(other["payment"])

    await shop.pay(joined["payment"])  # the late payment would make it two

    assert (await order_row(joined["order"])).status == OrderStatus.REFUNDING
    assert await Refund.filter(order_id=pk(joined["order"]["id"]), amount=3990).count() == 1
    assert (await GroupBuySeat.get(order_id=pk(joined["order"]["id"]))).state is SeatState.RELEASED
