"""Writing a placed order's rows in as few statements as the database allows, inside the order's transaction.

`lock_customer` comes first: the customer's row locked, so a concurrent tap with the same idempotency key, and any
other checkout of the customer, waits for this one. `write` then inserts the order only if the customer has no
order with its idempotency key and holds fewer unpaid orders than the cap (`limits`), asked in the same statement:
a statement that starts after the lock is granted sees every order the transactions before it committed (asked in
the locking statement itself, they would be read as of before the wait). On PostgreSQL the order's lines and its
first trade go in that same statement; SQLite takes one statement each.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.models import Model

from domain import raw_sql
from domain.errors import NotFound
from domain.identity.models import Customer
from domain.orders import limits
from domain.orders.models import Order, OrderLine, Payment

_ORDERS = Order._meta.db_table


async def lock_customer(customer_id: int) -> str:
    """Inside the order's transaction, first: lock the customer's row; returns their openid."""
    sql = f'SELECT "openid" FROM "{Customer._meta.db_table}" WHERE "id" = $1'
    rows = await raw_sql.fetch(sql + " FOR NO KEY UPDATE" if raw_sql.postgres() else sql, customer_id)
    if not rows:
        raise NotFound("customer")
    return str(rows[0]["openid"])


async def write(order: Order, lines: Sequence[OrderLine], trade: Payment | None, pending_cap: int) -> bool:
    """Insert the order, its lines and (if given) its first trade, unless the customer has an order with the order's
    idempotency key or already holds `pending_cap` unpaid orders: then nothing is written and False returned. Sets
    the primary keys of the order and the trade."""
    p = raw_sql.Params()
    columns, values = _row(order, p)
    guarded = (f'INSERT INTO "{_ORDERS}" ({columns}) SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM "{_ORDERS}" '
               f'WHERE "customer_id" = {p(order.customer_id)} AND "idempotency_key" = {p(order.idempotency_key)}) '
               f'AND {limits.pending_sql(p, order.customer_id)} < {p(pending_cap)} RETURNING "id"')
    if raw_sql.postgres():
        parts = [f"o AS ({guarded})"]
        written = "o"
        for index, line in enumerate(lines):  # each line after the one before: their ids in the lines' order
            parts.append(f'l{index} AS ({_insert_for(line, p, written)} RETURNING "order_id" AS "id")')
            written = f"l{index}"
        if trade is not None:
            parts.append(f't AS ({_insert_for(trade, p, "o")} RETURNING "id")')
        trade_id = '(SELECT "id" FROM t)' if trade is not None else "NULL"
        rows = await raw_sql.fetch(f'WITH {", ".join(parts)} SELECT "id", {trade_id} AS "trade_id" FROM o', *p)
        if not rows:
            return False
        _saved(order, rows[0]["id"], lines, trade)
        if trade is not None:
            trade.pk = rows[0]["trade_id"]
        return True
    rows = await raw_sql.fetch(guarded, *p)
    if not rows:
        return False
    _saved(order, rows[0]["id"], lines, trade)
    p = raw_sql.Params()
    rendered = [_row(line, p) for line in lines]
    await raw_sql.fetch(f'INSERT INTO "{OrderLine._meta.db_table}" ({rendered[0][0]}) '
                        f'VALUES {", ".join(f"({values})" for _, values in rendered)}', *p)
    if trade is not None:
        p = raw_sql.Params()
        columns, values = _row(trade, p)
        [row] = await raw_sql.fetch(f'INSERT INTO "{Payment._meta.db_table}" ({columns}) VALUES ({values}) '
                                    'RETURNING "id"', *p)
        trade.pk = row["id"]
    return True


def _row(instance: Model, p: raw_sql.Params, skip: tuple[str, ...] = ()) -> tuple[str, str]:
    """The instance's columns and their placeholders, its values as `save` would write them."""
    meta = instance._meta
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated and name not in skip]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    values = ", ".join(p(meta.fields_map[name].to_db_value(getattr(instance, name), instance)) for name in names)
    return columns, values


def _insert_for(instance: Model, p: raw_sql.Params, written: str) -> str:
    """PostgreSQL: insert a row of the order that the statement's `o` wrote (none if it wrote nothing), its id read
    from `written` (`o`, or a row inserted for it before). The values take their types from the columns they go to
    (INSERT … SELECT), which VALUES in a FROM would not."""
    columns, values = _row(instance, p, skip=("order_id",))
    return (f'INSERT INTO "{instance._meta.db_table}" ("order_id", {columns}) '
            f'SELECT {written}."id", {values} FROM {written}')


def _saved(order: Order, pk: int, lines: Sequence[OrderLine], trade: Payment | None) -> None:
    """The order is written (with its id): its lines and trade name it."""
    order.pk = pk
    order._saved_in_db = True
    for line in lines:
        line.order_id = pk
    if trade is not None:
        trade.order_id = pk
        trade._saved_in_db = True
