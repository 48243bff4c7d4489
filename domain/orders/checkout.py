"""Placing an order: price it, hold the stock, write it, then ask WeChat Pay for a prepay (outside any transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.catalog.models import Sku
from domain.catalog.queries import skus_with_products
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.inventory import holds
from domain.inventory.service import sold_out
from domain.orders import delivery as deliveries
from domain.orders import limits, placing
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.holders import holder_for
from domain.orders.models import Order, OrderKind, OrderLine
from domain.orders.numbers import order_number
from domain.orders.payment import NewOrder, Placed, cancel_unpayable, first_payment, first_trade, take_from_wallet
from domain.pricing import discounts, engine, promotions
from domain.pricing.engine import PriceSource, Quote

MAX_LINES = 50
MAX_QUANTITY = 99
NUMBER_ATTEMPTS = 5
TWIN_PATIENCE = 5.0
"""Seconds a double tap waits for its twin's order before taking the twin's units for a dead attempt's."""


class Placement(Protocol):
    """A selling mode's part in placing one of its orders (a group-buy seat, a relay entry); `checkout` does the
    rest exactly as for a normal order, so the stock, the payment and the pending-order cap work the same way."""

    kind: OrderKind

    def sources(self) -> Mapping[int, Sequence[PriceSource]]:
        """The mode's price candidates, by SKU id."""
        ...

    async def admit(self, deps: OrderDeps, holder: str) -> None:
        """Before the order's transaction: the mode's fast gate (no-op if it has none). A DomainError refuses the
        order, and nothing of the mode is held then."""

    async def give_back(self, deps: OrderDeps, holder: str) -> None:
        """After `admit`, when the order was not written (or a double tap's twin owns it): undo the admit."""

    async def write(self, order: Order, quote: Quote) -> None:
        """Inside the order's transaction, after the order, its lines and its stock holds: the database's guard and
        the mode's own rows. A DomainError rolls the transaction back."""


@dataclass
class CheckoutRequest:
    customer_id: int
    delivery: DeliveryChoice
    lines: list[tuple[int, int]] | None = None
    from_cart: bool = False
    remark: str = ""
    share_code: str | None = None
    idempotency_key: str | None = None
    coupon_code: str | None = None
    use_wallet: bool = False
    """The wallet pays what it can; WeChat Pay the rest (`domain.wallet.spending`)."""
    mode: Placement | None = None
    """None: a normal order."""

    @property
    def kind(self) -> OrderKind:
        return self.mode.kind if self.mode is not None else OrderKind.NORMAL


def _check_request(request: CheckoutRequest) -> None:
    if request.from_cart == (request.lines is not None):
        raise Invalid("give either lines or fromCart: true", ["lines"])
    if request.idempotency_key is not None and not 1 <= len(request.idempotency_key) <= 64:
        raise Invalid("idempotencyKey must be 1 to 64 characters", ["idempotencyKey"])
    if len(request.remark) > 200:
        raise Invalid("remark must be at most 200 characters", ["remark"])
    if request.share_code is not None and len(request.share_code) > 32:
        raise Invalid("shareCode must be at most 32 characters", ["shareCode"])


async def _wanted_lines(request: CheckoutRequest) -> dict[int, int]:
    if request.from_cart:
        from domain.cart.service import cart_lines

        pairs = [(item.sku_id, item.quantity) for item, _sku in await cart_lines(request.customer_id)]
        if not pairs:
            raise Invalid("the cart is empty", ["fromCart"])
    else:
        pairs = request.lines or []
    if not pairs:
        raise Invalid("an order needs at least one line", ["lines"])
    if len(pairs) > MAX_LINES:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_LINES} lines per order", ["lines"])
    wanted: dict[int, int] = {}
    for index, (sku_id, quantity) in enumerate(pairs):
        if not 1 <= quantity <= MAX_QUANTITY:
            raise Invalid(f"quantity must be between 1 and {MAX_QUANTITY}", ["lines", str(index), "quantity"])
        wanted[sku_id] = wanted.get(sku_id, 0) + quantity
    if any(quantity > MAX_QUANTITY for quantity in wanted.values()):
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_QUANTITY} of one item per order", ["lines"])
    return wanted


async def _for_sale(sku_ids: list[int]) -> dict[int, Sku]:
    """The SKUs on sale, each with its product."""
    found = await skus_with_products(sku_ids, on_sale=True)
    if len(found) != len(sku_ids):
        raise NotFound("item", ["lines"])
    return found


async def checkout(deps: OrderDeps, request: CheckoutRequest) -> Placed:
    _check_request(request)
    try:
        order, new = await _priced_and_placed(deps, request)
    except DomainError:
        # A replay (or a double tap whose twin has just placed the order and so used the coupon, or the last units)
        # that would not pass now: answer with the order its key placed.
        earlier = await _keyed(request)
        if earlier is None:
            raise
        return await first_payment(deps, earlier)
    if new is None:  # an earlier order with the key, or a double tap's twin, placed it
        return await first_payment(deps, order)
    try:
        return await first_payment(deps, order, new)
    except DomainError:
        await cancel_unpayable(deps, order)
        raise


