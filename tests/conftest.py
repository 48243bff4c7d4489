"""Every test that touches storage runs twice: on the embedded backends and on real PostgreSQL + Redis.

`backend` is session-scoped and parametrized, so pytest runs the whole embedded half, then the real half.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from tortoise.contrib.test import truncate_all_models

from app import create_app
from domain.flash_sale.policy import flash_policy
from domain.flash_sale.pool import MemoryFlashPool
from domain.flash_sale.redis_pool import RedisFlashPool
from domain.group_buy.policy import group_buy_policy
from domain.group_buy.seats import MemorySeatStore
from domain.inventory.memory_counter import MemoryStockCounter
from server.observability import RequestIdMiddleware
from server.settings import Settings
from tests.support import backends
from tests.support.backends import Backend
from tests.support.graphql import GraphQLClient

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.audit",
    "tests.fixtures.catalog",
    "tests.fixtures.clock",
    "tests.fixtures.cart",
    "tests.fixtures.orders_paid",
    "tests.fixtures.orders",
    "tests.fixtures.flash_sales",
    "tests.fixtures.relays",
    "tests.fixtures.promotions",
    "tests.fixtures.redis",
    "tests.support.redis_cluster",
]

TEST_SECRET = "pond-test-secret-key-0123456789abcdefghijklmnop"


BACKENDS = ["embedded", "real"]
WITH_CLUSTER = [*BACKENDS, "cluster"]
CLUSTER_MARK = "redis_cluster_too"
"""A module marked `pytest.mark.redis_cluster_too` runs on a third backend as well: PostgreSQL with a local
three-master Redis Cluster as POND_REDIS_URL (redis+cluster://; tests/support/redis_cluster.py)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{CLUSTER_MARK}: also run on PostgreSQL with a local Redis Cluster")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = WITH_CLUSTER if metafunc.definition.get_closest_marker(CLUSTER_MARK) else BACKENDS
        metafunc.parametrize("backend", names, indirect=True, scope="session")


@pytest_asyncio.fixture(scope="session")
async def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    prefix = f"pondtest-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        path = tmp_path_factory.mktemp("embedded") / "pond.sqlite3"
        yield Backend("embedded", f"sqlite://{path}", None, prefix)
        return
    if request.param == "cluster":
        redis_url = request.getfixturevalue("redis_cluster").url
    else:
        await backends.check_redis()
        redis_url = backends.REDIS_URL
    url = await backends.create_pg_database()
    try:
        yield Backend(request.param, url, redis_url, prefix)
    finally:
        await backends.within(backends.drop_pg_database(url), "dropping the test database")
        await backends.within(backends.delete_redis_keys(prefix, redis_url), "deleting the test keys")


def settings_for(backend: Backend, tmp_dir: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "redis_prefix": backend.redis_prefix,
        "secret_key": TEST_SECRET,
        "seed_demo": False,
        "login_rate_limit": 10_000,
        "staff_login_failures": 10_000,
        "checkout_rate_limit": 10_000,
        "max_pending_orders": 10_000,
        "sweep_seconds": 3600,
        "data_dir": tmp_dir,
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="session")
async def app(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    """One running app per backend; its lifespan migrates and opens the database."""
    application = create_app(settings_for(backend, str(tmp_path_factory.mktemp("data"))))
    lifespan = application.router.lifespan_context(application)
    await lifespan.__aenter__()
    try:
        yield application
    finally:
        await backends.within(lifespan.__aexit__(None, None, None), "stopping the app")


@pytest_asyncio.fixture
async def db(app: Starlette, backend: Backend) -> AsyncIterator[None]:
    """An empty store for each test: tables truncated, caches and counters dropped."""
    await truncate_all_models()
    await app.state.runtime.cache.invalidate()
    app.state.runtime.services.access.clear()  # account ids start again after the truncate
    app.state.runtime.simulators.wechatpay.state.simulator.forget()  # order numbers may repeat after the truncate
    deps = app.state.runtime.services.orders
    flash_policy(deps).items.forget()  # sale and SKU ids start again after the truncate
    if backend.real:
        pool = flash_policy(deps).pool
        assert isinstance(pool, RedisFlashPool)
        pool.marks.clear()  # sale and customer ids start again after the truncate: no sold-out mark may outlive it
        for keys in (":rl", ":flash:", ":gb:"):
            await backends.delete_redis_keys(backend.redis_prefix + keys, backend.redis_url)
    else:
        flash_policy(deps).pool = MemoryFlashPool()  # sale ids start again after the truncate: no pool may outlive it
        group_buy_policy(deps).seats = MemorySeatStore()  # so do group ids: no group's seats may outlive it
        deps.inventory.counter = MemoryStockCounter()  # so do SKU and customer ids, which name counts and holders
    yield


@pytest_asyncio.fixture
async def http(app: Starlette, db: None) -> AsyncIterator[httpx.AsyncClient]:
    client_ip = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    transport = httpx.ASGITransport(app=RequestIdMiddleware(app), client=(client_ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pond.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)
