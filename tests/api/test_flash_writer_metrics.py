"""The flash sale writer's group commits are seen on /metrics: batches, buys, the time it spent writing and the time
buys waited for their batch (what shows a writer that has become the bottleneck)."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("audited")

WRITER = "pond-flash-writer"


async def writer_counts(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/metrics")).text
    counts = {}
    for what in ("batches", "entries", "busy_seconds", "queued_seconds"):
        found = re.search(rf'^pond_group_commit_{what}_total{{writer="{WRITER}"}} (\S+)$', text, re.MULTILINE)
        assert found is not None, f"pond_group_commit_{what}_total is not on /metrics"
        counts[what] = float(found.group(1))
    return counts


async def test_each_buy_the_writer_commits_is_counted_on_metrics(shop, flash, http: httpx.AsyncClient,
                                                                 customer_token, other_customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 10), limit=2)
    before = await writer_counts(http)

    for token in (customer_token, other_customer_token, customer_token):
        assert (await flash.buy(token, sale, sku))["errors"] == []

    after = await writer_counts(http)
    assert after["entries"] - before["entries"] == 3
    assert 1 <= after["batches"] - before["batches"] <= 3
    assert after["busy_seconds"] > before["busy_seconds"]
    assert after["queued_seconds"] > before["queued_seconds"]  # each buy waits for the writer's window at least
