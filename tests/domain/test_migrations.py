"""The database schema comes from migrations, and the migrations describe exactly the models."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from domain.db import MIGRATIONS_MODULE, tortoise_config


async def test_models_and_migrations_agree(db, backend):
    apps = {"models": tortoise_config(backend.database_url)["apps"]["models"]}
    detector = MigrationAutodetector(Tortoise.apps, apps)
    hint = "models changed: run `tortoise -c tortoise_config.TORTOISE_ORM makemigrations`"
    assert await detector.changes() == [], hint


async def test_tables_were_built_by_the_migration_recorder(db):
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query("SELECT app, name FROM tortoise_migrations ORDER BY name")
    names = [row["name"] for row in rows]
    assert names and names[0] == "0001_initial"
    assert MIGRATIONS_MODULE == "domain.migrations"


def test_no_comment_contains_a_semicolon():
    """Tortoise's SQLite migration runner splits statements on ';', even inside column and table comments."""
    models = list(Tortoise.apps.get_models_iterable())
    offenders = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model._meta.fields_map.items()
        if ";" in (field.description or "")
    ]
    offenders += [model.__name__ for model in models if ";" in (model._meta.table_description or "")]
    assert offenders == []


async def _indexed_columns(connection, table: str) -> set[str]:
    """The first column of every index on a table, on either database."""
    if connection.capabilities.dialect == "sqlite":
        _, indexes = await connection.execute_query(f"PRAGMA index_list('{table}')")
        columns: set[str] = set()
        for index in indexes:
            _, info = await connection.execute_query(f"PRAGMA index_info('{index['name']}')")
            columns.update(row["name"] for row in info if row["seqno"] == 0)
        return columns
    _, rows = await connection.execute_query(
        "SELECT a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] WHERE t.relname = $1", [table])
    return {row["attname"] for row in rows}


async def test_every_field_asking_for_an_index_has_one(db):
    connection = Tortoise.get_connection("default")
    missing = []
    for model in Tortoise.apps.get_models_iterable():
        table = model._meta.db_table
        indexed = await _indexed_columns(connection, table)
        for name, field in model._meta.fields_map.items():
            column = field.source_field or name
            if field.index and not field.pk and column not in indexed:  # a SQLite rowid key lists no index
                missing.append(f"{table}.{column}")
    assert missing == []
