"""Buying in a flash sale: checks that take nothing, then the admit (the unpaid-order cap and the pool, asked with
the other buys of the moment), then the order, answered at the admit.

What can refuse an attempt without the pool (the item, the delivery, the customer's unpaid-order cap) is asked
first, so a refused attempt never holds units that other buyers are meanwhile told are sold out; the cap is read
for the buys of one turn of the event loop in one statement, and the pool asked for them in one script per sale
(`admit`). An attempt the pool turns down (not started, ended, over the limit, sold out) writes nothing.
An attempt the pool admits is priced and handed to the group commit (`group_commit`, `batch_write`), which writes
its FLASH_SALE order with the other buyers' of the last few milliseconds in one transaction, guarded again by the
database (the pool's `taken` count and the customer's units in the sale). The answer is the order, PENDING_PAYMENT,
with no payment: the race calls no WeChat Pay, the customer pays with `orderPay`. Whatever goes wrong after the
pool admitted gives the units back to the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.errors import Invalid, NotFound
from domain.flash_sale import sales as sales
from domain.flash_sale.admit import Attempt, admit_batch
from domain.flash_sale.batch_write import Admitted, NumberTaken, Written, not_written, write_batch
from domain.flash_sale.group_commit import WriterStopped, result_of
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.pool import Ask, Take, refused
from domain.orders import delivery as deliveries
from domain.orders.checkout import earlier_tap
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.holders import holder_for
from domain.orders.models import Order, OrderStatus
from domain.orders.numbers import order_number
from domain.orders.payment import Placed, settle_free
from domain.remembered import current_memo

MAX_QUANTITY = 99
ATTEMPTS = 5
TWIN_PATIENCE = 5.0
"""Seconds a double tap waits for its twin's order before taking the twin's units for a dead attempt's."""

@dataclass(frozen=True)
class FlashBuyRequest:
    customer_id: int
    sale_id: int
    sku_id: int
    quantity: int
    idempotency_key: str | None = None
    delivery: DeliveryChoice | None = None
    """None: the delivery of the customer's latest order."""
    remark: str = ""


def _check(request: FlashBuyRequest) -> None:
    if not 1 <= request.quantity <= MAX_QUANTITY:
        raise Invalid(f"quantity must be between 1 and {MAX_QUANTITY}", ["quantity"])
    if request.idempotency_key is not None and not 1 <= len(request.idempotency_key) <= 64:
        raise Invalid("idempotencyKey must be 1 to 64 characters", ["idempotencyKey"])
    if len(request.remark) > 200:
        raise Invalid("remark must be at most 200 characters", ["remark"])


def refused_at_once(deps: OrderDeps, request: FlashBuyRequest) -> bool:
    """True when `buy` would answer this request SOLD_OUT before reading anything (its checks pass and the process
    knows the SKU is sold out for it). Asking changes nothing: a sold-out mark past its time is left for `buy`."""
    try:
        _check(request)
    except Invalid:
        return False
    return _known_sold_out(deps, request, claim=False)


def _known_sold_out(deps: OrderDeps, request: FlashBuyRequest, *, claim: bool) -> bool:
    return pool_of(deps).known_sold_out(request.sale_id, request.sku_id, request.customer_id, request.quantity,
                                        sales.epoch_ms(deps.clock()), claim=claim)


async def buy(deps: OrderDeps, request: FlashBuyRequest) -> Placed:
    """The created order, PENDING_PAYMENT, with no payment: the customer pays it with `orderPay` (a free order is
    settled at once)."""
    _check(request)
    if _known_sold_out(deps, request, claim=True):
        raise refused(Take.SOLD_OUT)  # a crowd on a sold-out SKU costs neither the database nor Redis
    # Everything that can refuse the attempt is asked before the pool, so a refused attempt never holds units
    # that other buyers are meanwhile told are sold out.
    item = await _item(deps, request)
    delivery = await _delivery(request)
    for tries in range(ATTEMPTS):
        now = deps.clock()
        number = order_number(now, prefix="F")
        holder = holder_for(request.customer_id, request.idempotency_key, number)
        # The first try is admitted with the buys of the same moment: the unpaid-order cap, then the pool.
        outcome = await _admit(deps, request, holder, now) if tries == 0 else \
            await _take(deps, request, holder, now, looked=True)
        if outcome is Take.HELD:
            if request.idempotency_key is None:
                continue  # a random order number drawn twice: draw another
            outcome, earlier = await _twin(deps, request, holder)
            if earlier is not None:
                return await _answer(deps, earlier)
            if outcome is Take.HELD:
                await pool_of(deps).give_back(request.sale_id, holder)  # a holder whose attempt died: free it
                continue
        if outcome is not Take.OK:
            raise refused(outcome)
        try:
            written = await _write(deps, request, item, delivery, number, holder, now)
        except NumberTaken:
            continue  # the writer gave its units back
        return await _answer(deps, written.order)
    raise RuntimeError(f"no flash sale attempt went through in {ATTEMPTS} tries")


async def _admit_together(deps: OrderDeps, request: FlashBuyRequest, holder: str, now: datetime) -> Take:
    """The pool's answer to the buy's first try, asked with the other buys of the same turn (`admit`); LIMIT_EXCEEDED
    is raised for a buyer at the unpaid-order cap, before the pool."""
    attempt = Attempt(deps, request.sale_id, request.customer_id, request.idempotency_key,
                      Ask(request.sku_id, request.customer_id, request.quantity, holder, sales.epoch_ms(now)))
    admitter = flash_policy(deps).admitter
    if admitter is not None:
        return await admitter.submit(attempt)
    return result_of((await admit_batch([attempt]))[0])


