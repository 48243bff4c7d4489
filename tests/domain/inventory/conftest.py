"""Real Redis and a real Redis Cluster for the inventory's fast gates (the stock counter, flash sale pools)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from tests.support.backends import REDIS_URL, unavailable
from tests.support.redis_cluster import LocalCluster, cluster_client


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    pool = aioredis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=64, timeout=5)
    client = aioredis.Redis(connection_pool=pool)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except (OSError, TimeoutError, aioredis.RedisError) as exc:
        await client.aclose()
        await pool.aclose()
        unavailable("Redis at " + REDIS_URL, exc)
    try:
        yield client
    finally:
        await client.aclose()
        await pool.aclose()


@pytest_asyncio.fixture
async def cluster(redis_cluster: LocalCluster) -> AsyncIterator[RedisCluster]:
    client = cluster_client(redis_cluster)
    try:
        yield client
    finally:
        await client.aclose()
