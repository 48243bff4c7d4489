"""A sold-out SKU is answered without Redis: a crowd on it costs no round trip, and a unit that comes back (a
cancelled or expired flash order) is sold again at once, in this process and in the others."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.flash_sale.policy import pool_of
from domain.flash_sale.pool import Take
from domain.flash_sale.redis_pool import RedisFlashPool
from domain.flash_sale.sales import epoch_ms
from domain.flash_sale.sold_out import SoldOutMarks
from domain.orders import lifecycle
from tests.fixtures.flash_sales import count_takes
from tests.fixtures.orders import ORDER_CANCEL, pk
from tests.support.graphql import GraphQLClient

pytestmark = [pytest.mark.usefixtures("audited"), pytest.mark.redis_cluster_too]


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def test_a_crowd_on_a_sold_out_sku_costs_no_pool_round_trip(shop, flash, customer_token, other_customer_token,
                                                                   monkeypatch):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    assert (await flash.buy(customer_token, sale, sku))["errors"] == []
    assert codes(await flash.buy(other_customer_token, sale, sku)) == ["SOLD_OUT"]  # the pool said so: marked
    takes = count_takes(monkeypatch, pool_of(shop.deps))
    crowd = await asyncio.gather(*(flash.buy(other_customer_token, sale, sku) for _ in range(30)))
    assert [codes(answer) for answer in crowd] == [["SOLD_OUT"]] * 30
    assert takes == []
    assert codes(await flash.buy(customer_token, sale, sku)) == ["LIMIT_EXCEEDED"]  # a buyer still asks the pool
    assert takes == [1]


async def test_a_cancelled_unit_is_sold_again_at_once(shop, flash, gql: GraphQLClient, customer_token,
                                                      other_customer_token):
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    order = (await flash.buy(customer_token, sale, sku))["order"]
    assert codes(await flash.buy(other_customer_token, sale, sku)) == ["SOLD_OUT"]
    cancelled = (await gql.data(ORDER_CANCEL, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]
    assert cancelled["errors"] == []
    assert (await flash.buy(other_customer_token, sale, sku))["errors"] == []


async def test_a_unit_returned_in_one_process_is_sold_by_another_within_a_second(app, backend, shop, flash,
                                                                                 customer_token,
                                                                                 other_customer_token):
    """The other process's mark would last a minute: only the returns channel can drop it this soon."""
    if not backend.real:
        pytest.skip("the embedded pool lives in one process")
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    order = (await flash.buy(customer_token, sale, sku))["order"]
    redis = app.state.runtime.redis
    other = RedisFlashPool(redis, prefix=backend.redis_prefix, marks=SoldOutMarks(ttl=60))
    listening = asyncio.create_task(other.listen())
    try:
        sale_id, customer = pk(sale["id"]), pk(order["id"]) + 10_000

        async def take(holder: str) -> Take:
            return await other.take(sale_id, sku.id, customer, 1, holder, epoch_ms(datetime.now(UTC)))

        await asyncio.sleep(0.1)  # subscribed
        assert await take("other-1") is Take.SOLD_OUT
        assert other.known_sold_out(sale_id, sku.id, customer, 1, 0)
        assert await lifecycle.expire_due(shop.deps, datetime.now(UTC) + timedelta(minutes=6)) == 1
        returned = time.monotonic()
        while other.known_sold_out(sale_id, sku.id, customer, 1, 0):
            assert time.monotonic() - returned < 1.0, "the returned unit is still refused"
            await asyncio.sleep(0.01)
        assert await take("other-2") is Take.OK
        assert await other.give_back(sale_id, "other-2")
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_a_mark_past_its_time_lets_one_attempt_ask_the_pool(app, backend, shop, flash, customer_token,
                                                                  other_customer_token, monkeypatch):
    """The fallback for a lost message on the returns channel: once a mark's time is up, the next attempt asks the
    pool (and the others keep the mark). The buy's own early check must not use up that attempt's turn."""
    if not backend.real:
        pytest.skip("the embedded pool answers from memory exactly: it has no marks")
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    assert (await flash.buy(customer_token, sale, sku))["errors"] == []
    assert codes(await flash.buy(other_customer_token, sale, sku)) == ["SOLD_OUT"]  # marked
    pool = pool_of(shop.deps)
    assert isinstance(pool, RedisFlashPool)
    monkeypatch.setattr(pool.marks, "ttl", 0.05)
    asked: list[int] = []
    script = pool._take

    async def counted(**kwargs: Any) -> Any:
        asked.append(1)
        return await script(**kwargs)

    monkeypatch.setattr(pool, "_take", counted)
    for mark in pool.marks._marks.values():
        mark.until = 0.0  # its time is up
    assert codes(await flash.buy(other_customer_token, sale, sku)) == ["SOLD_OUT"]
    assert asked == [1]  # this attempt asked the pool
    assert codes(await flash.buy(other_customer_token, sale, sku)) == ["SOLD_OUT"]
    assert asked == [1]  # the pool's fresh answer marked it again