async def _answer(deps: OrderDeps, order: Order) -> Placed:
    if order.status == OrderStatus.PENDING_PAYMENT and order.payable == 0:
        await settle_free(deps, order)
    return Placed(order, None)


async def _write(deps: OrderDeps, request: FlashBuyRequest, item: FlashSaleItem,
                 delivery: tuple[dict[str, object], int | None], number: str, holder: str,
                 now: datetime) -> Written:
    """The admitted buy's order, priced and written by the group commit with the other buyers' (see `batch_write`),
    which gives the units back whenever it answers without a new order."""
    snapshot, pickup_point_id = delivery
    admitted = Admitted(deps=deps, customer_id=request.customer_id, item=item, quantity=request.quantity,
                        idempotency_key=request.idempotency_key, number=number, holder=holder, delivery=snapshot,
                        pickup_point_id=pickup_point_id, remark=request.remark, admitted_at=now,
                        memo=current_memo())
    writer = flash_policy(deps).writer
    if writer is None:
        return result_of((await write_batch([admitted]))[0])
    try:
        written: Written = await writer.submit(admitted)
    except WriterStopped as exc:  # the server stopped before writing it: the writer gave its units back
        raise not_written() from exc
    return written


_loading: dict[int, asyncio.Lock] = {}
_pool_loads: dict[int, int] = {}
"""Per sale: how many times this process has loaded its pool (an attempt that waited for another's load sees it)."""


async def _admit(deps: OrderDeps, request: FlashBuyRequest, holder: str, now: datetime) -> Take:
    """`_admit_together`, and while the pool is not loaded, again after loading it: a rush right after a Redis flush
    reads the database once in this process, and is admitted together again."""
    return await _while_loading(deps, request.sale_id, lambda _: _admit_together(deps, request, holder, now))


async def _take(deps: OrderDeps, request: FlashBuyRequest, holder: str, now: datetime, looked: bool = False) -> Take:
    """The pool's answer to a try after the first; while the pool is not loaded, again after loading it.
    `looked`: the attempt has asked `known_sold_out` already (see `FlashPool.take`)."""
    args = (request.sale_id, request.sku_id, request.customer_id, request.quantity, holder, sales.epoch_ms(now))
    return await _while_loading(deps, request.sale_id,
                                lambda first: pool_of(deps).take(*args, looked=looked or not first))


async def _while_loading(deps: OrderDeps, sale_id: int, ask: Callable[[bool], Awaitable[Take]]) -> Take:
    """`ask(first)`'s answer; while the pool answers MISSING, it is loaded (`_load_pool`) and asked again."""
    for tries in range(ATTEMPTS):
        seen = _pool_loads.get(sale_id, 0)
        outcome = await ask(tries == 0)
        if outcome is not Take.MISSING:
            return outcome
        await _load_pool(deps, sale_id, seen)
    raise RuntimeError(f"flash sale {sale_id}'s pool vanished {ATTEMPTS} times while loading")


async def _load_pool(deps: OrderDeps, sale_id: int, seen: int) -> None:
    """Load the sale's pool from the database, unless this process has loaded it since it had loaded it `seen`
    times: one attempt loads while the others wait, and then they all ask the pool again together."""
    async with _loading.setdefault(sale_id, asyncio.Lock()):
        if _pool_loads.get(sale_id, 0) != seen:
            return
        sale = await FlashSale.get_or_none(id=sale_id)
        if sale is None:
            raise NotFound("flash sale", ["flashSaleId"])
        await pool_of(deps).load(await sales.pool_state(sale))
        _pool_loads[sale_id] = seen + 1


async def _twin(deps: OrderDeps, request: FlashBuyRequest, holder: str) -> tuple[Take, Order | None]:
    """Another tap with the same key holds the units: wait for its order rather than free units it is still
    writing an order for. Returns (the pool's latest answer, the twin's order). The twin may fail meanwhile and
    give the units back (the pool then answers this tap); a holder with no order after TWIN_PATIENCE belongs to an
    attempt that died, and is freed by the caller."""
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + TWIN_PATIENCE, 0.02
    while True:
        earlier = await _earlier(request)
        if earlier is not None or loop.time() >= deadline:
            return Take.HELD, earlier
        await asyncio.sleep(pause)
        pause = min(2 * pause, 0.25)
        outcome = await _take(deps, request, holder, deps.clock())
        if outcome is not Take.HELD:
            return outcome, None


async def _earlier(request: FlashBuyRequest) -> Order | None:
    async with in_transaction():
        return (await earlier_tap(request.customer_id, request.idempotency_key))[1]


async def _delivery(request: FlashBuyRequest) -> tuple[dict[str, object], int | None]:
    """The buy's delivery, or without one the customer's default address (INVALID without one), asked before any
    unit is taken."""
    if request.delivery is not None:
        return await deliveries.resolve(request.delivery, request.customer_id)
    return await deliveries.default_address(request.customer_id)


async def _item(deps: OrderDeps, request: FlashBuyRequest) -> FlashSaleItem:
    item = await flash_policy(deps).items.get(request.sale_id, request.sku_id, sales.sale_items)
    if item is None or item.sku.deleted_at is not None or not _on_sale(item):
        raise NotFound("item", ["skuId"])
    return item


def _on_sale(item: FlashSaleItem) -> bool:
    product = item.sku.product
    return bool(product.published and product.deleted_at is None)