async def _priced_and_placed(deps: OrderDeps, request: CheckoutRequest) -> tuple[Order, NewOrder | None]:
    """Price the request and place its order. An earlier order with the idempotency key is found when writing, the
    customer's row locked (`placing`), or as soon as the counter says its twin holds the units; the unpaid-order
    cap is asked when writing too: a customer at the cap holds the units only until that statement refuses them."""
    wanted = await _wanted_lines(request)
    skus = await _for_sale(list(wanted))
    snapshot, pickup_point_id = await deliveries.resolve(request.delivery, request.customer_id)
    placed_at = deps.clock()
    sources = request.mode.sources() if request.mode is not None else {}
    quote = await engine.quote([(skus[sku_id], qty) for sku_id, qty in wanted.items()], placed_at,
                               request.customer_id, sources)
    quote = await _with_promotions(deps, request, quote, placed_at)
    return await _place(deps, request, wanted, quote, (snapshot, pickup_point_id), placed_at)


async def _with_promotions(deps: OrderDeps, request: CheckoutRequest, quote: Quote, at: datetime) -> Quote:
    if deps.policy(request.kind).takes_order_promotions:
        return await promotions.with_promotions(quote, at, request.customer_id, request.coupon_code)
    if request.coupon_code is not None and request.coupon_code.strip():
        raise DomainError(ErrorCode.COUPON_INVALID, "coupons do not apply to this kind of order", ["couponCode"])
    return quote


class _NumberTaken(Exception):
    """The random order number is already in use (rare): nothing was written or held, try another one."""


async def _place(
    deps: OrderDeps,
    request: CheckoutRequest,
    wanted: dict[int, int],
    quote: engine.Quote,
    delivery: tuple[dict[str, object], int | None],
    placed_at: datetime,
) -> tuple[Order, NewOrder | None]:
    """Take the units in the counter, then write the order in one transaction: no Redis round trip happens while
    the transaction is open. Whatever stops the order after the counter admitted gives the units back once the
    transaction has ended. Returns (order, what paying the new order needs), the latter None when a double tap's
    twin placed the order."""
    for _ in range(NUMBER_ATTEMPTS):
        number = order_number(placed_at)
        holder = holder_for(request.customer_id, request.idempotency_key, number)
        admitted, twin = await _admit(deps, request, holder, wanted)
        if twin is not None:
            return twin, None
        if not admitted:
            continue  # an order in flight holds stock under this number: leave its hold alone, draw another
        try:
            if request.mode is not None:
                await request.mode.admit(deps, holder)
        except BaseException:
            await deps.inventory.give_back(holder, list(wanted))
            raise
        try:
            order, new = await _write_order(request, number, wanted, quote, delivery, placed_at, deps)
        except _NumberTaken:
            await _give_back(deps, request, holder, wanted)
            continue
        except holds.OutOfStock as exc:
            await _give_back(deps, request, holder, wanted)
            raise sold_out(exc.sku_ids) from None
        except BaseException:
            await _give_back(deps, request, holder, wanted)
            raise
        if new is None:  # the twin's order holds its own units: the ones this call took are not needed
            await _give_back(deps, request, holder, wanted)
        return order, new
    raise RuntimeError(f"no free order number in {NUMBER_ATTEMPTS} attempts")


async def _give_back(deps: OrderDeps, request: CheckoutRequest, holder: str, wanted: dict[int, int]) -> None:
    """What `_place` admitted and did not use goes back: the mode's place, then the units."""
    try:
        if request.mode is not None:
            await request.mode.give_back(deps, holder)
    finally:
        await deps.inventory.give_back(holder, list(wanted))


async def _admit(
    deps: OrderDeps, request: CheckoutRequest, holder: str, wanted: dict[int, int]
) -> tuple[bool, Order | None]:
    """Take the units under `holder`: (True, None) when this call took them; (False, None) when an order in flight
    already holds them under this (keyless) holder; (False, order) when a double tap's twin placed that order.

    Another tap with the same key holds the units while it writes its order: wait for that order rather than take
    the units twice (or be told SOLD_OUT because the twin holds the last ones). A twin that fails gives the units
    back (the next admit takes them); a holder with no order after TWIN_PATIENCE belongs to an attempt that died,
    and is freed."""
    hold_seconds = int(deps.payment_window.total_seconds()) + 300
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + TWIN_PATIENCE, 0.02
    while True:
        if await deps.inventory.admit(holder, wanted, hold_seconds):
            return True, None
        if not request.idempotency_key:
            return False, None
        earlier = await _earlier_order(request.customer_id, request.idempotency_key)
        if earlier is not None:
            return False, earlier
        if loop.time() >= deadline:
            await deps.inventory.give_back(holder, list(wanted))
            deadline = loop.time() + TWIN_PATIENCE
            continue
        await asyncio.sleep(pause)
        pause = min(2 * pause, 0.25)


