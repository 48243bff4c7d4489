"""The database's reservations: the oversell guard and the source every counter is rebuilt from.

Each function runs inside the caller's transaction and is idempotent per order: a reservation row moves
HELD → COMMITTED or HELD → RELEASED once, and only the call that moves it touches the SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from tortoise.expressions import F

from domain import raw_sql
from domain.catalog import stock
from domain.catalog.models import Sku, StockMovement
from domain.inventory.models import Reservation, ReservationState
from domain.raw_sql import fetch


class OutOfStock(Exception):
    def __init__(self, sku_ids: list[int]) -> None:
        super().__init__(f"not enough stock for SKUs {sku_ids}")
        self.sku_ids = sku_ids


def available(sku: Sku) -> int:
    """Units a customer can buy right now (see catalog.stock.free_units)."""
    return stock.free_units(sku.stock, sku.reserved)


async def hold(order_id: int, lines: Mapping[int, int]) -> None:
    """Hold every line for the order or raise OutOfStock (the caller's transaction then rolls back): on PostgreSQL
    one statement (and, for several SKUs, their rows locked in id order first: one lock order for every buyer), on
    SQLite two."""
    p = raw_sql.Params()
    wanted = ", ".join(f"(CAST({p(sku_id)} AS INTEGER), CAST({p(quantity)} AS INTEGER))"
                       for sku_id, quantity in sorted(lines.items()))
    update = (f'WITH wanted ("sku_id", "quantity") AS (VALUES {wanted}), held AS (UPDATE "catalog_sku" '
              'SET "reserved" = "catalog_sku"."reserved" + w."quantity" FROM wanted w '
              'WHERE "catalog_sku"."id" = w."sku_id" AND "catalog_sku"."deleted_at" IS NULL '
              'AND "catalog_sku"."stock" >= "catalog_sku"."reserved" + w."quantity" '
              'RETURNING "catalog_sku"."id", w."quantity")')
    at = raw_sql.db_value(Reservation, "created_at", datetime.now(UTC))
    if raw_sql.postgres():
        await lock_in_order(lines)
        sql = (f'{update}, written AS ({_RESERVE} SELECT {p(order_id)}, "id", "quantity", {p(HELD)}, {p(at)}, '
               f'{p(at)} FROM held) SELECT "id" FROM held')
    else:
        sql = (f'WITH wanted ("sku_id", "quantity") AS (VALUES {wanted}) UPDATE "catalog_sku" '
               'SET "reserved" = "reserved" + wanted."quantity" FROM wanted WHERE "catalog_sku"."id" = wanted."sku_id" '
               'AND "deleted_at" IS NULL AND "stock" >= "reserved" + wanted."quantity" RETURNING "catalog_sku"."id"')
    taken = {int(row["id"]) for row in await fetch(sql, *p)}
    short = sorted(set(lines) - taken)
    if short:
        raise OutOfStock(short)
    if not raw_sql.postgres():
        p = raw_sql.Params()
        rows = ", ".join(f"({p(order_id)}, {p(sku_id)}, {p(quantity)}, {p(HELD)}, {p(at)}, {p(at)})"
                         for sku_id, quantity in lines.items())
        await fetch(f"{_RESERVE} VALUES {rows}", *p)


async def lock_in_order(sku_ids: Iterable[int]) -> None:
    """PostgreSQL, inside a transaction, before one statement changes several SKUs: lock their rows in id order, so
    two buyers of the same SKUs never wait for each other in a circle. A single SKU needs no lock beforehand. (Locking
    and updating in the same statement is no way round it: the update re-locks a row another transaction changed
    meanwhile, and can deadlock with the next waiter.)"""
    ordered = sorted(set(sku_ids))
    if len(ordered) > 1:
        p = raw_sql.Params()
        await fetch(f'SELECT "id" FROM "catalog_sku" WHERE "id" IN ({", ".join(p(sku_id) for sku_id in ordered)}) '
                    'ORDER BY "id" FOR NO KEY UPDATE', *p)


HELD = ReservationState.HELD.value
_RESERVE = ('INSERT INTO "inventory_reservation" ("order_id", "sku_id", "quantity", "state", "created_at", '
            '"updated_at")')


async def commit(order_id: int) -> list[int]:
    """Paid: held units leave stock for good. Returns the SKUs sold, none if nothing was held (already committed or
    released). On PostgreSQL, units of one SKU (most orders) take one statement: the reservations settled, the SKU's
    stock and its movement. Units of several SKUs are only settled by it; their rows are then locked in id order
    (`lock_in_order`) and sold by a third."""
    if not raw_sql.postgres():
        return await _settle_held(order_id, ReservationState.COMMITTED)
    p = raw_sql.Params()
    settled = await fetch(
        f'WITH settled AS ({_settle(p, order_id, ReservationState.COMMITTED)}), '
        'wanted AS (SELECT "sku_id", SUM("quantity") AS "quantity" FROM settled GROUP BY "sku_id"), '
        f'{_selling(p, order_id, only_one=True)} SELECT "sku_id" AS "id", "quantity" FROM wanted', *p)
    if len(settled) > 1:
        await lock_in_order(int(row["id"]) for row in settled)
        p = raw_sql.Params()
        wanted = ", ".join(f"(CAST({p(row['id'])} AS INTEGER), CAST({p(row['quantity'])} AS INTEGER))"
                           for row in settled)
        await fetch(f'WITH wanted ("sku_id", "quantity") AS (VALUES {wanted}), '
                    f'{_selling(p, order_id, only_one=False)} SELECT 1', *p)
    return [int(row["id"]) for row in settled]


def _selling(p: raw_sql.Params, order_id: int, *, only_one: bool) -> str:
    """CTEs selling the units `wanted` ("sku_id", "quantity") names: the SKUs' stock and their movements. With
    `only_one`, nothing unless `wanted` names one SKU: several are locked in id order first (`lock_in_order`)."""
    reason, actor, at = _sold_by(order_id)
    guard = ' AND (SELECT COUNT(*) FROM wanted) = 1' if only_one else ''
    return ('sold AS (UPDATE "catalog_sku" SET "reserved" = "catalog_sku"."reserved" - w."quantity", '
            '"stock" = "catalog_sku"."stock" - w."quantity" '
            f'FROM wanted w WHERE "catalog_sku"."id" = w."sku_id"{guard} '
            'RETURNING "catalog_sku"."id", "catalog_sku"."stock", w."quantity"), '
            'moved AS (INSERT INTO "catalog_stock_movement" ("sku_id", "delta", "stock_after", "reason", "actor", '
            f'"created_at") SELECT "id", -"quantity", "stock", {p(reason)}, {p(actor)}, {p(at)} FROM sold)')


async def release(order_id: int) -> bool:
    """Cancelled or expired: held units become available again. False if nothing was held."""
    return bool(await _settle_held(order_id, ReservationState.RELEASED))


def _settle(p: raw_sql.Params, order_id: int, target: ReservationState) -> str:
    """The order's HELD reservations moved to `target`, returning their SKUs and quantities."""
    return (f'UPDATE "inventory_reservation" SET "state" = {p(target.value)} WHERE "order_id" = {p(order_id)} '
            f'AND "state" = {p(HELD)} RETURNING "sku_id", "quantity"')


_SELL = ('UPDATE "catalog_sku" SET "reserved" = "reserved" - $1, "stock" = "stock" - $2 WHERE "id" = $3 '
         'RETURNING "stock"')


def _sold_by(order_id: int) -> tuple[str, str, object]:
    """A sale's stock movement: reason, actor, time."""
    return "sold", f"order:{order_id}", raw_sql.db_value(StockMovement, "created_at", datetime.now(UTC))


async def _settle_held(order_id: int, target: ReservationState) -> list[int]:
    """Move the order's HELD rows to `target` in one statement; only the call that moves a row changes its SKU (in SKU
    order, one lock order for every buyer), and a sale writes its stock movements in one more. Returns the SKUs."""
    p = raw_sql.Params()
    moved = await fetch(_settle(p, order_id, target), *p)
    sold = []
    for row in sorted(moved, key=lambda row: row["sku_id"]):
        sku_id, quantity = int(row["sku_id"]), int(row["quantity"])
        if target == ReservationState.COMMITTED:
            [after] = await fetch(_SELL, quantity, quantity, sku_id)
            reason, actor, _ = _sold_by(order_id)
            sold.append(StockMovement(sku_id=sku_id, delta=-quantity, stock_after=int(after["stock"]), reason=reason,
                                      actor=actor))
        else:
            await Sku.filter(id=sku_id).update(reserved=F("reserved") - quantity)
    if sold:
        await StockMovement.bulk_create(sold)
    return sorted({int(row["sku_id"]) for row in moved})


async def retake(order_id: int) -> bool:
    """A payment arrived after the order was released: hold and commit its units again if they are still there."""
    released = await Reservation.filter(order_id=order_id, state=ReservationState.RELEASED).order_by("sku_id")
    for reservation in released:
        await retake_reservation(order_id, reservation)
    return bool(released)


async def retake_reservation(order_id: int, reservation: Reservation) -> None:
    """One released reservation's units, sold from the SKU's free stock after all (or OutOfStock)."""
    taken = await Sku.filter(
        id=reservation.sku_id,
        stock__gte=F("reserved") + reservation.quantity,
    ).update(stock=F("stock") - reservation.quantity)
    if not taken:
        raise OutOfStock([reservation.sku_id])
    await audit_sale(order_id, reservation)
    reservation.state = ReservationState.COMMITTED
    await reservation.save(update_fields=["state", "updated_at"])


async def restock(order_id: int) -> list[int]:
    """The order was refunded in full before it shipped: its sold units go back to stock, once. Returns the SKUs
    whose stock changed (their counters need a resync)."""
    restocked = []
    for reservation in await Reservation.filter(order_id=order_id, state=ReservationState.COMMITTED).order_by("sku_id"):
        if not await Reservation.filter(id=reservation.id, state=ReservationState.COMMITTED).update(
            state=ReservationState.RETURNED
        ):
            continue
        sku_id = reservation.sku_id
        await Sku.filter(id=sku_id).update(stock=F("stock") + reservation.quantity)
        await stock.audit(sku_id, reservation.quantity, "refunded before shipping", f"order:{order_id}")
        restocked.append(sku_id)
    return restocked


async def audit_sale(order_id: int, reservation: Reservation) -> None:
    await stock.audit(reservation.sku_id, -reservation.quantity, "sold", f"order:{order_id}")


async def database_counts(sku_ids: list[int]) -> dict[int, int]:
    """What a counter should say for each SKU: the database's available units."""
    rows = await Sku.filter(id__in=sku_ids, deleted_at__isnull=True).values_list("id", "stock", "reserved")
    return {sku_id: stock.free_units(on_hand, reserved) for sku_id, on_hand, reserved in rows}
