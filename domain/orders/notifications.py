"""WeChat Pay notifications we handled, by their id: a replay is recognised, and the record keeps what one changed.

A payment's notification is recorded inside the transaction that settles its payment (`payment.settle_payment`),
whose first statement also asks whether it was seen (`seen_sql`); every other notification is asked about (`seen`)
and recorded (`record`) around its handling by the endpoint (`payments.notify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain import raw_sql
from domain.orders.models import PaymentNotification

CRASHING = "crashing"
"""The outcome of a notification whose handling crashed and that is still retried: not yet handled."""
GIVEN_UP = "given_up"
DUPLICATE = "duplicate"
"""What a notification changed when another copy (or a query) had already settled its payment: nothing."""
_MAX = {name: PaymentNotification._meta.fields_map[name].max_length  # type: ignore[attr-defined]
        for name in ("event_type", "reference", "outcome")}
_TABLE = PaymentNotification._meta.db_table


@dataclass(frozen=True)
class Notice:
    """A verified notification being handled: its id and event type."""

    id: str
    event_type: str


async def seen(ident: str) -> bool:
    """Whether the notification was handled already (a crashing one is still to be handled)."""
    return await PaymentNotification.filter(notification_id=ident).exclude(outcome=CRASHING).exists()


def seen_sql(params: raw_sql.Params, ident: str) -> str:
    """`seen` as an SQL condition, to be asked inside another statement."""
    return (f'EXISTS (SELECT 1 FROM "{_TABLE}" WHERE "notification_id" = {params(ident)} '
            f'AND "outcome" <> {params(CRASHING)})')


async def record(notice: Notice, reference: str, outcome: str) -> None:
    """Remember the notification (one statement, fine inside a transaction). A copy recorded first (concurrently, or
    one that crashed) is replaced only by a record that says more: a crashing one by anything, a duplicate by what
    changed."""
    p = raw_sql.Params()
    await raw_sql.fetch(record_sql(p, notice, reference, outcome), *p)


def record_sql(params: raw_sql.Params, notice: Notice, reference: str, outcome: str, rows: str | None = None) -> str:
    """`record` as a statement, to be one part of another (a data-modifying WITH): with `rows`, only if that
    relation has a row."""
    replaceable = (CRASHING, CRASHING) if outcome == DUPLICATE else (DUPLICATE, CRASHING)
    p = params
    return (f'INSERT INTO "{_TABLE}" ("notification_id", "event_type", "reference", "outcome", "failures", '
            f'"created_at") SELECT {p(notice.id)}, {p(notice.event_type[:_MAX["event_type"]])}, '
            f'{p(reference[:_MAX["reference"]])}, {p(outcome[:_MAX["outcome"]])}, 0, '
            f'{p(raw_sql.db_value(PaymentNotification, "created_at", datetime.now(UTC)))}'
            f'{f" FROM {rows}" if rows else ""} WHERE 1 = 1 '  # SQLite: an upsert's SELECT needs a WHERE
            f'ON CONFLICT ("notification_id") DO UPDATE SET "event_type" = excluded."event_type", '
            f'"reference" = excluded."reference", "outcome" = excluded."outcome" '
            f'WHERE "{_TABLE}"."outcome" IN ({p(replaceable[0])}, {p(replaceable[1])})')


async def correct(notice: Notice, outcome: str) -> None:
    """Inside the transaction whose own statement recorded the notification (`record_sql`, which it saw write the
    row) with the outcome it expected: what it did instead. Never for a record another copy wrote."""
    await raw_sql.fetch(f'UPDATE "{_TABLE}" SET "outcome" = $1 WHERE "notification_id" = $2',
                        outcome[:_MAX["outcome"]], notice.id)
