"""Raw SQL through Tortoise's connection, for the few statements on a measured hot path that the ORM cannot say in
one round trip (`UPDATE … RETURNING`, `INSERT … ON CONFLICT DO NOTHING RETURNING`).

Statements are written with PostgreSQL's `$1, $2 …` placeholders, each used once and in order; on SQLite (3.35 and
later have both clauses) they become `?`. Inside `in_transaction()` the connection is the transaction's. Values
that need the database's own form (datetimes) go through their model field's `to_db_value` (`db_value`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import deepcopy
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

_PLACEHOLDER = re.compile(r"\$\d+")


class Params(list[object]):
    """The parameters of a statement built in pieces: `params(value)` adds one and answers its placeholder, so each
    is used once and in order (`fetch(sql, *params)`)."""

    def __call__(self, value: object) -> str:
        self.append(value)
        return f"${len(self)}"


def postgres() -> bool:
    """Whether the default connection is PostgreSQL (else SQLite): for the statements only PostgreSQL can say in one
    round trip (data-modifying WITH, row locks), written side by side with SQLite's."""
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def fetch(sql: str, *params: object) -> list[dict[str, Any]]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        sql = _PLACEHOLDER.sub("?", sql)
    rows: list[dict[str, Any]] = await connection.execute_query_dict(sql, list(params))  # not execute_query: it
    return rows  # drops what RETURNING answers


def columns(model: type[Model], alias: str) -> str:
    """Every column of `model` from the table aliased `alias`, each named `<alias>.<column>` in the answer (so one
    statement can read the rows of several models: `from_row`)."""
    names = model._meta.fields_db_projection.values()
    return ", ".join(f'{alias}."{column}" AS "{alias}.{column}"' for column in names)


M = TypeVar("M", bound=Model)


def from_row(model: type[M], row: dict[str, Any], alias: str) -> M:
    """The instance of `model` whose columns `columns(model, alias)` read into `row`, as the ORM would build it."""
    start = len(alias) + 1
    return model._init_from_db(**{key[start:]: value for key, value in row.items() if key.startswith(f"{alias}.")})


def new(model: type[M], **values: object) -> M:
    """`model(**values)` for a hot path that builds many: the same instance (the same attributes, each value through
    its field's `to_python_value`, the fields' defaults for the rest), without the ORM's per-field `__setattr__`
    and default lookups (an `Order` costs about a fifth). Fields only, by name (`customer_id`, not `customer`)."""
    meta = model._meta
    instance = model.__new__(model)
    state = instance.__dict__
    state.update(_partial=False, _saved_in_db=False, _custom_generated_pk=False, _await_when_save={})
    for name, value in values.items():
        field = meta.fields_map[name]
        if name not in meta.fields_db_projection:
            raise TypeError(f"{model.__name__}.{name} is not a column: pass its id")
        if value is None and not field.null:
            raise ValueError(f"{name} is non nullable field, but null was passed")
        state[name] = field.to_python_value(value)
    for name, default in _defaults(model):
        if name not in values:
            state[name] = default()
    return instance


@cache
def _defaults(model: type[Model]) -> tuple[tuple[str, Callable[[], object]], ...]:
    """Each column's default as `Model.__init__` gives it, as a function to call per instance."""
    meta = model._meta
    defaults: list[tuple[str, Callable[[], object]]] = []
    for name in meta.fields_db_projection:
        field = meta.fields_map[name]
        default = field.default
        if inspect.iscoroutinefunction(default):
            raise TypeError(f"{model.__name__}.{name}: an awaited default is not supported by raw_sql.new")
        if callable(default):
            defaults.append((name, default))
        elif default is not None:
            immutable = isinstance(default, (int, float, str, bool, bytes))
            defaults.append((name, _constant(default) if immutable else _copied(default)))
        elif field.has_db_default():
            defaults.append((name, field.get_db_default_value))
        else:
            defaults.append((name, _constant(None)))
    return tuple(defaults)


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


def _copied(value: object) -> Callable[[], object]:
    return lambda: deepcopy(value)


def db_value(model: type[Model], field: str, value: datetime) -> object:
    """`value` as the ORM would store it in `model.field` on this database."""
    return model._meta.fields_map[field].to_db_value(value, model)


async def update(model: type[Model], changes: Mapping[str, object], **where: object) -> int:
    """`model.filter(**where).update(**changes)` (equalities only) without the ORM's query building: the rows
    changed. Values go through the fields' `to_db_value`, as the ORM sends them."""
    meta, params = model._meta, Params()

    def assigned(name: str, value: object) -> str:
        return f'"{meta.fields_db_projection[name]}" = {params(meta.fields_map[name].to_db_value(value, model))}'

    sets = ", ".join(assigned(name, value) for name, value in changes.items())
    conditions = " AND ".join(assigned(name, value) for name, value in where.items())
    return len(await fetch(f'UPDATE "{meta.db_table}" SET {sets} WHERE {conditions} RETURNING 1', *params))


