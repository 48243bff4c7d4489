"""Flash sale buys written by the group commit: concurrent buys share transactions, a buy the database refuses inside
a batch is answered alone with its units back, and a batch killed by an error inside it gives every unit back (pool
and database) and answers every buy."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from domain import raw_sql
from domain.catalog.models import Sku
from domain.columns import column
from domain.errors import DomainError
from domain.flash_sale import batch_write
from domain.flash_sale.buy import FlashBuyRequest, buy
from domain.flash_sale.group_commit import GroupCommit
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders import limits
from domain.orders.models import Order, OrderLine, OrderStatus
from tests.domain.orders.test_checkout_concurrency import ADDRESS
from tests.support.statements import count_statements

BUYERS = 40


@pytest.fixture
async def sale(make_product) -> tuple[FlashSale, Sku]:
    product = await make_product("秒杀爆款", skus=[{"specs": [], "price": 9900, "stock": 100}])
    sku = await Sku.get(product_id=product.id)
    now = datetime.now(UTC)
    draft = FlashSaleDraft("整点秒杀", now - timedelta(minutes=1), now + timedelta(hours=1), 2,
                           [ItemDraft(sku.id, 990, BUYERS)])
    return await create_flash_sale(draft, now), sku


async def _customers(n: int) -> list[int]:
    await Customer.bulk_create([Customer(openid=f"o-batch-{i}") for i in range(n)])
    return await column(Customer.all().order_by("id"), "id", int)


async def _try(deps, sale: FlashSale, sku: Sku, customer_id: int, key: str | None = None) -> str:
    try:
        placed = await buy(deps, FlashBuyRequest(customer_id, sale.id, sku.id, 1, key, delivery=ADDRESS))
    except DomainError as exc:
        return exc.code.value
    assert placed.payment is None and placed.order.status == OrderStatus.PENDING_PAYMENT
    assert placed.order.id is not None
    return "OK"


async def _taken(sale: FlashSale) -> int:
    return (await FlashSaleItem.get(sale_id=sale.id)).taken


async def test_concurrent_buys_are_written_together_each_with_its_order_lines_and_units(app, sale):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    writer = flash_policy(deps).writer
    assert writer is not None and writer.running
    before = writer.batches
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c) for c in await _customers(BUYERS)))
    assert Counter(outcomes) == {"OK": BUYERS}
    assert writer.batches - before < BUYERS / 2  # gathered, not one transaction per buy
    orders = await Order.filter(kind="FLASH_SALE")
    assert len(orders) == BUYERS and all(o.payable == 990 and o.status == OrderStatus.PENDING_PAYMENT for o in orders)
    assert await OrderLine.filter(order__kind="FLASH_SALE").count() == BUYERS
    assert await Reservation.filter(flash_item__sale_id=flash_sale.id).count() == BUYERS
    assert await _taken(flash_sale) == BUYERS
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: 0}


async def test_a_buy_the_database_refuses_is_answered_alone_and_the_others_commit(app, sale):
    """The pool believes in more units than the database has left (as after a reload raced a commit): the batch
    sells what the database has, the rest are SOLD_OUT with their units back in the pool."""
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(10)
    await _try(deps, flash_sale, sku, customers[0])  # the pool is loaded: 39 left
    await FlashSaleItem.filter(sale_id=flash_sale.id).update(taken=BUYERS - 3)  # the database: 3 left
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c) for c in customers[1:]))
    assert Counter(outcomes) == {"OK": 3, "SOLD_OUT": 6}
    assert await _taken(flash_sale) == BUYERS
    assert await Order.filter(kind="FLASH_SALE").count() == 4
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 4}  # the six units came back


async def test_a_batch_killed_by_an_error_inside_it_gives_every_unit_back_and_answers_every_buy(app, sale,
                                                                                              monkeypatch):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(BUYERS)
    await _try(deps, flash_sale, sku, customers[0])
    kills = 0

    async def broken(orders: Sequence[Order]) -> None:
        nonlocal kills
        kills += 1
        raise RuntimeError("the disk is full")  # inside the transaction, after every INSERT and UPDATE of the batch

    monkeypatch.setattr(deps.events, "placed_all", broken)
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c) for c in customers[1:]))
    assert Counter(outcomes) == {"PAYMENT_FAILED": BUYERS - 1}
    assert 1 <= kills < BUYERS - 1  # whole batches died
    assert await Order.filter(kind="FLASH_SALE").count() == 1  # nothing of theirs was written
    assert await Reservation.filter(flash_item__sale_id=flash_sale.id).count() == 1
    assert await _taken(flash_sale) == 1
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 1}
    monkeypatch.undo()
    assert await _try(deps, flash_sale, sku, customers[1]) == "OK"  # tapping again works
    assert await _taken(flash_sale) == 2


async def test_a_double_tap_in_one_batch_writes_one_order(app, sale):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customer = (await _customers(1))[0]
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, customer, "tap") for _ in range(5)))
    assert set(outcomes) == {"OK"}
    assert await Order.filter(kind="FLASH_SALE").count() == 1
    assert await _taken(flash_sale) == 1
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 1}


async def test_an_order_number_drawn_before_costs_that_buy_another_draw_not_the_batch_a_rewrite(app, sale,
                                                                                               monkeypatch):
    """Six random digits a minute meet again at a flash sale's pace. A buy with an idempotency key is held in the
    pool under its key, so the pool cannot see that its number was drawn before: the batch does, and that buy draws
    another, where the INSERT's collision cost the whole batch a write of each buy alone."""
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(11)
    taken = "F2612050000000001"
    draws = iter([taken] + [taken if i % 2 else f"F26120500009{i:05d}" for i in range(100)])
    monkeypatch.setattr("domain.flash_sale.buy.order_number", lambda at, prefix="P": next(draws))
    assert await _try(deps, flash_sale, sku, customers[0], "tap-0") == "OK"
    collisions = 0
    write_together = batch_write._write_together

    async def watched(batch):
        nonlocal collisions
        try:
            return await write_together(batch)
        except IntegrityError:
            collisions += 1
            raise

    monkeypatch.setattr(batch_write, "_write_together", watched)
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c, f"tap-{c}") for c in customers[1:]))
    assert Counter(outcomes) == {"OK": 10}
    assert collisions == 0
    assert await Order.filter(kind="FLASH_SALE").count() == 11
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 11}


