"""Real Redis and a real Redis Cluster for the inventory's fast gates (the stock counter, flash sale pools)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from tests.support.redis_cluster import LocalCluster, cluster_client


@pytest_asyncio.fixture
async def cluster(redis_cluster: LocalCluster) -> AsyncIterator[RedisCluster]:
    client = cluster_client(redis_cluster)
    try:
        yield client
    finally:
        await client.aclose()
