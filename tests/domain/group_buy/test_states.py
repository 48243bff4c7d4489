"""The group's state table: closed groups never move again, and two concurrent moves cannot both win."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorCode
from domain.group_buy import states
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupStatus
from domain.group_buy.sweep import reaches_virtual_fill
from domain.identity.models import Customer

G = GroupStatus


def test_closed_groups_never_move_and_only_an_opened_group_can_close() -> None:
    for closed in (G.SUCCEEDED, G.FAILED, G.ABANDONED):
        assert states.TRANSITIONS[closed] == frozenset()
    assert not states.can_move(G.OPENING, G.SUCCEEDED)
    assert not states.can_move(G.OPENING, G.FAILED)
    assert not states.can_move(G.FORMING, G.ABANDONED)
    assert set(states.VISIBLE) == {G.FORMING, G.SUCCEEDED, G.FAILED}


@pytest.mark.parametrize(("paid", "size", "percent", "reached"), [
    (7, 10, 70, True), (6, 10, 70, False), (3, 4, 75, True), (2, 4, 75, False), (9, 10, None, False),
    (10, 10, 100, True), (1, 50, 3, False), (1, 50, 2, True), (1, 2, 50, True),
])
def test_the_virtual_fill_threshold_is_inclusive(paid: int, size: int, percent: int | None, reached: bool) -> None:
    assert reaches_virtual_fill(paid, size, percent) is reached


@pytest.fixture
async def forming(db, make_product) -> GroupBuyGroup:
    product = await make_product(skus=[{"specs": [], "price": 990, "stock": 5}])
    leader = await Customer.create(openid="o-leader", nickname="团长")
    now = datetime.now(UTC)
    campaign = await GroupBuyCampaign.create(title="t", product_id=product.id, starts_at=now, ends_at=now + timedelta(
        days=1), group_size=3, group_hours=24, per_customer_limit=5, per_order_max=2)
    return await GroupBuyGroup.create(campaign_id=campaign.id, leader_id=leader.id, share_code="abc123",
                                      required_size=3, status=G.FORMING, expires_at=now + timedelta(hours=1))


async def test_two_concurrent_closings_of_one_group_give_one_winner(forming: GroupBuyGroup) -> None:
    now = datetime.now(UTC)
    twins = [await GroupBuyGroup.get(id=forming.id) for _ in range(2)]
    outcomes = await asyncio.gather(states.move(twins[0], G.SUCCEEDED, now), states.move(twins[1], G.FAILED, now),
                                    return_exceptions=True)
    assert sum(outcome is None for outcome in outcomes) == 1
    refused = [outcome for outcome in outcomes if isinstance(outcome, DomainError)]
    assert [error.code for error in refused] == [ErrorCode.INVALID_STATE]
    row = await GroupBuyGroup.get(id=forming.id)
    assert row.status in (G.SUCCEEDED, G.FAILED) and row.closed_at is not None
