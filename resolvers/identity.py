"""Logging in and reading who you are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError, ErrorCode
from domain.identity import queries, service
from domain.identity.models import Customer, Staff
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt
from resolvers.permissions import unauthenticated

LOGIN_WINDOW_SECONDS = 60


@dataclass
class Session:
    token: str
    account: Customer | Staff


async def _within_rate(ctx: Context, kind: str) -> bool:
    key = f"login:{kind}:{ctx.client_ip}"
    return await ctx.services.rate_limiter.hit(key, ctx.services.login_rate_limit, LOGIN_WINDOW_SECONDS)


def _rate_limited() -> Outcome[Session]:
    message = f"too many login attempts; try again within {LOGIN_WINDOW_SECONDS} seconds"
    return Outcome(errors=[DomainError(ErrorCode.RATE_LIMITED, message)])


async def login(ctx: Context, data: Any) -> Outcome[Session]:
    if not await _within_rate(ctx, "customer"):
        return _rate_limited()

    async def run() -> Session:
        customer = await service.login_customer(ctx.services.wechat, data.code)
        return Session(ctx.services.tokens.issue_customer(customer.id), customer)

    return await attempt(run())


async def staff_login(ctx: Context, data: Any) -> Outcome[Session]:
    if not await _within_rate(ctx, "staff"):
        return _rate_limited()

    async def run() -> Session:
        staff = await service.authenticate_staff(data.username, data.password)
        return Session(ctx.services.tokens.issue_staff(staff.id, staff.role), staff)

    return await attempt(run())


async def me(ctx: Context) -> Customer | None:
    customer_id = ctx.customer_id
    return None if customer_id is None else await queries.customer(customer_id)


async def staff_me(ctx: Context) -> Staff | None:
    principal = ctx.principal
    return await queries.active_staff(principal.id) if principal is not None and principal.kind == "staff" else None


def token_refresh(ctx: Context) -> str:
    """A fresh token for whoever the request's token names (signature checks only: no database)."""
    principal = ctx.principal
    if principal is None:
        raise unauthenticated()
    if principal.kind == "customer":
        return ctx.services.tokens.issue_customer(principal.id)
    assert principal.role is not None
    return ctx.services.tokens.issue_staff(principal.id, principal.role)
