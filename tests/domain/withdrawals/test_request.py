"""domain.withdrawals.service: requesting and rejecting withdrawals against the commission balance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.commissions import balance
from domain.commissions.models import OWNER_KIND
from domain.distribution import distributors, settings
from domain.distribution.distributors import Application
from domain.distribution.models import Distributor
from domain.errors import DomainError, ErrorCode
from domain.identity.models import Customer
from domain.withdrawals import service
from domain.withdrawals.models import Withdrawal, WithdrawalStatus

pytestmark = pytest.mark.usefixtures("db")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def approved(name: str = "koc") -> Distributor:
    customer = await Customer.create(openid=f"o-{name}", nickname=name)
    applied = await distributors.apply(customer.id, Application("张三", "13800138000", ""), T0)
    return await distributors.approve(applied.id, T0)


async def earn(distributor: Distributor, amount: int, reference: str = "earned") -> None:
    async with in_transaction():
        await balances.move(balance.owner(distributor.id), "available", amount, f"{reference}:{distributor.id}",
                            floor=None)


async def code_of(call: object) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code


async def test_fifty_concurrent_withdrawals_of_the_whole_balance_leave_exactly_one() -> None:
    koc = await approved()
    await earn(koc, 5000)
    outcomes = await asyncio.gather(*[service.request(koc, 5000, f"k{i}", T0) for i in range(50)],
                                    return_exceptions=True)
    won = [o for o in outcomes if isinstance(o, Withdrawal)]
    lost = [o for o in outcomes if not isinstance(o, Withdrawal)]
    assert len(won) == 1
    assert all(isinstance(o, DomainError) and o.code == ErrorCode.INSUFFICIENT_BALANCE for o in lost)
    held = await balance.summary(koc.id)
    assert (held.available, held.withdrawn) == (0, 5000)
    assert await Withdrawal.filter(distributor_id=koc.id).count() == 1
    assert await balances.mismatches(OWNER_KIND) == []


async def test_a_replay_answers_the_same_withdrawal_and_another_amount_is_duplicate() -> None:
    koc = await approved()
    await earn(koc, 1000)
    first = await service.request(koc, 300, "same", T0)
    again = await service.request(koc, 300, "same", T0)
    assert again.id == first.id
    assert await code_of(service.request(koc, 400, "same", T0)) == ErrorCode.DUPLICATE
    assert (await balance.summary(koc.id)).available == 700
    racing = await asyncio.gather(*[service.request(koc, 200, "race", T0) for _ in range(10)])
    assert len({w.id for w in racing}) == 1
    assert (await balance.summary(koc.id)).available == 500


async def test_below_the_minimum_more_than_available_and_a_negative_balance_are_refused() -> None:
    await settings.update({"withdrawal_minimum": 500, "withdrawal_fee_bp": 150})
    koc = await approved()
    await earn(koc, 800)
    assert await code_of(service.request(koc, 499, "low", T0)) == ErrorCode.INVALID
    assert await code_of(service.request(koc, 801, "high", T0)) == ErrorCode.INSUFFICIENT_BALANCE
    taken = await service.request(koc, 777, "ok", T0)
    assert (taken.fee, taken.status) == (777 * 150 // 10_000, WithdrawalStatus.REQUESTED)
    other = await approved("clawed")
    await earn(other, -300, "clawback")
    assert await code_of(service.request(other, 500, "neg", T0)) == ErrorCode.INSUFFICIENT_BALANCE
    assert (await balance.summary(other.id)).available == -300


async def test_nothing_below_one_fen_and_only_approved_distributors() -> None:
    await settings.update({"withdrawal_minimum": 0})
    koc = await approved()
    await earn(koc, 100)
    assert await code_of(service.request(koc, 0, "zero", T0)) == ErrorCode.INVALID
    customer = await Customer.create(openid="o-pending")
    pending = await distributors.apply(customer.id, Application("李四", "13800138001", ""), T0)
    assert await code_of(service.request(pending, 1, "p", T0)) == ErrorCode.INVALID_STATE
    await distributors.set_enabled(koc.id, False)
    disabled = await Distributor.get(id=koc.id)
    assert (await service.request(disabled, 100, "disabled", T0)).amount == 100  # earned money stays withdrawable


async def test_reject_gives_the_amount_back_once() -> None:
    koc = await approved()
    await earn(koc, 1000)
    taken = await service.request(koc, 600, "r", T0)
    assert await code_of(service.reject(taken.id, " ", "staff", T0)) == ErrorCode.INVALID
    outcomes = await asyncio.gather(*[service.reject(taken.id, "资料不全", "staff", T0) for _ in range(5)],
                                    return_exceptions=True)
    assert sum(isinstance(o, Withdrawal) for o in outcomes) == 1
    assert all(o.code == ErrorCode.INVALID_STATE for o in outcomes if isinstance(o, DomainError))
    assert await code_of(service.reject(taken.id, "again", "staff", T0)) == ErrorCode.INVALID_STATE
    held = await balance.summary(koc.id)
    assert (held.available, held.withdrawn) == (1000, 0)
    assert (await Withdrawal.get(id=taken.id)).status == WithdrawalStatus.REJECTED
    assert await balances.mismatches(OWNER_KIND) == []
