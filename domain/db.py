"""The Tortoise configuration: one app, models listed per area, schema built by migrations."""

from __future__ import annotations

from typing import Any

from asyncpg.connection import Connection
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE

MODEL_MODULES = [
    "domain.catalog.models",
    "domain.identity.models",
    "domain.cart.models",
    "domain.inventory.models",
    "domain.orders.models",
    "domain.ledger.models",
    "domain.pricing.models",
    "domain.flash_sale.models",
    "domain.group_buy.models",
    "domain.relay.models",
    "domain.distribution.models",
    "domain.balances.models",
    "domain.attribution.models",
    "domain.commissions.models",
    "domain.withdrawals.models",
    "domain.referral.models",
    "domain.points.models",
    "domain.wallet.models",
    "domain.addresses.models",
    "domain.members.models",
]
MIGRATIONS_MODULE = "domain.migrations"
DEFAULT_POOL_SIZE = 10
"""PostgreSQL connections per process (`POND_DB_POOL_SIZE`). asyncpg's own default: one process runs one event loop
on one core, so more queries in flight than this only queue inside PostgreSQL, and four workers and `pond worker`
stay well inside PostgreSQL's default 100 connections."""


MAX_CACHEABLE_STATEMENT = 16 * 1024
"""Characters of SQL asyncpg keeps prepared per connection (its default, 1 KB, left checkout's one-statement order,
lines and trade INSERT to be prepared anew on every checkout: a round trip and a parse each time)."""


class PooledConnection(Connection):
    """An asyncpg connection that goes back to the pool without a reset round trip.

    asyncpg's pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` every time a connection
    is released, which cost a round trip per query outside a transaction and per transaction (issue #12). Pond leaves
    no session state behind: its advisory locks are transaction-scoped (`raw_sql.one_at_a_time`), it holds no cursor
    beyond a transaction, listens on Redis rather than PostgreSQL, and sets nothing with SET (only SET LOCAL would be
    safe); `tests/domain/test_db_pool.py` keeps it so. A transaction left open is still rolled back on release:
    asyncpg does that before it asks for the reset query."""

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str, pool_size: int) -> str | dict[str, Any]:
    """SQLite takes the URL as it is; PostgreSQL gets the pool's size and, on asyncpg, the connection class."""
    config = expand_db_url(database_url)
    if config["engine"] == "tortoise.backends.sqlite":
        return database_url
    credentials = config["credentials"]
    credentials.update(minsize=1, maxsize=pool_size)
    if config["engine"] == "tortoise.backends.asyncpg":
        credentials["connection_class"] = PooledConnection
        credentials["max_cacheable_statement_size"] = MAX_CACHEABLE_STATEMENT
    return config


def tortoise_config(database_url: str, pool_size: int = DEFAULT_POOL_SIZE) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url, pool_size)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(database_url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
    # Tortoise caches INSERT/DELETE SQL per connection *name*; a process that opens another dialect under
    # the same name (the test suite: SQLite, then PostgreSQL) must not reuse the old placeholders.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url, pool_size), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def migrate_database(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api import migrate

    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()
