"""Reading accounts, and how much of them others may see."""

from __future__ import annotations

from domain.identity.models import Customer, Staff
from domain.pagination import Page, paginate


async def customer(customer_id: int) -> Customer | None:
    return await Customer.get_or_none(id=customer_id)


async def active_staff(staff_id: int) -> Staff | None:
    return await Staff.get_or_none(id=staff_id, active=True)


async def staff_members(first: int | None, after: str | None) -> Page[Staff]:
    """Every staff account, deactivated ones included, oldest first."""
    return await paginate(Staff.all(), ["id"], first, after)


def mask_phone(phone: str) -> str:
    """138****8000: enough for the owner to recognise, never the whole number."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else ""


def mask_nickname(nickname: str) -> str:
    """How a customer appears on a public list (a relay, a group's members): the first character, then one `*` per
    character left, at least two (张** for 张三 or 张三丰; a customer without a nickname is 微信用户)."""
    name = nickname.strip()
    if not name:
        return "微信用户"
    return name[0] + "*" * max(len(name) - 1, 2)
