"""Deactivating staff, changing roles and blocking customers, and the rule that one active owner always remains."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import DomainError, ErrorCode
from domain.identity.access import Standing, standing
from domain.identity.accounts import block_customer, change_staff_role, deactivate_staff
from domain.identity.models import Customer, Staff, StaffRole

pytestmark = pytest.mark.usefixtures("db")


async def staff(username: str, role: StaffRole) -> Staff:
    return await Staff.create(username=username, password_hash="unused", role=role)


async def test_each_change_raises_the_token_version_and_a_repeat_changes_nothing() -> None:
    member = await staff("olga", StaffRole.OPERATOR)
    await change_staff_role(member.id, StaffRole.FINANCE)
    await change_staff_role(member.id, StaffRole.FINANCE)
    await deactivate_staff(member.id)
    await deactivate_staff(member.id)
    assert await standing("staff", member.id) == Standing(allowed=False, role=StaffRole.FINANCE, token_version=2)


@pytest.mark.parametrize("rounds", [8])
async def test_owners_removing_each_other_at_once_always_leave_one_active_owner(rounds: int) -> None:
    for n in range(rounds):
        a, b, c = [await staff(f"owner-{n}-{x}", StaffRole.OWNER) for x in "abc"]
        results = await asyncio.gather(deactivate_staff(a.id), change_staff_role(b.id, StaffRole.OPERATOR),
                                       deactivate_staff(c.id), return_exceptions=True)
        refused = [r for r in results if isinstance(r, DomainError)]
        assert len(refused) == 1 and refused[0].code is ErrorCode.INVALID_STATE
        assert await Staff.filter(role=StaffRole.OWNER, active=True).count() == 1
        await Staff.filter(role=StaffRole.OWNER, active=True).update(active=False)


async def test_a_deactivated_owner_may_be_demoted_and_the_last_active_one_may_not() -> None:
    gone = await staff("former", StaffRole.OWNER)
    last = await staff("last", StaffRole.OWNER)
    await deactivate_staff(gone.id)
    await change_staff_role(gone.id, StaffRole.OPERATOR)
    with pytest.raises(DomainError) as caught:
        await change_staff_role(last.id, StaffRole.FINANCE)
    assert caught.value.code is ErrorCode.INVALID_STATE and caught.value.field == ["role"]
    assert await standing("staff", last.id) == Standing(allowed=True, role=StaffRole.OWNER, token_version=0)


async def test_blocking_a_customer_and_an_unknown_one() -> None:
    customer = await Customer.create(openid="o-blocked")
    assert (await block_customer(customer.id, True)).blocked
    assert await standing("customer", customer.id) == Standing(allowed=False)
    with pytest.raises(DomainError) as caught:
        await block_customer(customer.id + 1000, True)
    assert caught.value.code is ErrorCode.NOT_FOUND
    assert await standing("customer", customer.id + 1000) is None
