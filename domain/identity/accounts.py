"""Taking access back: deactivating staff, changing their role, blocking customers.

Each staff change raises the member's token version, so tokens issued before it stop working on their next request.
The store always keeps at least one active owner: a change that would leave none is refused, whoever asks (an owner
demoting or deactivating themselves included). The active owners are locked, in id order, before the rule is
checked, so two owners removing each other at the same moment cannot both succeed.
"""

from __future__ import annotations

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer, Staff, StaffRole

LAST_OWNER = "the store must keep at least one active owner"


async def deactivate_staff(staff_id: int) -> Staff:
    """Deactivated members cannot log in and their tokens stop; deactivating twice changes nothing."""
    async with in_transaction():
        staff, other_owners = await _lock_for_change(staff_id)
        if not staff.active:
            return staff
        if staff.role == StaffRole.OWNER and not other_owners:
            raise DomainError(ErrorCode.INVALID_STATE, LAST_OWNER, field=["staffId"])
        await Staff.filter(id=staff_id).update(active=False, token_version=F("token_version") + 1)
    return await Staff.get(id=staff_id)


async def change_staff_role(staff_id: int, role: StaffRole) -> Staff:
    """A new role takes effect at the member's next login: their current tokens stop. The same role changes nothing."""
    try:
        new_role = StaffRole(role)
    except ValueError:
        raise Invalid(f"unknown role {role!r}", field=["role"]) from None
    async with in_transaction():
        staff, other_owners = await _lock_for_change(staff_id)
        if staff.role == new_role:
            return staff
        if staff.active and staff.role == StaffRole.OWNER and not other_owners:
            raise DomainError(ErrorCode.INVALID_STATE, LAST_OWNER, field=["role"])
        await Staff.filter(id=staff_id).update(role=new_role, token_version=F("token_version") + 1)
    return await Staff.get(id=staff_id)


async def _lock_for_change(staff_id: int) -> tuple[Staff, list[int]]:
    """Inside a transaction: the member and every active owner, locked in id order; returns the member and the ids
    of the active owners other than them."""
    rows = await (
        Staff.filter(Q(id=staff_id) | Q(role=StaffRole.OWNER, active=True))
        .order_by("id")
        .select_for_update()
    )
    staff = next((row for row in rows if row.id == staff_id), None)
    if staff is None:
        raise NotFound("staff member", ["staffId"])
    others = [row.id for row in rows if row.id != staff_id and row.role == StaffRole.OWNER and row.active]
    return staff, others


async def block_customer(customer_id: int, blocked: bool) -> Customer:
    """A blocked customer's tokens stop working and their logins are refused; unblocking lets them log in again."""
    if not isinstance(blocked, bool):
        raise Invalid("blocked must be true or false", field=["blocked"])
    updated = await Customer.filter(id=customer_id).update(blocked=blocked)
    if not updated:
        raise NotFound("customer", ["customerId"])
    return await Customer.get(id=customer_id)
