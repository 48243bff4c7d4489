"""The rush: 5,000 concurrent buy attempts by 1,000 customers for 100 units, at most 2 each.

Exactly 100 units are sold, nobody gets more than 2, and every other attempt is a clean SOLD_OUT or LIMIT_EXCEEDED;
a Redis flush in the middle still sells at most (here: exactly) 100.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog.models import Sku
from domain.columns import column
from domain.errors import DomainError
from domain.flash_sale.buy import FlashBuyRequest, buy
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders.models import Order, OrderKind
from tests.domain.orders.test_checkout_concurrency import ADDRESS
from tests.support import backends

pytestmark = pytest.mark.redis_cluster_too

CUSTOMERS = 1_000
ATTEMPTS = 5_000
UNITS = 100
LIMIT = 2


@pytest.fixture
async def sale(make_product) -> tuple[FlashSale, Sku]:
    product = await make_product("秒杀爆款", skus=[{"specs": [], "price": 9900, "stock": 500}])
    sku = await Sku.get(product_id=product.id)
    now = datetime.now(UTC)
    draft = FlashSaleDraft("整点秒杀", now - timedelta(minutes=1), now + timedelta(hours=1), LIMIT,
                           [ItemDraft(sku.id, 990, UNITS)])
    return await create_flash_sale(draft, now), sku


async def _customers() -> list[int]:
    await Customer.bulk_create([Customer(openid=f"o-rush-{i}") for i in range(CUSTOMERS)])
    return await column(Customer.all().order_by("id"), "id", int)


def _attempts(customer_ids: list[int]) -> list[int]:
    """Every customer tries five times, in a shuffled order."""
    attempts = [customer_ids[i % CUSTOMERS] for i in range(ATTEMPTS)]
    random.Random(7).shuffle(attempts)
    return attempts


async def _try(deps, sale_id: int, sku_id: int, customer_id: int) -> str:
    try:
        await buy(deps, FlashBuyRequest(customer_id, sale_id, sku_id, 1, delivery=ADDRESS))
    except DomainError as exc:
        return exc.code.value
    return "OK"


async def _assert_sold_exactly(sale: FlashSale, sku: Sku, outcomes: list[str]) -> None:
    tally = Counter(outcomes)
    assert tally["OK"] == UNITS
    assert set(tally) <= {"OK", "SOLD_OUT", "LIMIT_EXCEEDED"}, tally
    assert sum(tally.values()) == ATTEMPTS
    assert await Order.filter(kind=OrderKind.FLASH_SALE).count() == UNITS
    per_customer = Counter(await Order.filter(kind=OrderKind.FLASH_SALE).values_list("customer_id", flat=True))
    assert max(per_customer.values()) <= LIMIT
    assert (await FlashSaleItem.get(sale_id=sale.id)).taken == UNITS
    assert sum(await column(Reservation.filter(flash_item__sale_id=sale.id), "quantity", int)) == UNITS
    await sku.refresh_from_db()
    assert (sku.stock, sku.reserved) == (500, UNITS)  # the pool stays set aside; nothing touched normal stock


async def test_5000_attempts_by_1000_customers_sell_exactly_100_units(app, sale):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    attempts = _attempts(await _customers())
    outcomes = await asyncio.gather(*(_try(deps, flash_sale.id, sku.id, c) for c in attempts))
    await _assert_sold_exactly(flash_sale, sku, list(outcomes))


async def test_a_redis_flush_in_the_middle_of_the_rush_still_sells_at_most_100(app, backend, sale):
    if not backend.real:
        pytest.skip("the embedded pool lives in the process; there is no Redis to flush")
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    attempts = _attempts(await _customers())
    some_sold = asyncio.Event()
    sold = 0

    async def attempt(customer_id: int) -> str:
        nonlocal sold
        outcome = await _try(deps, flash_sale.id, sku.id, customer_id)
        if outcome == "OK":
            sold += 1
            if sold == 30:
                some_sold.set()
        return outcome

    async def flush_midway() -> None:
        await some_sold.wait()
        await backends.delete_redis_keys(backend.redis_prefix + ":flash:", backend.redis_url)

    tasks = [asyncio.ensure_future(attempt(c)) for c in attempts]
    await asyncio.gather(flush_midway(), *tasks)
    await _assert_sold_exactly(flash_sale, sku, [task.result() for task in tasks])
