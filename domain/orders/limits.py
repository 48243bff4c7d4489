"""How much one customer may hold at once: nobody hoards stock with orders they never pay."""

from __future__ import annotations

from collections.abc import Sequence

from domain import raw_sql
from domain.errors import DomainError, ErrorCode
from domain.orders.models import Order, OrderKind, OrderStatus

#: Order kinds whose unpaid orders hold stock (a recharge holds none).
HOLDING_KINDS = [kind for kind in OrderKind if kind is not OrderKind.RECHARGE]


async def pending_orders(customer_id: int) -> int:
    return await Order.filter(
        customer_id=customer_id, status=OrderStatus.PENDING_PAYMENT, kind__in=HOLDING_KINDS
    ).count()


_HOLDING_SQL = ", ".join(f"'{kind.value}'" for kind in HOLDING_KINDS)
_PENDING_SQL = f"status = '{OrderStatus.PENDING_PAYMENT.value}' AND kind IN ({_HOLDING_SQL})"


def pending_sql(params: raw_sql.Params, customer_id: int) -> str:
    """`pending_orders` as an SQL expression, to be asked inside another statement."""
    return f"(SELECT COUNT(*) FROM {Order._meta.db_table} WHERE customer_id = {params(customer_id)} AND {_PENDING_SQL})"


async def pending_and_keyed(asked: Sequence[tuple[int, str | None]]) -> tuple[dict[int, int], set[tuple[int, str]]]:
    """For many (customer, idempotency key) pairs in one statement (flash sale buys admitted together, so raw SQL):
    each customer's `pending_orders` (customers holding none left out), and the pairs whose customer has an order
    with that key."""
    keyed = sorted({(customer_id, key) for customer_id, key in asked if key})
    p = raw_sql.Params()
    sql = (f'SELECT customer_id AS "c", held AS "n", NULL AS "k" '
           f'FROM ({pending_by_customer_sql(p, sorted({customer_id for customer_id, _ in asked}))}) AS pending')
    if keyed:
        sql += f' UNION ALL SELECT o."customer_id", 0, o."idempotency_key" FROM {keyed_sql(p, keyed)}'
    held: dict[int, int] = {}
    found: set[tuple[int, str]] = set()
    for row in await raw_sql.fetch(sql, *p):
        if row["k"] is None:
            held[int(row["c"])] = int(row["n"])
        else:
            found.add((int(row["c"]), row["k"]))
    return held, found


def keyed_sql(params: raw_sql.Params, keyed: Sequence[tuple[int, str]]) -> str:
    """A FROM item: the orders (aliased `o`) placed under these (customer, idempotency key) pairs."""
    return raw_sql.looked_up(params, Order._meta.db_table, "o", {
        "customer_id": ("INT", [customer_id for customer_id, _ in keyed]),
        "idempotency_key": ("VARCHAR", [key for _, key in keyed]),
    })


def pending_by_customer_sql(params: raw_sql.Params, customer_ids: Sequence[int]) -> str:
    """`pending_orders` of many customers as one SELECT of (customer_id, held), to be read inside another statement
    (customers holding none are left out).

    PostgreSQL counts each customer's orders through the index led by `customer_id`, whatever the statistics say:
    a table a flash sale fills faster than it is analysed looks to the planner as if few orders were unpaid, and it
    would read every unpaid order through the status index (about 1 ms at 3,000). So the count runs once a customer
    (`LATERAL`) and the status test is kept out of index matching (`(…) IS TRUE`)."""
    table = Order._meta.db_table
    if raw_sql.postgres():
        return (f'SELECT c."id" AS customer_id, p.held FROM {raw_sql.ids_table(params, customer_ids, "c")} '
                f'CROSS JOIN LATERAL (SELECT COUNT(*) AS held FROM {table} o WHERE o.customer_id = c."id" '
                f'AND ({_PENDING_SQL}) IS TRUE) AS p WHERE p.held > 0')
    return (f'SELECT customer_id, COUNT(*) AS held FROM {table} '
            f'WHERE customer_id {raw_sql.among(params, customer_ids)} AND {_PENDING_SQL} GROUP BY customer_id')


def over_pending(held: int, limit: int) -> DomainError | None:
    """The refusal of one more unpaid order for a customer who holds `held`, or None."""
    if held < limit:
        return None
    return DomainError(
        ErrorCode.LIMIT_EXCEEDED,
        f"you have {held} unpaid orders, the most one customer may hold: pay or cancel one first",
    )


async def check_pending(customer_id: int, limit: int) -> None:
    """LIMIT_EXCEEDED when the customer already holds `limit` unpaid orders. Race-free only inside the order's
    transaction with the customer's row locked (`checkout.earlier_tap`), so concurrent checkouts count one by one."""
    refused = over_pending(await pending_orders(customer_id), limit)
    if refused is not None:
        raise refused
