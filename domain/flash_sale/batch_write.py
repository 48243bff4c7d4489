"""The flash sale buys the pool admitted, written together: one transaction, multi-row statements.

`write_batch` is the group commit's batch function (`domain.flash_sale.group_commit`). In one transaction it locks
the buyers' rows, then the sales' and items' rows (in id order, the order every other writer of them takes), reads
what the guards need for the whole batch at once, prices every buy from the rows as they are now (the SKUs, the
items, the live discounts: one query each for the batch), and checks each buy in turn as `buy` once did alone, counting
the buys before it in the batch:

- the sale is still open and not settled (the pool said open, the database says no: the database wins);
- an earlier order with the same idempotency key is answered instead (its twin's units are given back);
- the customer's unpaid-order cap (`limits`), the sale's per-customer limit, the item's `taken` not above its
  quantity, and a limited discount's per-customer units if the quote priced by one.

The buys that pass are written with one INSERT of the orders (`raw_sql.insert_returning`), one of their lines, one
of their flash reservations, one UPDATE of `taken` per item, and the orders told as placed (`placed_all`) inside
the transaction. A buy that fails its guard is answered with its error and its units go back to the pool; the
others commit.

A batch that fails as a whole (an exception inside it): when it is a unique-key collision (a random order number
drawn twice, or a racing order with the same key) each buy is written again alone, so one unlucky buy sinks no
other; any other failure gives every unit back and answers each buy PAYMENT_FAILED ("try again"): nothing was
written, so tapping again is safe. A process that dies between the admit and the commit leaves units held in the
pool with no order: the pool is rebuilt from the database (`sales.pool_state`) when it is next loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.catalog.queries import skus_with_products
from domain.errors import DomainError, ErrorCode, NotFound
from domain.flash_sale import sales
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.pool import Take, refused
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders import limits
from domain.orders.checkout import order_line
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderKind
from domain.pricing import discounts, engine
from domain.remembered import Memo, remembering

log = structlog.get_logger("pond.flash_sale.batch_write")


@dataclass(frozen=True)
class Admitted:
    """A buy the pool admitted: what its order needs that the batch does not read again itself."""

    deps: OrderDeps
    customer_id: int
    item: FlashSaleItem
    quantity: int
    idempotency_key: str | None
    number: str
    holder: str
    delivery: dict[str, object]
    pickup_point_id: int | None
    remark: str
    admitted_at: datetime
    memo: Memo | None = None
    """What the buy's request read rows only staff change through (`domain.remembered`)."""


@dataclass(frozen=True)
class Written:
    order: Order
    replayed: bool
    """An earlier order with the buy's idempotency key, answered instead (the buy's units went back)."""


class NumberTaken(Exception):
    """The buy's random order number was drawn before: draw another (its units went back)."""


def _failed() -> DomainError:
    return DomainError(ErrorCode.PAYMENT_FAILED, "the order could not be written; nothing was taken, try again")


async def write_batch(batch: Sequence[Admitted]) -> list[Written | BaseException]:
    """Each buy's order, or its error; every buy that ends without an order has its units back in the pool."""
    answers: list[Written | BaseException]
    memos = {id(admitted.memo): admitted.memo for admitted in batch}
    try:
        with remembering(next(iter(memos.values())) if len(memos) == 1 else None):
            answers = await _write_together(batch)
    except IntegrityError:
        if len(batch) == 1:
            answers = [await _collided(batch[0])]
        else:
            answers = [(await write_batch([admitted]))[0] for admitted in batch]
            return answers  # each gave its own units back
    except asyncio.CancelledError:
        await _give_back(batch)
        raise
    except Exception:
        log.exception("flash sale batch failed", size=len(batch))
        answers = [_failed() for _ in batch]
    await _give_back([admitted for admitted, answer in zip(batch, answers, strict=True)
                      if not isinstance(answer, Written) or answer.replayed])
    return answers


async def abandon(batch: Sequence[Admitted]) -> None:
    """The group commit's `abandon`: buys a stopped writer never wrote give their units back."""
    await _give_back(batch)


async def _give_back(batch: Sequence[Admitted]) -> None:
    if batch:
        await asyncio.gather(*(pool_of(a.deps).give_back(a.item.sale_id, a.holder) for a in batch))


