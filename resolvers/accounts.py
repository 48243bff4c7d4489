"""Taking access back: owners deactivate staff or change their role; staff block customers."""

from __future__ import annotations

from typing import Any

from domain.identity import accounts, queries
from domain.identity.models import Customer, Staff
from domain.pagination import Page
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id


async def staff_members(ctx: Context, first: int | None, after: str | None) -> Page[Staff]:
    return await queries.staff_members(first, after)


async def staff_deactivate(ctx: Context, data: Any) -> Outcome[Staff]:
    async def run() -> Staff:
        staff = await accounts.deactivate_staff(decode_id(data.staff_id, "Staff", "staffId"))
        await ctx.services.access.changed("staff", staff.id)
        return staff

    return await attempt(run())


async def staff_role_change(ctx: Context, data: Any) -> Outcome[Staff]:
    async def run() -> Staff:
        staff = await accounts.change_staff_role(decode_id(data.staff_id, "Staff", "staffId"), data.role)
        await ctx.services.access.changed("staff", staff.id)
        return staff

    return await attempt(run())


async def customer_block(ctx: Context, data: Any) -> Outcome[Customer]:
    async def run() -> Customer:
        customer = await accounts.block_customer(decode_id(data.customer_id, "Customer", "customerId"), data.blocked)
        await ctx.services.access.changed("customer", customer.id)
        return customer

    return await attempt(run())
