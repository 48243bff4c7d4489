"""The flash sale buys the pool admitted, written together: one transaction of four statements on PostgreSQL.

`write_batch` is the group commit's batch function (`domain.flash_sale.group_commit`). In one transaction it locks
the buyers' rows, then the sales' and items' rows (in id order, the order every other writer of them takes) and
reads them with the items' SKUs (`_lock`, one statement); reads what the guards count for the whole batch (`_counted`,
one statement, after the locks); prices every buy from the rows as they are now (the SKUs, the items, the live
discounts) and checks each buy in turn as `buy` once did alone, counting the buys before it in the batch:

- the sale is still open and not settled (the pool said open, the database says no: the database wins);
- an earlier order with the same idempotency key is answered instead (its twin's units are given back);
- the customer's unpaid-order cap (`limits`), the sale's per-customer limit, the item's `taken` not above its
  quantity, and a limited discount's per-customer units if the quote priced by one.

The buys that pass are written together (`_insert`: on PostgreSQL one data-modifying statement for the orders, their
lines, their flash reservations and the items' `taken`; on SQLite four), and the orders told as placed
(`placed_all`) inside the transaction. A buy that fails its guard is answered with its error and its units go back
to the pool; the others commit.

Why so few statements: the writer waits on each one while the event loop serves every other request, so under load
each statement costs the batch a whole turn of the loop, not just a round trip. On PostgreSQL the statements' text
is the same whatever the batch's size (arrays, `raw_sql.among` and `raw_sql.unnest`), so asyncpg prepares each once.

A batch that fails as a whole (an exception inside it): when it is a unique-key collision (a random order number
drawn twice, or a racing order with the same key) each buy is written again alone, so one unlucky buy sinks no
other; any other failure gives every unit back and answers each buy PAYMENT_FAILED ("try again"): nothing was
written, so tapping again is safe. A process that dies between the admit and the commit leaves units held in the
pool with no order: the pools' heal sweep gives them back once they have waited long enough for one
(`sales.heal_pools`), and a pool loaded again is rebuilt from the database (`sales.pool_state`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.catalog.models import Product, Sku
from domain.catalog.queries import sku_from_row
from domain.errors import DomainError, ErrorCode, NotFound
from domain.flash_sale import sales
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.pool import Take, refused
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders import limits
from domain.orders.checkout import order_line
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderKind, OrderLine
from domain.pricing import discounts, engine
from domain.remembered import Memo, remembering

log = structlog.get_logger("pond.flash_sale.batch_write")


@dataclass(frozen=True)
class Admitted:
    """A buy the pool admitted: what its order needs that the batch does not read again itself."""

    deps: OrderDeps
    customer_id: int
    item: FlashSaleItem
    quantity: int
    idempotency_key: str | None
    number: str
    holder: str
    delivery: dict[str, object]
    pickup_point_id: int | None
    remark: str
    admitted_at: datetime
    memo: Memo | None = None
    """What the buy's request read rows only staff change through (`domain.remembered`)."""


@dataclass(frozen=True)
class Written:
    order: Order
    replayed: bool
    """An earlier order with the buy's idempotency key, answered instead (the buy's units went back)."""


class NumberTaken(Exception):
    """The buy's random order number was drawn before: draw another (its units went back)."""


def not_written() -> DomainError:
    """The answer to a buy whose order was not written and whose units went back: tapping again is safe."""
    return DomainError(ErrorCode.PAYMENT_FAILED, "the order could not be written; nothing was taken, try again")


async def write_batch(batch: Sequence[Admitted]) -> list[Written | BaseException]:
    """Each buy's order, or its error; every buy that ends without an order has its units back in the pool."""
    answers: list[Written | BaseException]
    memos = {id(admitted.memo): admitted.memo for admitted in batch}
    try:
        with remembering(next(iter(memos.values())) if len(memos) == 1 else None):
            answers = await _write_together(batch)
    except IntegrityError:
        if len(batch) == 1:
            answers = [await _collided(batch[0])]
        else:
            answers = [(await write_batch([admitted]))[0] for admitted in batch]
            return answers  # each gave its own units back
    except asyncio.CancelledError:
        await _give_back(batch)
        raise
    except Exception:
        log.exception("flash sale batch failed", size=len(batch))
        answers = [not_written() for _ in batch]
    await _give_back([admitted for admitted, answer in zip(batch, answers, strict=True)
                      if not isinstance(answer, Written) or answer.replayed])
    return answers


async def abandon(batch: Sequence[Admitted]) -> None:
    """The group commit's `abandon`: buys a stopped writer never wrote give their units back."""
    await _give_back(batch)


async def _give_back(batch: Sequence[Admitted]) -> None:
    if batch:
        await asyncio.gather(*(pool_of(a.deps).give_back(a.item.sale_id, a.holder) for a in batch))