async def one_at_a_time(key: int) -> None:
    """Inside a transaction: wait until no other transaction holding `key` is open, and hold it until this one ends
    (PostgreSQL's transaction-level advisory lock). SQLite runs one write transaction at a time already."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [key])


async def one_snapshot() -> None:
    """First thing inside a transaction that only reads: every statement of it sees the database as it was when the
    first one ran (PostgreSQL's REPEATABLE READ), so writes landing meanwhile never show as a half-done change. A
    SQLite read transaction sees one snapshot already."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


async def insert_returning(instances: Sequence[Model], key: str) -> None:
    """Insert new rows of one model in one multi-row statement and set each instance's primary key, matched by `key`
    (a unique column the caller set: SQLite answers RETURNING in no promised order). Values go through the fields'
    `to_db_value`, as `save` would send them (auto_now_add and auto_now set here)."""
    if not instances:
        return
    meta = type(instances[0])._meta
    insert, params = _insert(instances)
    key_column = meta.fields_db_projection[key]
    sql = f'{insert} RETURNING "{meta.db_pk_column}" AS pk, "{key_column}" AS key'
    ids = {row["key"]: row["pk"] for row in await fetch(sql, *params)}
    for instance in instances:
        instance.pk = ids[getattr(instance, key)]
        instance._saved_in_db = True


async def insert(instances: Sequence[Model]) -> None:
    """`insert_returning` for rows whose keys nobody reads back (the instances keep no primary key)."""
    if instances:
        sql, params = _insert(instances)
        await fetch(sql, *params)


def _insert(instances: Sequence[Model]) -> tuple[str, list[object]]:
    model = type(instances[0])
    meta = model._meta
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    params: list[object] = []
    rows = []
    for instance in instances:
        start = len(params)
        params += [meta.fields_map[name].to_db_value(getattr(instance, name), instance) for name in names]
        rows.append("(" + ", ".join(f"${start + i + 1}" for i in range(len(names))) + ")")
    return f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(rows)}', params


def among(params: Params, values: Iterable[object]) -> str:
    """`= ANY($n)` on PostgreSQL (one parameter: the statement's text is the same however many values, so asyncpg
    prepares it once), `IN (?, ?, …)` on SQLite: a column's condition, `f'"id" {among(p, ids)}'`."""
    if postgres():
        return f"= ANY({params(list(values))})"
    return "IN (" + ", ".join(params(value) for value in values) + ")"


def looked_up(params: Params, table: str, alias: str, keys: Mapping[str, tuple[str, Sequence[object]]]) -> str:
    """A FROM item: the rows of `table`, aliased `alias`, whose columns equal one of the given rows of keys
    (column → (PostgreSQL type, one value a row), all of one length, at least one row). PostgreSQL looks each row of
    keys up through the table's index on those columns whatever the statistics say (one `LATERAL` look-up a row, the
    statement's text the same however many rows): `"number" = ANY($1)`, or an OR of such arrays, may read the whole
    table while it is young or unanalysed. SQLite joins a `VALUES` list."""
    names = list(keys)
    rows = list(zip(*(values for _, values in keys.values()), strict=True))
    if postgres():
        arrays = ", ".join(f"{params(list(values))}::{sql_type}[]" for sql_type, values in keys.values())
        quoted = ", ".join(f'"{name}"' for name in names)
        match = " AND ".join(f'"{name}" = k."{name}"' for name in names)
        return (f'unnest({arrays}) AS k({quoted}) CROSS JOIN LATERAL (SELECT * FROM "{table}" WHERE {match}) '
                f'AS {alias}')
    values = ", ".join("(" + ", ".join(params(value) for value in row) + ")" for row in rows)
    match = " AND ".join(f'{alias}."{name}" = k.column{i + 1}' for i, name in enumerate(names))
    return f'"{table}" AS {alias} JOIN (VALUES {values}) AS k ON {match}'


def ids_table(params: Params, ids: Sequence[int], alias: str) -> str:
    """PostgreSQL only: `ids` as a table `alias("id")` (one array parameter), to drive a `LATERAL` look-up per id
    through an index whatever the statistics say."""
    return f'unnest({params(list(ids))}::INT[]) AS {alias}("id")'


def unnest(params: Params, instances: Sequence[Model], leave_out: Iterable[str] = (),
           extra: Mapping[str, tuple[str, Sequence[object]]] | None = None) -> tuple[list[str], str]:
    """PostgreSQL only: the rows of new `instances` of one model as a table, one array parameter a column, for
    `INSERT … SELECT … FROM` (a statement whose text is the same however many rows). Answers the columns and
    `unnest($1::T[], …) AS u(…)`. Values go through the fields' `to_db_value`, as `insert` sends them. `leave_out`:
    fields the statement fills itself; `extra`: columns of `u` that are no field of the model, name → (PostgreSQL
    type, one value a row), to join on (left out of the columns answered)."""
    meta = type(instances[0])._meta
    skipped = set(leave_out)
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated and name not in skipped]
    arrays: list[str] = []
    for name in names:
        field = meta.fields_map[name]
        sql_type = _BASE_TYPE.sub("", field.get_for_dialect("postgres", "SQL_TYPE"))
        arrays.append(f"{params([field.to_db_value(getattr(i, name), i) for i in instances])}::{sql_type}[]")
    columns = [meta.fields_db_projection[name] for name in names]
    for column, (sql_type, values) in (extra or {}).items():
        arrays.append(f"{params(list(values))}::{sql_type}[]")
        columns.append(column)
    quoted = ", ".join(f'"{column}"' for column in columns)
    return columns[:len(names)], f"unnest({', '.join(arrays)}) AS u({quoted})"


_BASE_TYPE = re.compile(r"\(\d+(?:,\s*\d+)?\)")


async def select(model: type[M], where: str, params: Sequence[object]) -> list[M]:
    """The instances of `model` (its table aliased `t`) matching `where`, in id order, as the ORM builds them."""
    sql = f'SELECT {columns(model, "t")} FROM "{model._meta.db_table}" t WHERE {where} ORDER BY t."id"'
    return [from_row(model, row, "t") for row in await fetch(sql, *params)]