async def _collided(admitted: Admitted) -> Written | BaseException:
    """A buy written alone hit a unique key: its number was drawn before, or a racing tap with its key won."""
    if await Order.exists(number=admitted.number):
        return NumberTaken()
    if admitted.idempotency_key:
        existing = await Order.get_or_none(customer_id=admitted.customer_id,
                                           idempotency_key=admitted.idempotency_key)
        if existing is not None:
            return Written(existing, True)
    log.error("flash sale buy collided on no known key", number=admitted.number)
    return _failed()


@dataclass
class _Tally:
    """What the guards count, read once for the batch and raised by each buy it accepts."""

    pending: dict[int, int]
    units: dict[tuple[int, int], int]
    taken: dict[int, int]
    discounted: dict[tuple[int, int], int]


async def _write_together(batch: Sequence[Admitted]) -> list[Written | BaseException]:
    deps = batch[0].deps
    customer_ids = sorted({a.customer_id for a in batch})
    sale_ids = sorted({a.item.sale_id for a in batch})
    item_ids = sorted({a.item.id for a in batch})
    answers: list[Written | BaseException | None] = [None] * len(batch)
    async with in_transaction():
        customers = await _locked_customers(customer_ids)
        p = raw_sql.Params()
        found = {s.id: s for s in await raw_sql.select(FlashSale, f't."id" IN {raw_sql.listed(p, sale_ids)}', p,
                                                       lock="FOR UPDATE")}
        p = raw_sql.Params()
        items = {i.id: i for i in await raw_sql.select(FlashSaleItem, f't."id" IN {raw_sql.listed(p, item_ids)}', p,
                                                       lock="FOR UPDATE")}
        earlier, numbers_taken = await _earlier_orders(batch)
        tally = _Tally(await limits.pending_by_customer(customer_ids),
                       await sales.units_by_customer(sale_ids, customer_ids),
                       {item_id: item.taken for item_id, item in items.items()}, {})
        now = deps.clock()
        quotes = await _quotes(batch, items, now)
        accepted: list[tuple[int, Admitted, Order, engine.Quote]] = []
        for index, (admitted, quote) in enumerate(zip(batch, quotes, strict=True)):
            if admitted.customer_id not in customers:
                answers[index] = NotFound("customer")
                continue
            if admitted.idempotency_key and (admitted.customer_id, admitted.idempotency_key) in earlier:
                answers[index] = Written(earlier[(admitted.customer_id, admitted.idempotency_key)], True)
                continue
            if admitted.number in numbers_taken:
                answers[index] = NumberTaken()  # drawn before: the buy draws another, the batch goes on
                continue
            numbers_taken.add(admitted.number)
            refusal = await _refused(admitted, quote, found[admitted.item.sale_id], items[admitted.item.id], tally,
                                     now)
            if refusal is not None:
                answers[index] = refusal
                continue
            accepted.append((index, admitted, _order(admitted, quote), quote))
        await _insert(accepted, tally, items)
        await deps.events.placed_all([order for _, _, order, _ in accepted])
        for index, _, order, _ in accepted:
            answers[index] = Written(order, False)
    return [_failed() if answer is None else answer for answer in answers]  # every buy is answered above


async def _locked_customers(customer_ids: Sequence[int]) -> set[int]:
    """The buyers' rows, locked in id order (the order every writer of them takes): those that exist."""
    p = raw_sql.Params()
    sql = f'SELECT "id" FROM "{Customer._meta.db_table}" WHERE "id" IN {raw_sql.listed(p, customer_ids)} ORDER BY "id"'
    if raw_sql.postgres():
        sql += " FOR NO KEY UPDATE"
    return {int(row["id"]) for row in await raw_sql.fetch(sql, *p)}


async def _earlier_orders(batch: Sequence[Admitted]) -> tuple[dict[tuple[int, str], Order], set[str]]:
    """In one query: the orders placed before with the buys' idempotency keys, and which of the buys' random order
    numbers were drawn before (at a flash sale's pace, six random digits a minute meet again; a collision found
    here costs that buy another draw, where one found by the INSERT costs the batch a write of each buy alone)."""
    keyed = [a for a in batch if a.idempotency_key]
    numbers = sorted({a.number for a in batch})
    p = raw_sql.Params()
    wanted = f't."number" IN {raw_sql.listed(p, numbers)}'
    if keyed:
        wanted += (f' OR (t."customer_id" IN {raw_sql.listed(p, sorted({a.customer_id for a in keyed}))} AND '
                   f't."idempotency_key" IN {raw_sql.listed(p, sorted({str(a.idempotency_key) for a in keyed}))})')
    earlier: dict[tuple[int, str], Order] = {}
    taken: set[str] = set()
    for order in await raw_sql.select(Order, wanted, p):
        if order.number in numbers:
            taken.add(order.number)
        if order.idempotency_key is not None:
            earlier[(order.customer_id, str(order.idempotency_key))] = order
    return earlier, taken


