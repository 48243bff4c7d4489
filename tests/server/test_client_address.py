"""The client address behind a proxy: X-Forwarded-For is believed only from POND_TRUSTED_PROXIES, and then its
right-most address not in that set is the client, for rate limits, the access log and the metrics allow-list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from structlog.testing import capture_logs

from app import create_app
from server.observability import RequestIdMiddleware
from tests.conftest import settings_for
from tests.support.graphql import GraphQLClient

LOGIN = "mutation($code: String!) { login(input: {code: $code}) { token errors { code } } }"
PROXY = "10.9.0.1"


@pytest.fixture
def app_behind_proxy(app, backend, tmp_path):
    """A second app built from settings that trust 10.9.0.0/16, sharing the running app's services."""

    def build(**overrides: object):
        behind = create_app(settings_for(backend, str(tmp_path), trusted_proxies="10.9.0.0/16", **overrides))
        behind.state.runtime, behind.state.services = app.state.runtime, app.state.services
        return behind

    return build


@asynccontextmanager
async def client_from(app, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=RequestIdMiddleware(app), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pond.test") as http:
        yield http


@pytest.fixture
def login_limit(app):
    services = app.state.services
    saved = services.login_rate_limit
    services.login_rate_limit = 1
    yield
    services.login_rate_limit = saved


async def login(http: httpx.AsyncClient, code: str, forwarded_for: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await GraphQLClient(http).raw(LOGIN, {"code": code}, **headers)
    payload = response.json()["data"]["login"]
    return "ok" if payload["token"] else payload["errors"][0]["code"]


async def test_by_default_x_forwarded_for_is_ignored_so_it_cannot_dodge_the_login_limit(app, db, login_limit):
    async with client_from(app, "192.0.2.50") as http:
        first = await login(http, "dodger#1", "198.51.100.1")
        second = await login(http, "dodger#2", "198.51.100.2")
    assert (first, second) == ("ok", "RATE_LIMITED")


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(app_behind_proxy, db, login_limit):
    async with client_from(app_behind_proxy(), PROXY) as http:
        outcomes = [await login(http, "shopper-a#1", "198.51.100.1"), await login(http, "shopper-b#1", "198.51.100.2"),
                    await login(http, "shopper-a#2", "198.51.100.1")]
    assert outcomes == ["ok", "ok", "RATE_LIMITED"]


async def test_a_client_cannot_dodge_the_limit_by_prepending_addresses_through_the_proxy(
    app_behind_proxy, db, login_limit
):
    async with client_from(app_behind_proxy(), PROXY) as http:
        first = await login(http, "sly#1", "1.1.1.1, 198.51.100.9")
        second = await login(http, "sly#2", "2.2.2.2, 198.51.100.9, 10.9.0.7")  # an inner proxy of ours appended
    assert (first, second) == ("ok", "RATE_LIMITED")


async def test_an_untrusted_peer_sending_x_forwarded_for_is_taken_as_itself(app_behind_proxy, db, login_limit):
    async with client_from(app_behind_proxy(), "192.0.2.60") as http:
        outcomes = [await login(http, "peer#1", "198.51.100.1"), await login(http, "peer#2", "198.51.100.2")]
    assert outcomes == ["ok", "RATE_LIMITED"]


async def test_the_access_log_names_the_resolved_client(app_behind_proxy, db):
    async with client_from(app_behind_proxy(), PROXY) as http:
        with capture_logs() as logs:
            await http.get("/healthz", headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.4"})
    (line,) = [entry for entry in logs if entry["event"] == "request"]
    assert line["client"] == "198.51.100.4"


async def test_the_metrics_allow_list_checks_the_resolved_client(app_behind_proxy, db):
    behind = app_behind_proxy(metrics_allow="198.51.100.0/24")
    async with client_from(behind, PROXY) as http:
        allowed = await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.1, 198.51.100.4"})
        refused = await http.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4, 203.0.113.1"})
        the_proxy_itself = await http.get("/metrics")
    assert (allowed.status_code, refused.status_code, the_proxy_itself.status_code) == (200, 403, 403)
