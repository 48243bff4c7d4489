"""Each sweep does its job through the real domain, exactly once however many passes run at the same time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.catalog.models import Sku
from domain.inventory.sweeps import resync_stock
from domain.ledger.models import LedgerEntry
from domain.orders import lifecycle
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus
from tests.fixtures.orders_paid import PayFlow
from tests.workers.conftest import (
    after_payment_window,
    counter,
    out_trade_nos,
    place,
    reservation_states,
    stored,
    trade_state,
)
from workers.sweeps import (
    SWEEPS,
    auto_confirm_orders,
    expire_orders,
    reconcile_payments,
    resync_stock_counts,
)


def test_every_sweep_has_its_own_name_and_a_schedule():
    names = [sweep.name for sweep in SWEEPS]
    assert names == ["expire_orders", "reconcile_payments", "reconcile_refunds", "auto_confirm_orders", "resync_stock",
                     "settle_flash_sales", "heal_flash_pools", "retry_refunds", "fail_expired_groups",
                     "release_commissions", "reconcile_withdrawals"]
    assert all(sweep.cron for sweep in SWEEPS)


async def test_two_concurrent_expiry_sweeps_release_the_stock_exactly_once(pay_flow: PayFlow):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=5)
    first = await place(deps, pay_flow.buyer, (sku, 2))
    second = await place(deps, pay_flow.buyer, (sku, 1))
    assert await stored(sku) == (5, 3)
    assert await counter(deps, sku) == [2]

    later = after_payment_window(deps)
    results = await asyncio.gather(expire_orders(deps, later), expire_orders(deps, later))

    assert sum(results) == 2
    assert await stored(sku) == (5, 0)
    assert await counter(deps, sku) == [5]
    for placed in (first, second):
        order = await Order.get(id=placed.order.id)
        assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "expired")
        assert await reservation_states(order) == ["RELEASED"]
        [out_trade_no] = await out_trade_nos(order)
        assert await Payment.get(out_trade_no=out_trade_no).values_list("status", flat=True) == PaymentStatus.CLOSED
        assert await trade_state(pay_flow.http, out_trade_no) == "CLOSED"
    assert await expire_orders(deps, later) == 0
    assert await counter(deps, sku) == [5]


async def test_expiry_leaves_orders_whose_payment_time_is_not_over(pay_flow: PayFlow):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=5)
    placed = await place(deps, pay_flow.buyer, (sku, 2))

    assert await expire_orders(deps, after_payment_window(deps) - timedelta(seconds=5)) == 0

    assert (await Order.get(id=placed.order.id)).status == OrderStatus.PENDING_PAYMENT
    assert await stored(sku) == (5, 2)
    [out_trade_no] = await out_trade_nos(placed.order)
    assert await trade_state(pay_flow.http, out_trade_no) == "NOTPAY"


async def test_reconcile_settles_a_payment_whose_notification_was_lost_once(pay_flow: PayFlow):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=5)
    placed = await place(deps, pay_flow.buyer, (sku, 2))
    await pay_flow.faults(drop=True)
    assert placed.payment is not None
    response = await pay_flow.pay(placed.payment)
    assert response.status_code == 200, response.text
    [out_trade_no] = await out_trade_nos(placed.order)
    assert await trade_state(pay_flow.http, out_trade_no) == "SUCCESS"

    assert await reconcile_payments(deps, deps.clock()) == 0  # a notification may still be on its way
    later = deps.clock() + timedelta(minutes=3)
    results = await asyncio.gather(reconcile_payments(deps, later), reconcile_payments(deps, later))

    assert sum(results) == 1
    order = await Order.get(id=placed.order.id)
    assert order.status == OrderStatus.PAID
    assert await reservation_states(order) == ["COMMITTED"]
    assert await stored(sku) == (3, 0)
    assert await Payment.get(out_trade_no=out_trade_no).values_list("status", flat=True) == PaymentStatus.SUCCEEDED
    assert await LedgerEntry.filter(order_id=order.id, kind="payment").count() == 1
    assert await reconcile_payments(deps, later) == 0


async def test_auto_confirm_completes_only_orders_shipped_more_than_n_days_ago(pay_flow: PayFlow):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=10)
    orders = []
    for _ in range(3):
        placed = await place(deps, pay_flow.buyer, (sku, 1))
        assert placed.payment is not None
        await pay_flow.paid(placed.payment)
        orders.append(await Order.get(id=placed.order.id))
    early, late, unshipped = orders
    assert {o.status for o in orders} == {OrderStatus.PAID}
    await lifecycle.ship(deps, early, "顺丰", "SF1001")
    await lifecycle.ship(deps, late, "顺丰", "SF1002")
    shipped = (await Order.get(id=early.id)).shipped_at
    assert shipped is not None
    await Order.filter(id=late.id).update(shipped_at=shipped + timedelta(days=1))  # shipped a day later
    days = timedelta(days=deps.auto_confirm_days)

    assert await auto_confirm_orders(deps, shipped + days - timedelta(minutes=1)) == 0
    now = shipped + days + timedelta(minutes=1)
    assert sum(await asyncio.gather(auto_confirm_orders(deps, now), auto_confirm_orders(deps, now))) == 1

    statuses = [(await Order.get(id=o.id)).status for o in orders]
    assert statuses == [OrderStatus.COMPLETED, OrderStatus.SHIPPED, OrderStatus.PAID]
    assert (await Order.get(id=early.id)).completed_at is not None
    assert await auto_confirm_orders(deps, now) == 0
    assert await auto_confirm_orders(deps, now + timedelta(days=1)) == 1
    assert (await Order.get(id=late.id)).status == OrderStatus.COMPLETED
    assert (await Order.get(id=unshipped.id)).status == OrderStatus.PAID


async def drift(deps: OrderDeps, counts: dict[int, int]) -> None:
    """Set the counter wrong, as a crash or a manual edit would."""
    seen = await deps.inventory.counter.read(list(counts))
    versions = {sku_id: seen[sku_id].version for sku_id in counts}
    assert await deps.inventory.counter.reset(counts, versions) == sorted(counts)


async def test_resync_heals_drifted_counters_from_the_database(pay_flow: PayFlow):
    deps = pay_flow.deps
    held, idle, gone = await pay_flow.sku(stock=7), await pay_flow.sku(stock=3), await pay_flow.sku(stock=4)
    await place(deps, pay_flow.buyer, (held, 2))
    await Sku.filter(id=gone.id).update(deleted_at=deps.clock())
    await drift(deps, {held.id: 100, idle.id: 0, gone.id: 9})  # e.g. a lost give-back

    assert await resync_stock_counts(deps, deps.clock()) == 2

    assert await counter(deps, held, idle) == [5, 3]
    assert await counter(deps, gone) == [9]  # a deleted SKU is not for sale; its count is never read


async def test_resync_walks_every_sku_in_batches(pay_flow: PayFlow):
    deps = pay_flow.deps
    skus = [await pay_flow.sku(stock=stock) for stock in (1, 2, 3, 4, 5)]
    await drift(deps, {sku.id: 0 for sku in skus})

    assert await resync_stock(deps, batch=2) == 5

    assert await counter(deps, *skus) == [1, 2, 3, 4, 5]
    assert await resync_stock(deps, batch=2) == 0  # nothing was wrong this time
