"""Raw SQL through Tortoise's connection, for the few statements on a measured hot path that the ORM cannot say in
one round trip (`UPDATE … RETURNING`, `INSERT … ON CONFLICT DO NOTHING RETURNING`).

Statements are written with PostgreSQL's `$1, $2 …` placeholders, each used once and in order; on SQLite (3.35 and
later have both clauses) they become `?`. Inside `in_transaction()` the connection is the transaction's. Values
that need the database's own form (datetimes) go through their model field's `to_db_value` (`db_value`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.models import Model

_PLACEHOLDER = re.compile(r"\$\d+")


async def fetch(sql: str, *params: object) -> list[dict[str, Any]]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        sql = _PLACEHOLDER.sub("?", sql)
    rows: list[dict[str, Any]] = await connection.execute_query_dict(sql, list(params))  # not execute_query: it
    return rows  # drops what RETURNING answers


def db_value(model: type[Model], field: str, value: datetime) -> object:
    """`value` as the ORM would store it in `model.field` on this database."""
    return model._meta.fields_map[field].to_db_value(value, model)


async def one_at_a_time(key: int) -> None:
    """Inside a transaction: wait until no other transaction holding `key` is open, and hold it until this one ends
    (PostgreSQL's transaction-level advisory lock). SQLite runs one write transaction at a time already."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [key])


async def one_snapshot() -> None:
    """First thing inside a transaction that only reads: every statement of it sees the database as it was when the
    first one ran (PostgreSQL's REPEATABLE READ), so writes landing meanwhile never show as a half-done change. A
    SQLite read transaction sees one snapshot already."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