async def _quotes(batch: Sequence[Admitted], items: dict[int, FlashSaleItem], now: datetime) -> list[engine.Quote]:
    """Each buy priced as of now from the rows as they are (the SKUs with their products, the items under lock, the
    live discounts): line prices only, a flash sale order takes no order-level promotions."""
    skus = await skus_with_products(sorted({a.item.sku_id for a in batch}), on_sale=False)
    return await engine.quotes([([(skus[a.item.sku_id], a.quantity)],
                                 {a.item.sku_id: [sales.price_source(items[a.item.id])]}, a.customer_id)
                                for a in batch], now)


async def _refused(admitted: Admitted, quote: engine.Quote, sale: FlashSale, item: FlashSaleItem, tally: _Tally,
                   now: datetime) -> DomainError | None:
    """The buy's refusal by the database, or None (then the tally counts it)."""
    state = sales.status(sale, now)
    if sale.settled_at is not None or state is sales.FlashSaleStatus.ENDED:
        return refused(Take.ENDED)
    if state is sales.FlashSaleStatus.SCHEDULED:
        return refused(Take.NOT_STARTED)
    customer_id, quantity = admitted.customer_id, admitted.quantity
    over = limits.over_pending(tally.pending.get(customer_id, 0), admitted.deps.max_pending_orders)
    if over is not None:
        return over
    units = tally.units.get((sale.id, customer_id), 0)
    if units + quantity > sale.per_customer_limit:
        return refused(Take.LIMIT_EXCEEDED)
    if tally.taken[item.id] + quantity > item.quantity:
        return refused(Take.SOLD_OUT)
    discounted = quote.units_by_source(engine.DISCOUNT)
    if discounted:
        # The batch's earlier buys by this customer are not written yet: counted here.
        with_batch = {d: n + tally.discounted.get((customer_id, d), 0) for d, n in discounted.items()}
        try:
            await discounts.check_limits(customer_id, with_batch)
        except DomainError as exc:
            return exc
        for discount_id, n in discounted.items():
            tally.discounted[(customer_id, discount_id)] = tally.discounted.get((customer_id, discount_id), 0) + n
    tally.pending[customer_id] = tally.pending.get(customer_id, 0) + 1
    tally.units[(sale.id, customer_id)] = units + quantity
    tally.taken[item.id] += quantity
    return None


def _order(admitted: Admitted, quote: engine.Quote) -> Order:
    window = flash_policy(admitted.deps).payment_window(admitted.deps)
    return Order(
        number=admitted.number, customer_id=admitted.customer_id, kind=OrderKind.FLASH_SALE,
        subtotal=quote.subtotal, discount_total=quote.discount_total, payable=quote.total,
        delivery=admitted.delivery, pickup_point_id=admitted.pickup_point_id, remark=admitted.remark.strip(),
        idempotency_key=admitted.idempotency_key, expires_at=admitted.admitted_at + window,
    )


async def _insert(accepted: Sequence[tuple[int, Admitted, Order, engine.Quote]], tally: _Tally,
                  items: dict[int, FlashSaleItem]) -> None:
    if not accepted:
        return
    await raw_sql.insert_returning([order for _, _, order, _ in accepted], key="number")
    await raw_sql.insert([order_line(order, priced) for _, _, order, quote in accepted for priced in quote.lines])
    await raw_sql.insert([Reservation(order_id=order.id, sku_id=admitted.item.sku_id, quantity=admitted.quantity,
                                      flash_item_id=admitted.item.id) for _, admitted, order, _ in accepted])
    for item_id, taken in sorted(tally.taken.items()):
        more = taken - items[item_id].taken
        if more and not await sales.take_from_pool(item_id, more):
            raise RuntimeError(f"flash item {item_id} changed under its lock")
