"""The PostgreSQL pool: `POND_DB_POOL_SIZE` connections at most, and a connection goes back to it without asyncpg's
reset round trip, which is safe only because Pond leaves no session state on a connection."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from domain.db import DEFAULT_POOL_SIZE, PooledConnection, tortoise_config
from domain.raw_sql import one_at_a_time
from tests.support.backends import Backend
from tests.support.statements import count_statements

ROOT = Path(__file__).resolve().parents[2]
POND_CODE = ["app.py", "domain", "payments", "resolvers", "schema", "server", "workers", "wechat"]
SESSION_STATE = {
    "a session advisory lock (use pg_advisory_xact_lock)": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\("),
    "LISTEN": re.compile(r"(^|;)\s*LISTEN\b"),
    "a session setting (use SET LOCAL)": re.compile(r"(^|;)\s*SET\s+(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)"),
    "set_config": re.compile(r"\bset_config\s*\("),
    "a cursor that outlives its transaction": re.compile(r"\bWITH\s+HOLD\b"),
}
LOCK_KEY = 0x706F6F6C  # "pool"


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_statement_in_pond_leaves_state_on_its_connection():
    """What asyncpg's reset would undo (advisory locks, LISTEN, SET, held cursors) must never be done."""
    found = []
    for place in POND_CODE:
        files = [ROOT / place] if place.endswith(".py") else sorted((ROOT / place).rglob("*.py"))
        for path in files:
            for text in _string_constants(path):
                found += [f"{path.relative_to(ROOT)}: {what}: {text[:80]!r}"
                          for what, pattern in SESSION_STATE.items() if pattern.search(text)]
    assert found == []


def test_postgres_gets_the_pool_size_and_the_connection_class_sqlite_its_url():
    config: Any = tortoise_config("postgres://pond:secret@db.internal:5433/shop", pool_size=7)["connections"]["default"]
    assert config["engine"] == "tortoise.backends.asyncpg"
    credentials = config["credentials"]
    assert (credentials["minsize"], credentials["maxsize"]) == (1, 7)
    assert credentials["connection_class"] is PooledConnection
    assert (credentials["host"], credentials["port"], credentials["database"]) == ("db.internal", 5433, "shop")
    assert tortoise_config("sqlite:///tmp/pond.sqlite3")["connections"]["default"] == "sqlite:///tmp/pond.sqlite3"


async def test_the_running_pool_has_the_configured_size_and_class(db, backend: Backend):
    if not backend.real:
        pytest.skip("SQLite has one connection, no pool")
    client: Any = connections.get("default")
    await client.execute_query("SELECT 1")  # Tortoise opens its pool on first use
    assert client._pool.get_max_size() == DEFAULT_POOL_SIZE
    async with client._pool.acquire() as connection:
        assert isinstance(connection._con, PooledConnection)


async def test_a_query_outside_a_transaction_is_one_statement_and_a_transaction_only_adds_begin_and_commit(db):
    async with count_statements() as alone:
        await connections.get("default").execute_query("SELECT 1")
    async with count_statements() as transaction:
        async with in_transaction() as connection:
            await connection.execute_query("SELECT 1")
    assert len(alone) == 1, alone
    assert [" ".join(s.split()).rstrip(";").upper() for s in transaction] == ["BEGIN", "SELECT 1", "COMMIT"]


async def _advisory_locks_held() -> int:
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'")
    return int(rows[0]["n"])


async def test_an_advisory_lock_ends_with_its_transaction_committed_or_rolled_back(db, backend: Backend):
    if not backend.real:
        pytest.skip("SQLite takes no advisory lock: one write transaction runs at a time")
    async with in_transaction():
        await one_at_a_time(LOCK_KEY)
        assert await _advisory_locks_held() == 1
    assert await _advisory_locks_held() == 0
    with pytest.raises(ZeroDivisionError):
        async with in_transaction():
            await one_at_a_time(LOCK_KEY)
            1 / 0  # noqa: B018
    assert await _advisory_locks_held() == 0


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_goes_back(db, backend: Backend):
    """asyncpg still ends what a connection left open before the pool hands it out again; only the reset query
    (locks, LISTEN, SET, cursors) is skipped."""
    if not backend.real:
        pytest.skip("SQLite has one connection, no pool")
    # A pool of one connection, so the second acquire gets the connection the first left in a transaction.
    small = await asyncpg.create_pool(backend.database_url, connection_class=PooledConnection, min_size=1, max_size=1)
    try:
        async with small.acquire() as connection:
            await connection.execute("BEGIN")
            await connection.execute("CREATE TEMP TABLE left_open (x int)")
        async with small.acquire() as connection:
            assert not connection.is_in_transaction()
            assert await connection.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await small.close()
