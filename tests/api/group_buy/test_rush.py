"""Seats never overfill: 200 customers at once for the last seat, and a rush through a Redis flush."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from domain.group_buy.models import GroupBuySeat
from domain.group_buy.policy import group_buy_policy
from domain.group_buy.seats import GroupSeats, MemorySeatStore
from domain.group_buy.states import LIVE_SEATS
from domain.group_buy.sweep import fail_expired_groups
from domain.orders import payment
from domain.orders.models import Order
from tests.fixtures.orders import order_row, pk
from tests.support import backends

pytestmark = [pytest.mark.usefixtures("audited"), pytest.mark.redis_cluster_too]

RUSH = 200


async def _tokens(desk, count: int) -> list[str]:
    return [await desk.customer(f"o-rush-{i}") for i in range(count)]


def _outcome(payload: dict) -> str:
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


async def test_200_concurrent_joins_for_the_last_seat_seat_exactly_one(desk, shop):
    sku = await shop.sku(price=5990, stock=500)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    group = await desk.open_group(campaign, sku)
    tokens = await _tokens(desk, RUSH)
    outcomes = await asyncio.gather(*(desk.join(token, group, sku) for token in tokens))
    assert Counter(_outcome(payload) for payload in outcomes) == {"OK": 1, "GROUP_FULL": RUSH - 1}
    assert await GroupBuySeat.filter(group_id=pk(group["id"]), state__in=LIVE_SEATS).count() == 2
    assert await Order.all().count() == 2
    assert await shop.available(sku) == 498


async def test_a_redis_flush_in_the_middle_of_a_rush_changes_nothing(desk, shop, backend):
    if not backend.real:
        pytest.skip("the embedded seat store lives in the process; there is no Redis to flush")
    sku = await shop.sku(price=5990, stock=500)
    campaign = await desk.campaign((sku, 3990, None), size=40)
    group = await desk.open_group(campaign, sku)
    tokens = await _tokens(desk, RUSH)
    ten_done = asyncio.Event()
    finished = 0

    async def join(token: str) -> str:
        nonlocal finished
        outcome = _outcome(await desk.join(token, group, sku))
        finished += 1
        if finished == 10:
            ten_done.set()
        return outcome

    async def flush_midway() -> None:
        await ten_done.wait()
        await backends.delete_redis_keys(backend.redis_prefix + ":gb:", backend.redis_url)

    attempts = [asyncio.ensure_future(join(token)) for token in tokens]
    await asyncio.gather(flush_midway(), *attempts)
    assert Counter(task.result() for task in attempts) == {"OK": 39, "GROUP_FULL": RUSH - 39}
    assert await GroupBuySeat.filter(group_id=pk(group["id"]), state__in=LIVE_SEATS).count() == 40
    assert (await desk.read(group))["seatsLeft"] == 0


class ForgetfulSeats(MemorySeatStore):
    """A seat store that loses every group at once (as if Redis were flushed after each load)."""

    async def load(self, state: GroupSeats) -> bool:
        return True


async def test_the_database_alone_never_overfills_when_the_store_keeps_losing_the_group(app, desk, shop,
                                                                                       monkeypatch):
    sku = await shop.sku(price=5990, stock=500)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    monkeypatch.setattr(group_buy_policy(app.state.runtime.services.orders), "seats", ForgetfulSeats())
    tokens = await _tokens(desk, 50)
    outcomes = await asyncio.gather(*(desk.join(token, group, sku) for token in tokens))
    assert Counter(_outcome(payload) for payload in outcomes) == {"OK": 2, "GROUP_FULL": 48}
    assert await GroupBuySeat.filter(group_id=pk(group["id"]), state__in=LIVE_SEATS).count() == 3


async def test_the_last_seats_paid_at_once_make_the_group_succeed_once(desk, shop):
    sku = await shop.sku(price=5990, stock=50)
    campaign = await desk.campaign((sku, 3990, None), size=6)
    group = await desk.open_group(campaign, sku)
    joined = [await desk.join(token, group, sku) for token in await _tokens(desk, 5)]
    await asyncio.gather(*(shop.pay(payload["payment"]) for payload in joined))
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"], shown["seatsLeft"]) == ("SUCCEEDED", 6, 0)
    assert len(shown["members"]) == 6 and not any(member["virtual"] for member in shown["members"])
    assert await Order.filter(status="PAID").count() == 6


async def test_a_seat_the_store_never_got_back_is_healed_by_the_sweep(app, desk, shop, monkeypatch):
    sku = await shop.sku(price=5990, stock=50)
    campaign = await desk.campaign((sku, 3990, None), size=2)
    group = await desk.open_group(campaign, sku)
    held = await desk.join(await desk.customer("o-crashed"), group, sku)
    deps = app.state.runtime.services.orders
    store = group_buy_policy(deps).seats

    async def lost(group_id: int, holder: str) -> bool:  # the process died before the store heard of the cancel
        return False

    monkeypatch.setattr(store, "give_back", lost)
    await payment.cancel(deps, await order_row(held["order"]), "expired")
    monkeypatch.undo()
    waiting = await desk.customer("o-waiting")
    assert [e["code"] for e in (await desk.join(waiting, group, sku))["errors"]] == ["GROUP_FULL"]  # stale
    await fail_expired_groups(deps, datetime.now(UTC))
    assert (await desk.join(waiting, group, sku))["errors"] == []


async def test_joins_and_payments_at_once_take_their_locks_in_one_order(desk, shop):
    """Joining locks the SKU, then the group; paying takes them in the same order (the other order could deadlock
    a join against a payment of the same group)."""
    sku = await shop.sku(price=5990, stock=500)
    campaign = await desk.campaign((sku, 3990, None), size=40)
    group = await desk.open_group(campaign, sku)
    tokens = await _tokens(desk, 40)
    joined = await asyncio.gather(*(desk.join(token, group, sku) for token in tokens[:20]))
    assert all(payload["errors"] == [] for payload in joined)
    outcomes = await asyncio.gather(*(desk.join(token, group, sku) for token in tokens[20:]),
                                    *(shop.pay(payload["payment"]) for payload in joined))
    assert Counter(_outcome(payload) for payload in outcomes[:20]) == {"OK": 19, "GROUP_FULL": 1}
    shown = await desk.read(group)
    assert (shown["status"], shown["paidCount"], shown["seatsLeft"]) == ("FORMING", 21, 0)
    assert await Order.filter(status="PAID").count() == 21
