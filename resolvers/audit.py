"""The books, checked for staff (`staffAudit`), with WeChat Pay asked through the server's own payment gateway."""

from __future__ import annotations

from datetime import timedelta

from domain.audit.checks import Check, audit
from domain.errors import Invalid
from resolvers.context import Context

MAX_DAYS = 31


async def staff_audit(ctx: Context, days: int) -> list[Check]:
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days is 1 to {MAX_DAYS}", ["days"])
    deps = ctx.services.orders
    return await audit(deps.gateway, deps.clock(), timedelta(days=days))
