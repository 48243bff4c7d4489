"""One column of a query's rows, typed.

tortoise-orm 1.x annotates `values_list(name, flat=True)` as tuples, though it returns the bare values; these two
helpers say what the column holds, so callers are checked against the real type instead of ignoring the checker.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from tortoise.queryset import QuerySet, QuerySetSingle

T = TypeVar("T")


async def column(query: QuerySet[Any], name: str, kind: type[T]) -> list[T]:
    """`name` of every row `query` selects, in its order; `kind` is the column's Python type."""
    return cast(list[T], await query.values_list(name, flat=True))


async def cell(query: QuerySetSingle[Any], name: str, kind: type[T]) -> T | None:
    """`name` of the one row `query` selects, or None when there is none (or the column is null)."""
    return cast(T | None, await query.values_list(name, flat=True))
