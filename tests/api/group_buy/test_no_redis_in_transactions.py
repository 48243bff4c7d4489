"""A group-buy makes no Redis round trip while a database transaction is open: its seat store is called before
the order's transaction (the take) and after it (the give-back, the drop), never inside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.group_buy.policy import group_buy_policy
from domain.group_buy.sweep import fail_expired_groups
from domain.orders import lifecycle
from tests.api.test_no_redis_in_transactions import TransactionWatch
from tests.api.test_no_redis_in_transactions import watch as core_watch  # noqa: F401 - the watch this one extends

SEATS = ("take", "give_back", "load", "drop")


@pytest.fixture
def watch(core_watch: TransactionWatch, app, monkeypatch: pytest.MonkeyPatch) -> TransactionWatch:  # noqa: F811
    core_watch.wrap(monkeypatch, group_buy_policy(app.state.runtime.services.orders).seats, SEATS, "seat store")
    return core_watch


async def test_starting_joining_paying_cancelling_and_failing_groups_call_no_redis_inside_a_transaction(
        watch, app, desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=3)
    group = await desk.open_group(campaign, sku)
    await desk.paid_member(group, sku, "o-paid")
    unpaid = await desk.join(await desk.customer("o-unpaid"), group, sku)
    assert unpaid["errors"] == []
    assert [e["code"] for e in (await desk.join(await desk.customer("o-full"), group, sku))["errors"]] == [
        "GROUP_FULL"]
    deps = app.state.runtime.services.orders
    assert await lifecycle.expire_due(deps, datetime.now(UTC) + timedelta(minutes=6)) == 1  # the unpaid seat back
    await fail_expired_groups(deps, datetime.now(UTC) + timedelta(days=2))
    assert (await desk.read(group))["status"] == "FAILED"

    watch.assert_none_inside()
    assert watch.calls["seat store.take"] >= 3 and watch.calls["seat store.give_back"] == 1  # the expired seat
    assert watch.calls["seat store.drop"] >= 1
