"""Relay rules below the API: the status at its edges, numbers only from committed payments, pickup code draws,
and a pick list Excel cannot be tricked by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.identity.models import Customer
from domain.orders import pickup_codes
from domain.orders.models import Order, OrderKind, OrderStatus, PickupCode, PickupPoint
from domain.relay import entries
from domain.relay.models import Relay, RelayEntry, RelaySequence
from domain.relay.pick_list import PickEntry, PickGroup, PickLine, pick_list_csv
from domain.relay.relays import RelayStatus, status

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_status_at_the_edges_of_the_window():
    relay = Relay(starts_at=NOW, deadline=NOW + timedelta(hours=1), closed_at=None)
    assert status(relay, NOW - timedelta(microseconds=1)) is RelayStatus.SCHEDULED
    assert status(relay, NOW) is RelayStatus.OPEN
    assert status(relay, NOW + timedelta(hours=1)) is RelayStatus.ENDED
    relay.closed_at = NOW
    assert status(relay, NOW + timedelta(minutes=1)) is RelayStatus.ENDED


async def _order(customer: Customer, number: str, *, point: PickupPoint | None = None,
                 status: OrderStatus = OrderStatus.PAID) -> Order:
    return await Order.create(number=number, customer_id=customer.id, kind=OrderKind.RELAY, status=status,
                              subtotal=100, payable=100, delivery={}, pickup_point_id=point.id if point else None,
                              expires_at=NOW)


async def test_a_payment_that_rolls_back_takes_no_number(db):
    customer = await Customer.create(openid="o-seq")
    relay = await Relay.create(title="t", starts_at=NOW, deadline=NOW + timedelta(hours=1))
    orders = [await _order(customer, f"R{n}") for n in range(2)]
    for order in orders:
        await RelayEntry.create(relay_id=relay.id, order_id=order.id, customer_id=customer.id, units=1)
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await entries.number(orders[0], NOW)
            raise RuntimeError("the payment's transaction fails after numbering")
    assert not await RelaySequence.exists(relay_id=relay.id)
    await entries.number(orders[1], NOW)
    await entries.number(orders[0], NOW)
    await entries.number(orders[0], NOW)  # numbered once, however often asked
    assert [(e.order_id, e.seq) for e in await RelayEntry.all().order_by("seq")] == [
        (orders[1].id, 1), (orders[0].id, 2)]
    assert (await RelaySequence.get(relay_id=relay.id)).last_seq == 2


async def test_a_colliding_draw_tries_again_and_frees_a_stale_code(db, monkeypatch):
    customer = await Customer.create(openid="o-code")
    point = await PickupPoint.create(name="p", address="a")
    held, stale, new, fresh = [await _order(customer, f"P{n}", point=point) for n in range(4)]
    draws = iter(["111111", "111111", "222222", "111111", "222222", "222222", "333333"])
    monkeypatch.setattr(pickup_codes, "_draw", lambda: next(draws))
    assert await pickup_codes.issue(held) == "111111"
    assert await pickup_codes.issue(stale) == "222222"
    assert await pickup_codes.issue(held) == "111111"  # issued once
    await Order.filter(id=stale.id).update(status=OrderStatus.REFUNDED)
    assert await pickup_codes.issue(new) == "222222"  # 111111 still waits; 222222's order no longer does: freed
    assert (await PickupCode.get(order_id=stale.id)).waiting_code is None
    assert await pickup_codes.issue(fresh) == "333333"
    no_point = await _order(customer, "P9")
    assert await pickup_codes.issue(no_point) is None


def test_the_csv_starts_with_a_bom_and_cells_never_run_as_formulas():
    group = PickGroup(1, "=东门店", [PickEntry(1, "P1", "+张三", "-1", [PickLine(9, "@苹果", "规格:大", 2)])])
    text = pick_list_csv([group])
    assert text.startswith("\ufeff自提点,序号")
    assert "'=东门店,1,'+张三,'-1,'@苹果,规格:大,2,P1" in text
    assert "'=东门店,合计,,,'@苹果,规格:大,2," in text