async def _collided(admitted: Admitted) -> Written | BaseException:
    """A buy written alone hit a unique key: its number was drawn before, or a racing tap with its key won."""
    if await Order.exists(number=admitted.number):
        return NumberTaken()
    if admitted.idempotency_key:
        existing = await Order.get_or_none(customer_id=admitted.customer_id,
                                           idempotency_key=admitted.idempotency_key)
        if existing is not None:
            return Written(existing, True)
    log.error("flash sale buy collided on no known key", number=admitted.number)
    return not_written()


@dataclass
class _Tally:
    """What the guards count, read once for the batch and raised by each buy it accepts."""

    pending: dict[int, int]
    units: dict[tuple[int, int], int]
    taken: dict[int, int]
    discounted: dict[tuple[int, int], int]


@dataclass
class _Locked:
    """What the batch read under its locks: the buyers that exist, the sales, the items and the items' SKUs."""

    customers: set[int]
    sales: dict[int, FlashSale]
    items: dict[int, FlashSaleItem]
    skus: dict[int, Sku]


async def _write_together(batch: Sequence[Admitted]) -> list[Written | BaseException]:
    deps = batch[0].deps
    customer_ids = sorted({a.customer_id for a in batch})
    sale_ids = sorted({a.item.sale_id for a in batch})
    answers: list[Written | BaseException | None] = [None] * len(batch)
    async with in_transaction():
        locked = await _lock(customer_ids, sale_ids, sorted({a.item.id for a in batch}))
        tally, earlier, numbers_taken = await _counted(batch, customer_ids, sale_ids, locked.items)
        now = deps.clock()
        quotes = await _quotes(batch, locked, now)
        accepted: list[tuple[int, Admitted, Order, engine.Quote]] = []
        for index, (admitted, quote) in enumerate(zip(batch, quotes, strict=True)):
            if admitted.customer_id not in locked.customers:
                answers[index] = NotFound("customer")
                continue
            if admitted.idempotency_key and (admitted.customer_id, admitted.idempotency_key) in earlier:
                answers[index] = Written(earlier[(admitted.customer_id, admitted.idempotency_key)], True)
                continue
            if admitted.number in numbers_taken:
                answers[index] = NumberTaken()  # drawn before: the buy draws another, the batch goes on
                continue
            numbers_taken.add(admitted.number)
            refusal = await _refused(admitted, quote, locked.sales[admitted.item.sale_id],
                                     locked.items[admitted.item.id], tally, now)
            if refusal is not None:
                answers[index] = refusal
                continue
            accepted.append((index, admitted, _order(admitted, quote), quote))
        await _insert(accepted, tally, locked.items)
        await deps.events.placed_all([order for _, _, order, _ in accepted])
        for index, _, order, _ in accepted:
            answers[index] = Written(order, False)
    return [not_written() if answer is None else answer for answer in answers]  # every buy is answered above


async def _lock(customer_ids: Sequence[int], sale_ids: Sequence[int], item_ids: Sequence[int]) -> _Locked:
    """In one statement: the buyers' rows locked in id order, then the sales', then the items' (the order every
    other writer of them takes: each CTE waits for the one before it through `(SELECT COUNT(*) …) >= 0`), answering
    the sales and items as they are under the locks, with the items' SKUs and products (read without a lock). On
    SQLite, which writes one transaction at a time, the same statement without the locks."""
    postgres = raw_sql.postgres()

    def lock(clause: str) -> str:
        return f" {clause}" if postgres else ""

    p = raw_sql.Params()
    read = [(FlashSale, "s"), (FlashSaleItem, "i"), (Sku, "k"), (Product, "pr")]
    nulls = ", ".join("NULL" for model, _ in read for _ in model._meta.fields_db_projection)
    sql = (f'WITH c AS (SELECT "id" FROM "{Customer._meta.db_table}" WHERE "id" {raw_sql.among(p, customer_ids)} '
           f'ORDER BY "id"{lock("FOR NO KEY UPDATE")}), '
           f's AS (SELECT * FROM "{FlashSale._meta.db_table}" WHERE "id" {raw_sql.among(p, sale_ids)} '
           f'AND (SELECT COUNT(*) FROM c) >= 0 ORDER BY "id"{lock("FOR UPDATE")}), '
           f'i AS (SELECT * FROM "{FlashSaleItem._meta.db_table}" WHERE "id" {raw_sql.among(p, item_ids)} '
           f'AND (SELECT COUNT(*) FROM s) >= 0 ORDER BY "id"{lock("FOR UPDATE")}) '
           f'SELECT NULL AS "customer", {", ".join(raw_sql.columns(model, alias) for model, alias in read)} '
           f'FROM i JOIN s ON s."id" = i."sale_id" JOIN "{Sku._meta.db_table}" k ON k."id" = i."sku_id" '
           f'JOIN "{Product._meta.db_table}" pr ON pr."id" = k."product_id" '
           f'UNION ALL SELECT c."id", {nulls} FROM c')
    locked = _Locked(set(), {}, {}, {})
    for row in await raw_sql.fetch(sql, *p):
        if row["customer"] is not None:
            locked.customers.add(int(row["customer"]))
            continue
        item = raw_sql.from_row(FlashSaleItem, row, "i")
        locked.items[item.id] = item
        locked.sales.setdefault(item.sale_id, raw_sql.from_row(FlashSale, row, "s"))
        locked.skus.setdefault(item.sku_id, sku_from_row(row, "k", "pr"))
    return locked


