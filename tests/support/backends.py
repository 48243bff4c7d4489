"""The two ways Pond runs, as test backends: embedded (SQLite, in-process stores) and real (PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from tests.support.ci import under_ci

PG_ADMIN_URL = os.environ.get("POND_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("POND_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str | None
    redis_prefix: str

    @property
    def real(self) -> bool:
        """PostgreSQL and Redis (one server, or a Redis Cluster for the "cluster" backend), not the embedded stores."""
        return self.name in ("real", "cluster")


def unavailable(what: str, error: BaseException) -> None:
    """In CI a missing service fails the run; on a laptop it skips the real-backend half."""
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if under_ci():
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


async def create_pg_database() -> str:
    name = f"pond_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL at " + PG_ADMIN_URL.rsplit("@", 1)[-1], exc)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def check_redis() -> None:
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        unavailable("Redis at " + REDIS_URL, exc)
    finally:
        await client.aclose()


async def delete_redis_keys(prefix: str, url: str | None = None) -> None:
    """Every key naming `prefix` in the Redis at `url` (default: the shared test Redis); a redis+cluster:// URL
    scans every master and deletes key by key (a multi-key DEL must stay within one slot)."""
    from server.wiring import redis_client

    client = redis_client(url or REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{prefix}*", count=1000)]
        if isinstance(client, RedisCluster):
            for key in keys:
                await client.delete(key)
        elif keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


TEARDOWN_SECONDS = 60.0


async def within(step: Awaitable[object], what: str, seconds: float = TEARDOWN_SECONDS) -> None:
    """Run a session set-up or tear-down step, but never hang the run on it: past `seconds`, print the stack of
    every task still alive (what the step waits for) and fail."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        task.result()
        return
    print(f"\n{what} did not finish in {seconds:.0f} s; live tasks:", file=sys.stderr)
    for alive in asyncio.all_tasks():
        alive.print_stack(file=sys.stderr)
    task.cancel()
    raise RuntimeError(f"{what} did not finish in {seconds:.0f} s (task stacks above)")
