"""A group's outcome at expiry, exactly once: the virtual fill on both sides of its edge, a failed group's paid
seats refunded in full (each order once, while two sweeps run and a late payment arrives), unpaid ones cancelled."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.group_buy import states
from domain.group_buy.models import GroupBuyGroup, GroupStatus
from domain.group_buy.policy import GROUP_FAILED
from domain.group_buy.sweep import fail_expired_groups
from domain.orders.models import Order, OrderStatus, Refund
from tests.fixtures.catalog import gid
from tests.fixtures.orders import order_row, pk

pytestmark = pytest.mark.usefixtures("audited")


def _after_expiry(hours: int = 24) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours, minutes=1)


async def _group_with(desk, shop, sku, size: int, paid: int, **options):
    """A forming group of `size` with `paid` paid seats (the leader's included). Returns (group, member orders)."""
    campaign = await desk.campaign((sku, 3990, None), size=size, limit=5, **options)
    group = await desk.open_group(campaign, sku)
    orders = [await desk.paid_member(group, sku, f"o-member-{i}") for i in range(paid - 1)]
    return group, orders


async def test_a_failed_group_refunds_each_paid_order_once_while_two_sweeps_run_and_a_late_payment_lands(
        app, desk, shop):
    sku = await shop.sku(price=5990, stock=100)
    group, _ = await _group_with(desk, shop, sku, size=10, paid=7)
    late = await desk.join(await desk.customer("o-late"), group, sku)
    unpaid = await desk.join(await desk.customer("o-unpaid"), group, sku)
    assert late["errors"] == [] and unpaid["errors"] == []
    assert await shop.available(sku) == 100 - 9
    deps = app.state.runtime.services.orders
    when = _after_expiry()

    payment = late["payment"]  # paid now: WeChat Pay's notification reaches Pond while the sweeps run
    confirmed = await shop.confirm(payment["package"], payment["paySign"], payment["timeStamp"], payment["nonceStr"])
    assert confirmed.status_code == 200, confirmed.text
    await asyncio.gather(fail_expired_groups(deps, when), fail_expired_groups(deps, when), shop.drain())
    await fail_expired_groups(deps, when)  # whatever the race left (an order paid just before the group failed)

    shown = await desk.read(group)
    assert (shown["status"], shown["seatsLeft"]) == ("FAILED", 0)
    refunds = await Refund.all()
    per_order = Counter(refund.order_id for refund in refunds)
    assert len(per_order) == 8 and set(per_order.values()) == {1}  # 7 paid at expiry and the late payment
    assert pk(late["order"]["id"]) in per_order
    assert all(refund.amount == 3990 for refund in refunds)
    assert {refund.requested_by for refund in refunds} <= {GROUP_FAILED, "system"}
    assert (await order_row(unpaid["order"])).status == OrderStatus.CANCELLED
    for refund in refunds:
        await shop.finish_refund(gid("Refund", refund.id))
    statuses = Counter(order.status for order in await Order.all())
    assert statuses == {OrderStatus.REFUNDED: 8, OrderStatus.CANCELLED: 1}
    assert await shop.available(sku) == 100  # every unit back on sale
    assert await fail_expired_groups(deps, when) == 0  # nothing left to do


async def test_the_virtual_fill_succeeds_at_its_threshold(app, desk, shop):
    sku = await shop.sku(price=5990, stock=30)
    group, _ = await _group_with(desk, shop, sku, size=4, paid=3, virtualFillPercent=75)
    await fail_expired_groups(app.state.runtime.services.orders, _after_expiry())
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"]) == ("SUCCEEDED", 3)
    assert [(m["leader"], m["virtual"]) for m in shown["members"]] == [
        (True, False), (False, False), (False, False), (False, True)]
    assert await Refund.all().count() == 0
    assert Counter(order.status for order in await Order.all()) == {OrderStatus.PAID: 3}


async def test_one_seat_below_the_virtual_threshold_the_group_fails(app, desk, shop):
    sku = await shop.sku(price=5990, stock=30)
    group, _ = await _group_with(desk, shop, sku, size=4, paid=2, virtualFillPercent=75)
    await fail_expired_groups(app.state.runtime.services.orders, _after_expiry())
    assert (await desk.read(group))["status"] == "FAILED"
    assert await Refund.all().count() == 2


async def test_a_group_is_not_closed_before_it_expires(app, desk, shop):
    sku = await shop.sku(price=5990, stock=30)
    group, _ = await _group_with(desk, shop, sku, size=3, paid=2)
    deps = app.state.runtime.services.orders
    assert await fail_expired_groups(deps, datetime.now(UTC) + timedelta(hours=23)) == 0
    assert (await desk.read(group))["status"] == "FORMING"


async def test_a_sweep_that_crashed_after_failing_the_group_is_finished_by_the_next(app, desk, shop):
    sku = await shop.sku(price=5990, stock=30)
    group, _ = await _group_with(desk, shop, sku, size=3, paid=2)
    when = _after_expiry()
    async with in_transaction():  # what a run that crashed right after closing the group left behind
        row = await GroupBuyGroup.get(id=pk(group["id"]))
        await states.move(row, GroupStatus.FAILED, when)
    assert await Refund.all().count() == 0
    assert await fail_expired_groups(app.state.runtime.services.orders, when) == 2
    assert await Refund.all().count() == 2
    assert Counter(order.status for order in await Order.all()) == {OrderStatus.REFUNDING: 2}


async def test_ending_a_campaign_expires_its_forming_groups(app, desk, shop):
    sku = await shop.sku(price=5990, stock=30)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    assert (await desk.end(campaign))["errors"] == []
    await fail_expired_groups(app.state.runtime.services.orders, datetime.now(UTC) + timedelta(seconds=1))
    assert (await desk.read(group))["status"] == "FAILED"
    assert await Refund.all().count() == 1
