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
_PENDING_OR_KEYED = (
    f"SELECT status, kind, idempotency_key FROM {Order._meta.db_table} WHERE customer_id = $1 AND "
    f"(({_PENDING_SQL}) OR idempotency_key = $2)"
)


def pending_sql(params: raw_sql.Params, customer_id: int) -> str:
    """`pending_orders` as an SQL expression, to be asked inside another statement."""
    return f"(SELECT COUNT(*) FROM {Order._meta.db_table} WHERE customer_id = {params(customer_id)} AND {_PENDING_SQL})"


async def pending_and_keyed(customer_id: int, idempotency_key: str | None) -> tuple[int, bool]:
    """In one query (on a flash sale buy's hot path, so raw SQL): `pending_orders`, and whether the customer has an
    order with this idempotency key."""
    rows = await raw_sql.fetch(_PENDING_OR_KEYED, customer_id, idempotency_key or "")
    held = sum(1 for row in rows if row["status"] == OrderStatus.PENDING_PAYMENT and row["kind"] in HOLDING_KINDS)
    keyed = bool(idempotency_key) and any(row["idempotency_key"] == idempotency_key for row in rows)
    return held, keyed


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
