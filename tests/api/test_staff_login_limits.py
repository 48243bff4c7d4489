"""Staff logins: failures are limited per username (from any address) and per client; a right password is not
refused because others failed from the same address, and successes never count."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from domain.identity.models import StaffRole
from domain.identity.service import create_staff
from resolvers.identity import LOGIN_WINDOW_SECONDS, USERNAME_WINDOW_SECONDS
from server.observability import RequestIdMiddleware
from tests.support.graphql import GraphQLClient

STAFF_LOGIN = """mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
  token errors { code message } } }"""
PASSWORD = "s3cret-pass"


@asynccontextmanager
async def client_from(app, address: str) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=RequestIdMiddleware(app), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pond.test") as http:
        yield GraphQLClient(http)


async def attempt(gql: GraphQLClient, username: str, password: str) -> str:
    """The outcome: "ok", or the error code."""
    payload = (await gql.data(STAFF_LOGIN, {"u": username, "p": password}))["staffLogin"]
    return "ok" if payload["token"] else payload["errors"][0]["code"]


def clear_of_a_window_edge(margin: float = 5.0) -> None:
    """The limits count in fixed windows: a test's few logins must not straddle the start of a new one (seen twice:
    an attempt landed in the next window and was let through). The in-process limiter aligns its windows to
    ``time.monotonic`` (Redis's start at a key's first hit), so the edge is found on that clock, not the wall's."""
    for window in sorted({LOGIN_WINDOW_SECONDS, USERNAME_WINDOW_SECONDS}):
        left = window - time.monotonic() % window
        if left < margin:
            time.sleep(left + 0.05)


@pytest.fixture
def limits(app) -> Iterator[Callable[[int, int], None]]:
    clear_of_a_window_edge()
    services = app.state.services
    saved = services.login_rate_limit, services.staff_login_failures

    def set_limits(per_client: int, per_username: int) -> None:
        services.login_rate_limit, services.staff_login_failures = per_client, per_username

    yield set_limits
    services.login_rate_limit, services.staff_login_failures = saved


async def test_failures_for_one_username_from_many_addresses_lock_it_even_for_the_right_password(app, db, limits):
    limits(100, 3)
    await create_staff("locked-boss", PASSWORD, StaffRole.OWNER)
    outcomes = []
    for n in range(4):
        async with client_from(app, f"198.51.100.{n + 1}") as gql:
            outcomes.append(await attempt(gql, "locked-boss", "wrong-guess"))
    async with client_from(app, "198.51.100.99") as gql:
        right = await attempt(gql, "locked-boss", PASSWORD)
        other_user_fine = await attempt(gql, "nobody-else", "wrong-guess")
    assert outcomes == ["LOGIN_FAILED"] * 3 + ["RATE_LIMITED"]
    assert right == "RATE_LIMITED"  # no password is checked while the username is locked: a guess says nothing
    assert other_user_fine == "LOGIN_FAILED"


async def test_a_right_password_works_from_an_address_over_its_failure_limit(app, db, limits):
    limits(3, 100)
    await create_staff("nat-colleague", PASSWORD, StaffRole.OPERATOR)
    async with client_from(app, "203.0.113.7") as gql:
        failures = [await attempt(gql, f"typo-{n}", "wrong-guess") for n in range(5)]
        right = await attempt(gql, "nat-colleague", PASSWORD)
        wrong_again = await attempt(gql, "nat-colleague", "wrong-guess")
    assert failures == ["LOGIN_FAILED"] * 3 + ["RATE_LIMITED"] * 2
    assert right == "ok" and wrong_again == "RATE_LIMITED"


async def test_successful_logins_count_against_no_limit(app, db, limits):
    limits(2, 2)
    await create_staff("busy-boss", PASSWORD, StaffRole.OWNER)
    async with client_from(app, "203.0.113.8") as gql:
        assert [await attempt(gql, "busy-boss", PASSWORD) for _ in range(6)] == ["ok"] * 6
        assert await attempt(gql, "busy-boss", "wrong-guess") == "LOGIN_FAILED"


async def test_concurrent_guesses_at_one_username_check_at_most_the_limit_of_passwords(app, db, limits):
    limits(1000, 4)
    await create_staff("raced-boss", PASSWORD, StaffRole.OWNER)
    async with client_from(app, "192.0.2.10") as gql:
        outcomes = await asyncio.gather(*(attempt(gql, "raced-boss", f"guess-{n}") for n in range(12)))
    assert outcomes.count("LOGIN_FAILED") == 4 and outcomes.count("RATE_LIMITED") == 8


async def test_an_address_hammering_the_login_is_refused_unchecked_past_the_attempt_ceiling(app, db, limits):
    limits(1, 1000)  # the ceiling is five times the per-client limit
    await create_staff("cpu-boss", PASSWORD, StaffRole.OWNER)
    async with client_from(app, "192.0.2.11") as gql:
        outcomes = [await attempt(gql, "cpu-boss", PASSWORD) for _ in range(6)]
    assert outcomes == ["ok"] * 5 + ["RATE_LIMITED"]