async def _counted(batch: Sequence[Admitted], customer_ids: Sequence[int], sale_ids: Sequence[int],
                   items: dict[int, FlashSaleItem]) -> tuple[_Tally, dict[tuple[int, str], Order], set[str]]:
    """In one statement, read after the locks (so it sees every order committed before them): what the guards
    count (`_Tally`), the orders placed before with the buys' idempotency keys, and which of the buys' random order
    numbers were drawn before (at a flash sale's pace, six random digits a minute meet again; a collision found
    here costs that buy another draw, where one found by the INSERT costs the batch a write of each buy alone)."""
    keyed = [a for a in batch if a.idempotency_key]
    p = raw_sql.Params()
    pending = limits.pending_by_customer_sql(p, customer_ids)
    units = sales.units_by_customer_sql(p, sale_ids, customer_ids)
    table = Order._meta.db_table
    numbered = raw_sql.looked_up(p, table, "o", {"number": ("VARCHAR", sorted({a.number for a in batch}))})
    earlier = 'SELECT \'e\', o."id", o."customer_id", 0, o."number", o."idempotency_key" FROM '
    sql = (f'SELECT \'p\' AS "k", "customer_id" AS "a", NULL AS "b", "held" AS "n", NULL AS "t", NULL AS "u" '
           f'FROM ({pending}) AS pending '
           f'UNION ALL SELECT \'u\', "sale_id", "customer_id", "units", NULL, NULL FROM ({units}) AS units '
           f'UNION ALL {earlier}{numbered}')
    if keyed:
        pairs = sorted({(a.customer_id, str(a.idempotency_key)) for a in keyed})
        sql += f' UNION ALL {earlier}{limits.keyed_sql(p, pairs)}'
    tally = _Tally({}, {}, {item_id: item.taken for item_id, item in items.items()}, {})
    numbers = {a.number for a in batch}
    wanted = {(a.customer_id, str(a.idempotency_key)) for a in keyed}
    taken: set[str] = set()
    replayed: list[int] = []
    for row in await raw_sql.fetch(sql, *p):
        if row["k"] == "p":
            tally.pending[int(row["a"])] = int(row["n"])
        elif row["k"] == "u":
            tally.units[(int(row["a"]), int(row["b"]))] = int(row["n"])
        else:
            if row["t"] in numbers:
                taken.add(row["t"])
            if (int(row["b"]), row["u"]) in wanted:
                replayed.append(int(row["a"]))
    found: dict[tuple[int, str], Order] = {}
    if replayed:  # a double tap: its twin's order, read whole
        p = raw_sql.Params()
        for order in await raw_sql.select(Order, f't."id" {raw_sql.among(p, replayed)}', p):
            found[(order.customer_id, str(order.idempotency_key))] = order
    return tally, found, taken


async def _quotes(batch: Sequence[Admitted], locked: _Locked, now: datetime) -> list[engine.Quote]:
    """Each buy priced as of now from the rows as they are (the SKUs with their products, the items under lock, the
    live discounts): line prices only, a flash sale order takes no order-level promotions."""
    return await engine.quotes([([(locked.skus[a.item.sku_id], a.quantity)],
                                 {a.item.sku_id: [sales.price_source(locked.items[a.item.id])]}, a.customer_id)
                                for a in batch], now)


async def _refused(admitted: Admitted, quote: engine.Quote, sale: FlashSale, item: FlashSaleItem, tally: _Tally,
                   now: datetime) -> DomainError | None:
    """The buy's refusal by the database, or None (then the tally counts it)."""
    state = sales.status(sale, now)
    if sale.settled_at is not None or state is sales.FlashSaleStatus.ENDED:
        return refused(Take.ENDED)
    if state is sales.FlashSaleStatus.SCHEDULED:
        return refused(Take.NOT_STARTED)
    customer_id, quantity = admitted.customer_id, admitted.quantity
    over = limits.over_pending(tally.pending.get(customer_id, 0), admitted.deps.max_pending_orders)
    if over is not None:
        return over
    units = tally.units.get((sale.id, customer_id), 0)
    if units + quantity > sale.per_customer_limit:
        return refused(Take.LIMIT_EXCEEDED)
    if tally.taken[item.id] + quantity > item.quantity:
        return refused(Take.SOLD_OUT)
    discounted = quote.units_by_source(engine.DISCOUNT)
    if discounted:
        # The batch's earlier buys by this customer are not written yet: counted here.
        with_batch = {d: n + tally.discounted.get((customer_id, d), 0) for d, n in discounted.items()}
        try:
            await discounts.check_limits(customer_id, with_batch)
        except DomainError as exc:
            return exc
        for discount_id, n in discounted.items():
            tally.discounted[(customer_id, discount_id)] = tally.discounted.get((customer_id, discount_id), 0) + n
    tally.pending[customer_id] = tally.pending.get(customer_id, 0) + 1
    tally.units[(sale.id, customer_id)] = units + quantity
    tally.taken[item.id] += quantity
    return None


