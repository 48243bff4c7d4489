"""The Tortoise configuration: one app, models listed per area, schema built by migrations."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
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


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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


async def open_database(database_url: str) -> None:
    # Tortoise caches INSERT/DELETE SQL per connection *name*; a process that opens another dialect under
    # the same name (the test suite: SQLite, then PostgreSQL) must not reuse the old placeholders.
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def migrate_database(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api import migrate

    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()
