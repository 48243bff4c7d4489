"""A group-buy earns its distributors only when the group succeeds (by its last seat or by its virtual fill); a
group that fails earns nothing, though its members paid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.columns import column
from domain.commissions import balance
from domain.commissions.models import Commission
from domain.distribution import binding, links, settings
from domain.distribution.models import Distributor, DistributorStatus
from domain.group_buy.sweep import fail_expired_groups
from domain.identity.models import Customer
from tests.fixtures.orders import pk

pytestmark = pytest.mark.usefixtures("audited")


async def _distributor_of_everyone(names: list[str]) -> Distributor:
    """Distribution on (10%, group-buys earn), one distributor, and each named customer bound to it."""
    await settings.update({"enabled": True, "direct_rate_bp": 1000})
    now = datetime.now(UTC)
    koc = await Customer.create(openid="o-koc", nickname="KOC")
    distributor = await Distributor.create(customer_id=koc.id, status=DistributorStatus.APPROVED, real_name="张三",
                                           phone="13800138000", applied_at=now)
    link = await links.create(koc.id, "Shop", 0, now)
    for name in names:
        assert await binding.bind((await Customer.get(openid=name)).id, link.code, now)
    return distributor


async def _earned(order: dict) -> list[int]:
    return await column(Commission.filter(order_id=pk(order["id"])), "amount", int)


async def test_the_members_earn_when_the_last_seat_is_paid_and_not_before(desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    campaign = await desk.campaign((sku, 3990, None), size=2, limit=5)
    leader = await desk.customer("o-leader")
    member = await desk.customer("o-member")
    distributor = await _distributor_of_everyone(["o-leader", "o-member"])

    started = await desk.start(leader, campaign, sku)
    await shop.pay(started["payment"])
    assert await _earned(started["order"]) == []  # the group is forming: the sale is not final
    joined = await desk.join(member, started["group"], sku)
    await shop.pay(joined["payment"])

    assert await _earned(started["order"]) == [399]
    assert await _earned(joined["order"]) == [399]
    assert (await balance.summary(distributor.id)).pending == 798


async def test_a_failed_group_earns_nothing_and_a_virtual_success_earns_on_its_paid_seats(app, desk, shop):
    sku = await shop.sku(price=5990, stock=20)
    failing = await desk.campaign((sku, 3990, None), size=3, limit=5)
    deps = app.state.runtime.services.orders
    await _distributor_of_everyone([])
    koc_link = (await links.links_of((await Customer.get(openid="o-koc")).id, 10, None)).items[0]

    leader = await desk.customer("o-leader-1")
    assert await binding.bind((await Customer.get(openid="o-leader-1")).id, koc_link.code, datetime.now(UTC))
    started = await desk.start(leader, failing, sku)
    await shop.pay(started["payment"])
    await fail_expired_groups(deps, datetime.now(UTC) + timedelta(hours=25))
    assert (await desk.read(started["group"]))["status"] == "FAILED"
    assert await _earned(started["order"]) == []
    assert await Commission.all().count() == 0

    other = await shop.sku(price=5990, stock=20)
    virtual = await desk.campaign((other, 3990, None), size=2, limit=5, virtualFillPercent=50)
    leader = await desk.customer("o-leader-2")
    assert await binding.bind((await Customer.get(openid="o-leader-2")).id, koc_link.code, datetime.now(UTC))
    started = await desk.start(leader, virtual, other)
    await shop.pay(started["payment"])
    assert await _earned(started["order"]) == []
    await fail_expired_groups(deps, datetime.now(UTC) + timedelta(hours=25))
    assert (await desk.read(started["group"]))["status"] == "SUCCEEDED"
    assert await _earned(started["order"]) == [399]