def _order(admitted: Admitted, quote: engine.Quote) -> Order:
    window = flash_policy(admitted.deps).payment_window(admitted.deps)
    return raw_sql.new(
        Order, number=admitted.number, customer_id=admitted.customer_id, kind=OrderKind.FLASH_SALE,
        subtotal=quote.subtotal, discount_total=quote.discount_total, payable=quote.total,
        delivery=admitted.delivery, pickup_point_id=admitted.pickup_point_id, remark=admitted.remark.strip(),
        idempotency_key=admitted.idempotency_key, expires_at=admitted.admitted_at + window,
    )


async def _insert(accepted: Sequence[tuple[int, Admitted, Order, engine.Quote]], tally: _Tally,
                  items: dict[int, FlashSaleItem]) -> None:
    """The accepted buys' orders (their primary keys set), lines and flash reservations, and the items' `taken`
    raised under the database's oversell guard: one data-modifying statement on PostgreSQL, four on SQLite."""
    if not accepted:
        return
    orders = [order for _, _, order, _ in accepted]
    more = {item_id: taken - items[item_id].taken for item_id, taken in sorted(tally.taken.items())
            if taken != items[item_id].taken}
    lines = [(order, order_line(order, priced)) for _, _, order, quote in accepted for priced in quote.lines]
    reservations = [(order, raw_sql.new(Reservation, sku_id=admitted.item.sku_id, quantity=admitted.quantity,
                                        flash_item_id=admitted.item.id)) for _, admitted, order, _ in accepted]
    if raw_sql.postgres():
        raised = await _insert_together(orders, lines, reservations, more)
    else:
        await raw_sql.insert_returning(orders, key="number")
        for order, row in [*lines, *reservations]:
            row.order_id = order.id
        await raw_sql.insert([line for _, line in lines])
        await raw_sql.insert([reservation for _, reservation in reservations])
        p = raw_sql.Params()
        raised = len(await raw_sql.fetch(sales.take_from_pools_sql(p, more), *p))
    if raised != len(more):
        raise RuntimeError(f"flash items {sorted(more)} changed under their lock")


async def _insert_together(orders: Sequence[Order], lines: Sequence[tuple[Order, OrderLine]],
                           reservations: Sequence[tuple[Order, Reservation]], more: dict[int, int]) -> int:
    """PostgreSQL: `_insert` in one statement whose text is the same whatever the batch's size (one array a column):
    the lines and reservations join their orders by number. Answers how many items `taken` was raised for."""
    p = raw_sql.Params()
    order_columns, order_rows = raw_sql.unnest(p, orders)

    def under_their_orders(alias: str, rows: Sequence[tuple[Order, Model]]) -> str:
        columns, source = raw_sql.unnest(p, [row for _, row in rows], leave_out=["order_id"],
                                         extra={"order_number": ("VARCHAR", [order.number for order, _ in rows])})
        named = ", ".join(f'"{column}"' for column in columns)
        table = type(rows[0][1])._meta.db_table
        return (f'{alias} AS (INSERT INTO "{table}" ({named}, "order_id") SELECT {named}, o."id" FROM {source} '
                f'JOIN o ON o."number" = u."order_number")')

    named = ", ".join(f'"{column}"' for column in order_columns)
    sql = (f'WITH o AS (INSERT INTO "{Order._meta.db_table}" ({named}) SELECT {named} FROM {order_rows} '
           f'RETURNING "id", "number"), {under_their_orders("l", lines)}, '
           f'{under_their_orders("r", reservations)}, t AS ({sales.take_from_pools_sql(p, more)}) '
           'SELECT "id", "number", (SELECT COUNT(*) FROM t) AS "raised" FROM o')
    rows = await raw_sql.fetch(sql, *p)
    ids = {row["number"]: row["id"] for row in rows}
    for order in orders:
        order.pk = ids[order.number]
        order._saved_in_db = True
    for order, row in [*lines, *reservations]:
        row.order_id = order.id
    return int(rows[0]["raised"]) if rows else 0
