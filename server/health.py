"""Liveness (``GET /healthz``) and readiness (``GET /readyz``) endpoints.

``/healthz`` does no I/O: it answers as long as the event loop does. ``/readyz`` runs every dependency check
concurrently, each with its own timeout, and answers 503 if any fails. A failing check is reported only by its
error class name (e.g. ``"TimeoutError"``, ``"ConnectionError"``); details go to the server log, never to the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import structlog
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from starlette.requests import Request

__all__ = ["CHECK_TIMEOUT_SECONDS", "Check", "database_check", "health_routes", "redis_check"]

Check = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 2.0
_NO_STORE = {"Cache-Control": "no-store"}
_MAX_LOGGED_DETAIL = 200

_log = structlog.stdlib.get_logger("pond.health")


async def _run_check(name: str, check: Check, limit_seconds: float) -> str:
    try:
        await asyncio.wait_for(check(), limit_seconds)
    except Exception as exc:  # reported by class name only
        error = type(exc).__name__
        _log.warning("readiness check failed", check=name, error=error, detail=str(exc)[:_MAX_LOGGED_DETAIL])
        return error
    return "ok"


def health_routes(checks: Mapping[str, Check], *, timeout: float = CHECK_TIMEOUT_SECONDS) -> list[Route]:
    """``GET /healthz`` and ``GET /readyz`` (HEAD too) for the given named readiness checks."""
    named = dict(checks)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    async def readyz(request: Request) -> JSONResponse:
        names = list(named)
        outcomes = await asyncio.gather(*(_run_check(name, named[name], timeout) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        ready = all(outcome == "ok" for outcome in outcomes)
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
            headers=_NO_STORE,
        )

    return [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/readyz", readyz, methods=["GET"], name="readyz"),
    ]


def database_check(connection_name: str = "default") -> Check:
    """Readiness check running ``SELECT 1`` on a Tortoise connection (``default`` unless told otherwise)."""

    async def check() -> None:
        from tortoise import connections

        await connections.get(connection_name).execute_query("SELECT 1")

    return check


def redis_check(redis_client: Redis | RedisCluster) -> Check:
    """Readiness check sending ``PING`` with the given ``redis.asyncio`` client."""

    async def check() -> None:
        await redis_client.ping()

    return check
