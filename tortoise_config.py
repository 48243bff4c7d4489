"""For the `tortoise` CLI only (makemigrations): `tortoise -c tortoise_config.TORTOISE_ORM makemigrations`."""

import os

from domain.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("POND_DATABASE_URL", "sqlite://pond.sqlite3"))