async def _earlier_order(customer_id: int, idempotency_key: str) -> Order | None:
    async with in_transaction():  # waits for a twin whose transaction holds the customer's row
        return (await earlier_tap(customer_id, idempotency_key))[1]


async def _write_order(
    request: CheckoutRequest,
    number: str,
    wanted: dict[int, int],
    quote: engine.Quote,
    delivery: tuple[dict[str, object], int | None],
    placed_at: datetime,
    deps: OrderDeps,
) -> tuple[Order, NewOrder | None]:
    """Hold the stock and write the order, its lines and (paid through WeChat Pay alone) its first trade in one
    transaction (the database only). Returns (order, what paying it needs): the latter is None when a concurrent
    double tap with the same idempotency key got there first."""
    snapshot, pickup_point_id = delivery
    policy = deps.policy(request.kind)
    wallet = request.use_wallet and policy.takes_wallet
    try:
        async with in_transaction():
            openid = await placing.lock_customer(request.customer_id)
            try:
                await discounts.check_limits(request.customer_id, quote.units_by_source(engine.DISCOUNT))
            except DomainError:
                earlier = await _keyed(request)  # a double tap's twin counted: its order answers
                if earlier is not None:
                    return earlier, None
                raise
            order = Order(
                number=number,
                customer_id=request.customer_id,
                kind=request.kind,
                subtotal=quote.subtotal,
                discount_total=quote.discount_total,
                payable=quote.total,
                delivery=snapshot,
                pickup_point_id=pickup_point_id,
                remark=request.remark.strip(),
                share_code=request.share_code,
                idempotency_key=request.idempotency_key,
                expires_at=placed_at + policy.payment_window(deps),
            )
            # the wallet changes what WeChat Pay is owed: its trade is opened after (`prepay`)
            trade = first_trade(order) if quote.total > 0 and not wallet else None
            if not await placing.write(order, [order_line(order, priced) for priced in quote.lines], trade,
                                       deps.max_pending_orders):
                earlier = await _keyed(request)
                if earlier is not None:
                    return earlier, None
                await limits.check_pending(request.customer_id, deps.max_pending_orders)
                raise RuntimeError(f"order {number} was not written, and neither its key nor the cap refused it")
            await promotions.record(order.id, quote, placed_at)
            await deps.events.placed(order)
            if request.mode is not None:  # the mode's rows before the SKUs' (the lock order: domain.orders.kinds)
                await request.mode.write(order, quote)
            await holds.hold(order.id, wanted)
            if wallet:
                await take_from_wallet(order, order.payable)  # balances after the SKUs' rows (the lock order)
            if request.from_cart:
                from domain.cart.service import clear_lines

                await clear_lines(request.customer_id, list(wanted))
            return order, NewOrder(openid, [priced.sku.product.title for priced in quote.lines], trade)
    except IntegrityError:
        if await Order.exists(number=number):
            raise _NumberTaken() from None  # an order written earlier owns this number: draw another one
        if request.idempotency_key:
            existing = await _keyed(request)
            if existing is not None:
                return existing, None
        raise


async def _keyed(request: CheckoutRequest) -> Order | None:
    """The customer's order with the request's idempotency key, if any."""
    if not request.idempotency_key:
        return None
    return await Order.get_or_none(customer_id=request.customer_id, idempotency_key=request.idempotency_key)


async def earlier_tap(customer_id: int, idempotency_key: str | None) -> tuple[str, Order | None]:
    """Inside the order's transaction, before the order is written: lock the customer's row so a concurrent tap with
    the same key waits here for this one, then finds its order instead of taking the stock a second time (or
    being told SOLD_OUT because the first tap holds the last units). Returns the customer's openid and that order."""
    openid = await placing.lock_customer(customer_id)
    earlier = None
    if idempotency_key:
        earlier = await Order.get_or_none(customer_id=customer_id, idempotency_key=idempotency_key)
    return openid, earlier


def order_line(order: Order, priced: engine.PricedLine) -> OrderLine:
    """An order line snapshots what was bought and what priced it."""
    sku = priced.sku
    product = sku.product
    line = raw_sql.new(
        OrderLine,
        sku_id=sku.id,
        product_id=product.id,
        title=product.title,
        specs=sku.specs,
        image=(product.images or [""])[0],
        unit_price=priced.unit_price,
        quantity=priced.quantity,
        discount=priced.discount,
        line_total=priced.total,
        price_source=priced.source.kind if priced.source else None,
        price_source_id=priced.source.id if priced.source else None,
    )
    line.order_id = order.id  # None while the order is not written yet (`placing.write` sets it)
    return line