async def test_a_batch_is_four_statements_on_postgresql_whose_text_is_the_same_whatever_its_size(app, sale):
    """Under load the writer waits a turn of the event loop for each statement, so their number is its pace; and
    asyncpg prepares a statement once only if its text does not change with the batch's size."""
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(7)
    written: list[list[str]] = []
    for buyers in ([customers[0]], customers[1:]):
        async with count_statements() as statements:
            outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c) for c in buyers))
        assert set(outcomes) == {"OK"}
        first = [s.strip(" ;") for s in statements].index("BEGIN")
        written.append(statements[first:])
    one, many = written
    if raw_sql.postgres():
        # (rows only staff change, read here too, come from the request's memo on the API path:
        # test_remembered_reads)
        remembered = ("pricing_discount_item", "member_level", "distribution_settings")
        flash = [s.strip(" ;")[:6] for s in one if not any(table in s for table in remembered)]
        assert flash == ["BEGIN", "WITH c", "SELECT", "WITH o", "COMMIT"], [s[:60] for s in one]
        before_the_pool = limits.pending_and_keyed.__name__  # each buy's own read, before the batch
        assert not [s for s in many if s not in one and "idempotency_key = $2" not in s], (before_the_pool, many)
    assert await Order.filter(kind="FLASH_SALE").count() == 7
    assert await _taken(flash_sale) == 7


async def test_buys_a_stopping_server_never_wrote_are_told_to_try_again_with_their_units_back(app, sale, monkeypatch):
    """Stopping outlasts its grace while one batch is being written and another buy waits: neither is answered with
    an internal error, nothing of theirs is written, and the pool has their units again."""
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(3)
    await _try(deps, flash_sale, sku, customers[0])
    write_together, started = batch_write._write_together, asyncio.Event()

    async def slow(batch):
        started.set()
        await asyncio.sleep(30)  # a database that does not answer
        return await write_together(batch)

    monkeypatch.setattr(batch_write, "_write_together", slow)
    writer = GroupCommit(batch_write.write_batch, abandon=batch_write.abandon, window=0, max_batch=1)
    monkeypatch.setattr(flash_policy(deps), "writer", writer)
    writer.start()
    buys = [asyncio.ensure_future(_try(deps, flash_sale, sku, c)) for c in customers[1:]]
    await started.wait()
    await asyncio.sleep(0.05)  # the second buy is queued behind the first one's batch
    await writer.stop(grace=0.05)
    assert await asyncio.gather(*buys) == ["PAYMENT_FAILED", "PAYMENT_FAILED"]
    assert await Order.filter(kind="FLASH_SALE").count() == 1
    assert await _taken(flash_sale) == 1
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 1}
