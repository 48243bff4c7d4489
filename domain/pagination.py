"""Keyset pagination over ordered querysets: stable cursors however the table grows."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from domain.errors import Invalid

M = TypeVar("M", bound=Model)
T = TypeVar("T")
N = TypeVar("N")
MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]

    def map(self, convert: Callable[[T], N]) -> Page[N]:
        """The same page with each item converted (e.g. a ledger row into what the API shows of it)."""
        return Page([convert(item) for item in self.items], self.cursors, self.has_next, self.has_previous, self.count)


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeError):
        raise Invalid("malformed cursor", ["after"]) from None
    if not isinstance(values, list) or len(values) != width:
        raise Invalid("malformed cursor", ["after"])
    if not all(isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31 for v in values):
        raise Invalid("malformed cursor", ["after"])
    return values


def _after(order: Sequence[str], values: Sequence[Any], descending: bool) -> Q:
    """(a, b, c) > (x, y, z) written as OR of prefixes, which every database understands."""
    compare = "lt" if descending else "gt"
    clauses = []
    for i, name in enumerate(order):
        equal = {f: v for f, v in zip(order[:i], values[:i], strict=True)}
        clauses.append(Q(**equal, **{f"{name}__{compare}": values[i]}))
    return Q(*clauses, join_type=Q.OR)


async def paginate(
    query: QuerySet[M], order: Sequence[str], first: int | None, after: str | None, *, descending: bool = False
) -> Page[M]:
    """Keyset pagination on integer columns `order` (the last one unique, e.g. id)."""
    limit = DEFAULT_PAGE if first is None else first
    if not 0 <= limit <= MAX_PAGE:
        raise Invalid(f"first must be between 0 and {MAX_PAGE}", ["first"])
    page_query = query
    if after:
        page_query = query.filter(_after(order, decode_cursor(after, len(order)), descending))
    rows = await page_query.order_by(*(f"-{name}" if descending else name for name in order)).limit(limit + 1)
    items = rows[:limit]
    cursors = [encode_cursor([getattr(row, name) for name in order]) for row in items]
    return Page(items=items, cursors=cursors, has_next=len(rows) > limit, has_previous=bool(after), count=query.count)
