"""Taking access back: owners deactivate staff or change their role; staff block customers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from domain.identity import accounts, queries
from domain.identity.models import Customer, Staff
from domain.pagination import Page
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id

Account = TypeVar("Account", Staff, Customer)


async def staff_members(ctx: Context, first: int | None, after: str | None) -> Page[Staff]:
    return await queries.staff_members(first, after)


async def _changed(ctx: Context, change: Callable[[], Awaitable[Account]]) -> Outcome[Account]:
    """Make the change (an ID that does not decode is an error too), then drop every process's cached access for
    that account, so its next request reads it."""

    async def run() -> Account:
        account = await change()
        await ctx.services.access.changed("staff" if isinstance(account, Staff) else "customer", account.id)
        return account

    return await attempt(run())


async def staff_deactivate(ctx: Context, data: Any) -> Outcome[Staff]:
    return await _changed(ctx, lambda: accounts.deactivate_staff(decode_id(data.staff_id, "Staff", "staffId")))


async def staff_role_change(ctx: Context, data: Any) -> Outcome[Staff]:
    return await _changed(
        ctx, lambda: accounts.change_staff_role(decode_id(data.staff_id, "Staff", "staffId"), data.role))


async def customer_block(ctx: Context, data: Any) -> Outcome[Customer]:
    return await _changed(
        ctx, lambda: accounts.block_customer(decode_id(data.customer_id, "Customer", "customerId"), data.blocked))
