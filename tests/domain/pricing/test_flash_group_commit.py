"""Flash sale buys admitted and written together. Written by the group commit: concurrent buys share transactions, a
buy the database refuses inside a batch is answered alone with its units back, and a batch killed by an error inside
it gives every unit back (pool and database) and answers every buy. Admitted together (`domain.flash_sale.admit`):
the buys of one moment cost one read of the buyers' unpaid orders and one pool script per sale, a buyer at the
unpaid-order cap is refused before the pool while the others of the same batch buy, and an error answers the
attempts it concerns with nothing taken."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from domain import raw_sql
from domain.catalog.models import Sku
from domain.columns import column
from domain.errors import DomainError
from domain.flash_sale import admit, batch_write
from domain.flash_sale.buy import FlashBuyRequest, buy
from domain.flash_sale.group_commit import GroupCommit
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.pool import Ask, Take
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale, epoch_ms, pool_state
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders import limits
from domain.orders.models import Order, OrderKind, OrderLine, OrderStatus
from tests.domain.orders.test_checkout_concurrency import ADDRESS
from tests.fixtures.flash_sales import count_takes
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
        assert not [s for s in many if s not in one], many  # the same text however many buys
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


# --------------------------------------------------------------------------------------------------------------------
# Admitted together
# --------------------------------------------------------------------------------------------------------------------


async def test_the_buys_of_one_moment_cost_one_read_and_one_pool_script(app, sale, monkeypatch):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    assert flash_policy(deps).admitter is not None  # the server admits buys together
    customers = await _customers(8)
    await _try(deps, flash_sale, sku, customers[0])  # the pool is loaded, the item cached
    calls = count_takes(monkeypatch, pool_of(deps))
    async with count_statements() as statements:
        outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c, f"k{c}") for c in customers[1:]))
    assert outcomes == ["OK"] * 7
    assert calls == [7]
    reads = [s for s in statements if "idempotency_key" in s and "INSERT" not in s and "FOR " not in s
             and '"k", "customer_id" AS "a"' not in s]  # the pre-admit read, not the group commit's own
    assert len(reads) == 1, reads


async def test_a_buyer_at_the_unpaid_order_cap_is_refused_before_the_pool_while_the_others_buy(app, sale,
                                                                                               monkeypatch):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(7)
    await _try(deps, flash_sale, sku, customers[6])  # the pool is loaded, the item cached
    capped = customers[0]
    for n in range(deps.max_pending_orders):
        await Order.create(number=f"P-cap-{n}", customer_id=capped, kind=OrderKind.NORMAL, subtotal=100,
                           discount_total=0, payable=100, delivery={}, expires_at=flash_sale.ends_at)
    calls = count_takes(monkeypatch, pool_of(deps))
    outcomes = await asyncio.gather(*(_try(deps, flash_sale, sku, c) for c in customers[:6]))
    assert outcomes[0] == "LIMIT_EXCEEDED" and outcomes[1:] == ["OK"] * 5
    assert calls == [5]  # one batch: the capped buyer never reached the pool
    assert await _taken(flash_sale) == 6
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 6}
    assert not [h for h in (await pool_of(deps).holders(flash_sale.id) or {}).values() if h.customer_id == capped]


async def test_a_buy_whose_request_goes_away_while_it_is_admitted_gives_its_units_back(app, sale, monkeypatch):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customers = await _customers(3)
    await _try(deps, flash_sale, sku, customers[2])  # the pool is loaded, the item cached
    reading, release = asyncio.Event(), asyncio.Event()
    pending_and_keyed = limits.pending_and_keyed

    async def slow_read(asked: Any) -> Any:
        reading.set()
        await release.wait()
        return await pending_and_keyed(asked)

    monkeypatch.setattr(limits, "pending_and_keyed", slow_read)
    gone = asyncio.ensure_future(_try(deps, flash_sale, sku, customers[0]))
    staying = asyncio.ensure_future(_try(deps, flash_sale, sku, customers[1]))
    await reading.wait()
    gone.cancel()  # the request goes away while its batch reads the cap
    release.set()
    assert await staying == "OK"
    with pytest.raises(asyncio.CancelledError):
        await gone
    for _ in range(50):  # the give-back runs in a task of its own
        if len(await pool_of(deps).holders(flash_sale.id) or {}) == 2:
            break
        await asyncio.sleep(0.01)
    holders = await pool_of(deps).holders(flash_sale.id) or {}
    assert sorted(h.customer_id for h in holders.values()) == sorted([customers[1], customers[2]])
    assert await pool_of(deps).left(flash_sale.id, [sku.id]) == {sku.id: BUYERS - 2}


async def test_a_double_tap_at_the_cap_is_answered_its_first_order(app, sale):
    """The read also tells whose key has an order already: that buyer is let through to the pool, which says HELD,
    and is answered the first tap's order rather than refused by the cap that order made."""
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    customer = (await _customers(1))[0]
    for n in range(deps.max_pending_orders - 1):
        await Order.create(number=f"P-tap-{n}", customer_id=customer, kind=OrderKind.NORMAL, subtotal=100,
                           discount_total=0, payable=100, delivery={}, expires_at=flash_sale.ends_at)
    assert await _try(deps, flash_sale, sku, customer, "tap") == "OK"  # now at the cap
    assert await _try(deps, flash_sale, sku, customer, "tap") == "OK"  # the same order, not LIMIT_EXCEEDED
    assert await Order.filter(kind=OrderKind.FLASH_SALE, status=OrderStatus.PENDING_PAYMENT).count() == 1
    assert await _taken(flash_sale) == 1


async def test_an_error_answers_the_attempts_it_concerns_with_their_own_error(app, sale, monkeypatch):
    flash_sale, sku = sale
    deps = app.state.runtime.services.orders
    pool = pool_of(deps)
    await pool.load(await pool_state(flash_sale))
    now_ms = epoch_ms(datetime.now(UTC))
    customers = await _customers(3)
    attempts = [admit.Attempt(deps, flash_sale.id, c, None, Ask(sku.id, c, 1, f"n:{c}", now_ms)) for c in customers]
    unreadable = OSError("the database is gone")

    async def no_read(asked: Any) -> Any:
        raise unreadable

    monkeypatch.setattr(limits, "pending_and_keyed", no_read)
    answers = await admit.admit_batch(attempts)
    assert all(isinstance(a, admit.NotAdmitted) and a.__cause__ is unreadable for a in answers)
    assert len({id(a) for a in answers}) == 3  # each request raises its own
    assert await pool.holders(flash_sale.id) == {}  # the read comes before any pool
    monkeypatch.undo()

    async def shard_down(sale_id: int, asks: Any) -> list[Take]:
        raise ConnectionError("the pool's shard is down")

    monkeypatch.setattr(pool, "take_many", shard_down)
    other = admit.Attempt(deps, flash_sale.id + 1000, customers[0], None, Ask(sku.id, customers[0], 1, "n:o", now_ms))
    answers = await admit.admit_batch([*attempts[:2], other])
    assert [type(a) for a in answers] == [admit.NotAdmitted, admit.NotAdmitted, admit.NotAdmitted]
    assert answers[0] is not answers[1]
    monkeypatch.undo()
    answers = await admit.admit_batch([attempts[2], other])
    assert answers == [Take.OK, Take.MISSING]  # one sale's script answers only its own attempts
    assert [h.customer_id for h in (await pool.holders(flash_sale.id) or {}).values()] == [customers[2]]
