"""Counting what Pond sends its database, as the database receives it: every statement, including BEGIN, COMMIT,
savepoints and what the connection pool sends on its own (asyncpg's reset when a connection goes back to the
pool), which Tortoise's debug log (`tests.support.graphql.count_queries`) does not show.

On PostgreSQL each statement is one round trip (asyncpg adds one more the first time a connection prepares a
statement it has not cached); on SQLite each is one hop to aiosqlite's thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from asyncpg.connection import Connection
from tortoise import connections

Method = Callable[..., Awaitable[Any]]


@asynccontextmanager
async def count_statements() -> AsyncIterator[list[str]]:
    """Every statement sent to the default connection inside the block, in order."""
    seen: list[str] = []
    client: Any = connections.get("default")
    if client.capabilities.dialect == "postgres":
        with _asyncpg_statements(seen):
            yield seen
        return
    sqlite = client._connection  # aiosqlite: the trace callback runs on its thread, in statement order
    await sqlite.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        await sqlite.set_trace_callback(None)


class _asyncpg_statements:
    """Wraps the three methods every asyncpg statement goes through: `execute` without arguments (a simple query:
    BEGIN, COMMIT, the pool's reset), `_execute` (every statement with arguments and every fetch) and
    `_executemany`. The pool's proxies look these up on the connection's class at each call."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen
        self.originals: dict[str, Method] = {}

    def __enter__(self) -> None:
        seen = self.seen
        self.originals = {name: getattr(Connection, name) for name in ("execute", "_execute", "_executemany")}
        execute, execute_bound, execute_many = self.originals.values()

        async def simple(con: Connection, query: str, *args: Any, **kwargs: Any) -> str:
            if not args:
                seen.append(query)
            return str(await execute(con, query, *args, **kwargs))

        async def bound(con: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(query)
            return await execute_bound(con, query, *args, **kwargs)

        async def many(con: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(query)
            return await execute_many(con, query, *args, **kwargs)

        for name, method in zip(self.originals, (simple, bound, many), strict=True):
            setattr(Connection, name, method)

    def __exit__(self, *exc: object) -> None:
        for name, method in self.originals.items():
            setattr(Connection, name, method)
