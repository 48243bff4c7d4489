"""The database half of bench/flash_sale.py: a fresh `pond_bench_flash` with an OWNER, and reading the sale back."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from bench._flash_sale_server import DATABASE, DATABASE_URL, REDIS_PREFIX, REDIS_URL
from bench._harness import BenchError, fresh_demo_database

STAFF_USERNAME = "bench-owner"


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(gid: str) -> int:
    return int(base64.b64decode(gid).decode().rpartition(":")[2])


@dataclass(frozen=True)
class Sku:
    id: int
    price: int

    @property
    def gid(self) -> str:
        return global_id("Sku", self.id)

    @property
    def sale_price(self) -> int:
        return max(1, self.price // 2)


async def prepare_database(stock: Sequence[int], staff_password: str) -> list[Sku]:
    """Fresh database, Pond's migrations and demo catalog, an OWNER; one SKU per entry of `stock`, each of another
    product, given that much stock and nothing reserved."""
    import asyncpg

    from domain.identity.models import StaffRole
    from domain.identity.service import create_staff

    async def add_owner() -> None:
        await create_staff(STAFF_USERNAME, staff_password, StaffRole.OWNER)  # what `pond create-staff` does

    await fresh_demo_database(DATABASE, DATABASE_URL, add_owner)
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (p.id) s.id, s.price FROM catalog_sku s JOIN catalog_product p ON p.id = s.product_id"
            " WHERE p.published AND p.deleted_at IS NULL AND s.deleted_at IS NULL AND s.price >= 2"
            " ORDER BY p.id, s.id")
        if len(rows) < len(stock):
            raise BenchError(f"the demo catalog has fewer than {len(stock)} products for sale")
        skus = []
        for row, units in zip(rows, stock, strict=False):
            await conn.execute("UPDATE catalog_sku SET stock = $2, reserved = 0 WHERE id = $1", row["id"], units)
            skus.append(Sku(row["id"], row["price"]))
        return skus
    finally:
        await conn.close()


@dataclass(frozen=True)
class Ledger:
    """One flash sale as PostgreSQL and its Redis pool have it."""

    pool: int
    taken: int
    reserved_units: dict[str, int]
    orders: int
    order_units: int
    max_per_customer: int
    prepaid: int
    redis_left: int | None

    @property
    def reserved(self) -> int:
        return sum(self.reserved_units.values())


async def read_sale(sale_id: int, sku_id: int) -> Ledger:
    import asyncpg
    import redis.asyncio as aioredis

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        item = await conn.fetchrow("SELECT id, quantity, taken FROM pricing_flash_sale_item"
                                   " WHERE sale_id = $1 AND sku_id = $2", sale_id, sku_id)
        assert item is not None, f"no item for SKU {sku_id} in flash sale {sale_id}"
        held = await conn.fetch("SELECT state, sum(quantity) AS units FROM inventory_reservation"
                                " WHERE flash_item_id = $1 GROUP BY state", item["id"])
        orders = await conn.fetchrow(
            "SELECT count(DISTINCT o.id) AS orders, coalesce(sum(l.quantity), 0) AS units FROM orders_order o"
            " JOIN orders_line l ON l.order_id = o.id WHERE o.kind = 'FLASH_SALE' AND o.id IN"
            " (SELECT order_id FROM inventory_reservation WHERE flash_item_id = $1)", item["id"])
        assert orders is not None  # an aggregate without GROUP BY always returns one row
        most = await conn.fetchval(
            "SELECT coalesce(max(units), 0) FROM (SELECT sum(r.quantity) AS units FROM inventory_reservation r"
            " JOIN orders_order o ON o.id = r.order_id WHERE r.flash_item_id = $1 AND r.state IN ('HELD', 'COMMITTED')"
            " GROUP BY o.customer_id) AS per_customer", item["id"])
        prepaid = await conn.fetchval(
            "SELECT count(DISTINCT p.order_id) FROM orders_payment p WHERE p.prepay_id IS NOT NULL AND p.order_id IN"
            " (SELECT order_id FROM inventory_reservation WHERE flash_item_id = $1)", item["id"])
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        left = await client.hget(f"{{{REDIS_PREFIX}:flash:{sale_id}}}:left", str(sku_id))
    finally:
        await client.aclose()
    return Ledger(pool=item["quantity"], taken=item["taken"],
                  reserved_units={r["state"]: int(r["units"]) for r in held}, orders=int(orders["orders"]),
                  order_units=int(orders["units"]), max_per_customer=int(most), prepaid=int(prepaid),
                  redis_left=None if left is None else int(left))


async def sequential_scans(top: int = 4) -> list[tuple[str, int, int, int]]:
    """The tables PostgreSQL read most rows of by sequential scan (table, scans, rows read, rows in the table)."""
    import asyncpg

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch("SELECT relname, seq_scan, seq_tup_read, n_live_tup FROM pg_stat_user_tables"
                                " WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT $1", top)
        return [(r["relname"], int(r["seq_scan"]), int(r["seq_tup_read"]), int(r["n_live_tup"])) for r in rows]
    finally:
        await conn.close()


async def count_orders() -> int:
    import asyncpg

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM orders_order"))
    finally:
        await conn.close()

