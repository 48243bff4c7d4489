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
