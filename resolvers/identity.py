"""Logging in and reading who you are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError, ErrorCode
from domain.identity import queries, service
from domain.identity.models import Customer, Staff
from resolvers import distribution
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt
from resolvers.permissions import unauthenticated

LOGIN_WINDOW_SECONDS = 60
USERNAME_WINDOW_SECONDS = 15 * 60
# Attempts (right or wrong) one address may make per minute before staff logins from it are refused unchecked:
# each attempt costs an Argon2 verification, so this bounds the CPU one address can take.
ATTEMPT_CEILING_FACTOR = 5


@dataclass
class Session:
    token: str
    account: Customer | Staff


async def _within_rate(ctx: Context, kind: str) -> bool:
    key = f"login:{kind}:{ctx.client_ip}"
    return await ctx.services.rate_limiter.hit(key, ctx.services.login_rate_limit, LOGIN_WINDOW_SECONDS)


def _rate_limited(message: str = f"too many login attempts; try again within {LOGIN_WINDOW_SECONDS} seconds",
                  ) -> Outcome[Session]:
    return Outcome(errors=[DomainError(ErrorCode.RATE_LIMITED, message)])


async def login(ctx: Context, data: Any) -> Outcome[Session]:
    if not await _within_rate(ctx, "customer"):
        return _rate_limited()

    async def run() -> Session:
        customer = await service.login_customer(ctx.services.wechat, data.code)
        await distribution.bind_at_login(ctx, customer, data.share_code)
        return Session(ctx.services.tokens.issue_customer(customer.id), customer)

    return await attempt(run())


async def staff_login(ctx: Context, data: Any) -> Outcome[Session]:
    """Failed logins are limited per username (that protects the account, from any number of addresses) and per
    client address. Each attempt takes a failure slot up front and gives it back when the password is right, so
    concurrent guesses cannot all slip under a limit. A username over its limit is refused without checking the
    password, so a guess there says nothing. A right password is not refused because others failed from the same
    address (colleagues behind one NAT): from an address over its limit only wrong passwords are refused."""
    limiter, services = ctx.services.rate_limiter, ctx.services
    attempts_key = f"login:staff-attempts:{ctx.client_ip}"
    if not await limiter.hit(attempts_key, ATTEMPT_CEILING_FACTOR * services.login_rate_limit, LOGIN_WINDOW_SECONDS):
        return _rate_limited()
    client_key = f"login:staff-failures:{ctx.client_ip}"
    client_ok = await limiter.hit(client_key, services.login_rate_limit, LOGIN_WINDOW_SECONDS)
    failure_slots = [(client_key, LOGIN_WINDOW_SECONDS)]
    username = data.username if isinstance(data.username, str) else ""
    if service.USERNAME_RE.fullmatch(username):  # any other name can never log in: it needs no key of its own
        username_key = f"login:staff-username:{username}"
        failure_slots.append((username_key, USERNAME_WINDOW_SECONDS))
        if not await limiter.hit(username_key, services.staff_login_failures, USERNAME_WINDOW_SECONDS):
            minutes = USERNAME_WINDOW_SECONDS // 60
            return _rate_limited(f"too many failed logins for this username; try again within {minutes} minutes")

    async def run() -> Session:
        staff = await service.authenticate_staff(data.username, data.password)
        return Session(ctx.services.tokens.issue_staff(staff.id, staff.role, staff.token_version), staff)

    outcome = await attempt(run())
    if not outcome.errors:
        for key, window in failure_slots:
            await limiter.undo(key, window)
    elif not client_ok:
        return _rate_limited(f"too many failed logins from this address; try again within {LOGIN_WINDOW_SECONDS} "
                             "seconds")
    return outcome


async def me(ctx: Context) -> Customer | None:
    customer_id = ctx.customer_id
    return None if customer_id is None else await queries.customer(customer_id)


async def staff_me(ctx: Context) -> Staff | None:
    principal = ctx.principal
    return await queries.active_staff(principal.id) if principal is not None and principal.kind == "staff" else None


def token_refresh(ctx: Context) -> str:
    """A fresh token for whoever the request's token names; the request's account check (server.access_cache) has
    already refused a deactivated member, an older staff token and a blocked customer."""
    principal = ctx.principal
    if principal is None:
        raise unauthenticated()
    if principal.kind == "customer":
        return ctx.services.tokens.issue_customer(principal.id)
    assert principal.role is not None
    return ctx.services.tokens.issue_staff(principal.id, principal.role, principal.version)
