from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette
from structlog.testing import capture_logs
from tortoise import Tortoise

from domain.db import tortoise_config
from server.health import CHECK_TIMEOUT_SECONDS, Check, database_check, health_routes, redis_check

SECRET_MESSAGE = "postgres://pond:hunter2@db.internal:5432/pond refused"


def client_for(checks: Mapping[str, Check], *, timeout: float = CHECK_TIMEOUT_SECONDS) -> httpx.AsyncClient:
    app = Starlette(routes=health_routes(checks, timeout=timeout))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def passing() -> None:
    return None


async def failing() -> None:
    raise ConnectionRefusedError(SECRET_MESSAGE)


# --------------------------------------------------------------------------------------------------------------------
# /healthz and /readyz
# --------------------------------------------------------------------------------------------------------------------


async def test_healthz_is_200_ok_without_running_any_check() -> None:
    calls: list[str] = []

    async def counted() -> None:
        calls.append("ran")
        raise RuntimeError("must not run")

    async with client_for({"database": counted}) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert calls == []


async def test_readyz_is_200_when_every_check_passes() -> None:
    async with client_for({"database": passing, "redis": passing}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_is_503_with_only_the_error_class_name_of_a_failing_check() -> None:
    async with client_for({"database": failing, "redis": passing}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ConnectionRefusedError", "redis": "ok"},
    }
    assert "hunter2" not in response.text
    assert "postgres://" not in response.text
    assert "Traceback" not in response.text


class SlowDependency:
    """A dependency that answers only after `seconds`, and tells whether it answered or was abandoned."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.answered = False
        self.cancelled = False

    async def __call__(self) -> None:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.answered = True


async def test_readyz_gives_up_on_a_slow_dependency_and_names_it() -> None:
    slow = SlowDependency(30)  # without the per-check limit this answers, 30 s later, "ok"
    with capture_logs() as logs:
        async with client_for({"database": passing, "redis": slow}, timeout=0.1) as client:
            response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "TimeoutError"}}
    assert slow.cancelled and not slow.answered  # abandoned, not left running behind the answer
    assert [(log["event"], log["check"], log["error"]) for log in logs] == [
        ("readiness check failed", "redis", "TimeoutError")]


async def test_the_default_check_timeout_is_two_seconds() -> None:
    assert CHECK_TIMEOUT_SECONDS == 2.0


async def test_readyz_runs_the_checks_concurrently() -> None:
    # each check answers only once all three are running: checked one after another, the first would time out
    everyone_started = asyncio.Barrier(3)

    async def waits_for_the_others() -> None:
        await everyone_started.wait()

    async with client_for({"a": waits_for_the_others, "b": waits_for_the_others, "c": waits_for_the_others},
                          timeout=5) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"a": "ok", "b": "ok", "c": "ok"}}


async def test_readyz_with_no_checks_is_ready() -> None:
    async with client_for({}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_the_health_routes_reject_post() -> None:
    async with client_for({"database": passing}) as client:
        assert (await client.post("/healthz")).status_code == 405
        assert (await client.post("/readyz")).status_code == 405


# --------------------------------------------------------------------------------------------------------------------
# database_check
# --------------------------------------------------------------------------------------------------------------------


async def test_database_check_passes_against_a_real_sqlite_database(tmp_path: Path) -> None:
    await Tortoise.init(config=tortoise_config(f"sqlite://{tmp_path}/t.sqlite3"), _enable_global_fallback=True)
    try:
        async with client_for({"database": database_check()}) as client:
            response = await client.get("/readyz")
    finally:
        await Tortoise.close_connections()

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_database_check_fails_for_an_unknown_connection(tmp_path: Path) -> None:
    await Tortoise.init(config=tortoise_config(f"sqlite://{tmp_path}/t.sqlite3"), _enable_global_fallback=True)
    try:
        async with client_for({"database": database_check("nope")}) as client:
            response = await client.get("/readyz")
    finally:
        await Tortoise.close_connections()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] not in ("", "ok")
    assert str(tmp_path) not in response.text


# --------------------------------------------------------------------------------------------------------------------
# redis_check
# --------------------------------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_check_passes_against_a_real_redis(redis_client: Redis) -> None:
    async with client_for({"redis": redis_check(redis_client)}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"redis": "ok"}}


async def test_redis_check_against_a_closed_port_is_503_connection_error_without_the_address() -> None:
    port = closed_port()
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    try:
        async with client_for({"redis": redis_check(client), "database": passing}) as http:
            response = await http.get("/readyz")
    finally:
        await client.aclose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"redis": "ConnectionError", "database": "ok"}}
    assert str(port) not in response.text
    assert "127.0.0.1" not in response.text


async def test_redis_check_with_default_retries_against_a_closed_port_gives_up_at_the_check_limit() -> None:
    # redis-py 8 retries a refused connection 10 times with backoff (about 4 s) before it raises ConnectionError;
    # the 2 s check limit answers first, so a dead Redis makes /readyz answer TimeoutError instead of stalling
    port = closed_port()
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    try:
        async with client_for({"redis": redis_check(client), "database": passing}) as http:
            response = await http.get("/readyz")
    finally:
        await client.aclose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"redis": "TimeoutError", "database": "ok"}}
