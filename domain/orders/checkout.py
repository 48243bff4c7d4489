"""Placing an order: price it, hold the stock, write it, then ask WeChat Pay for a prepay (outside any transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.catalog.models import Sku
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.inventory import holds
from domain.inventory.service import sold_out
from domain.orders import delivery as deliveries
from domain.orders import limits
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderKind, OrderLine
from domain.orders.numbers import order_number
from domain.orders.payment import NewOrder, Placed, cancel_unpayable, first_payment
from domain.pricing import discounts, engine, promotions

MAX_LINES = 50
MAX_QUANTITY = 99
NUMBER_ATTEMPTS = 5


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
    kind: OrderKind = OrderKind.NORMAL
    extra: dict[str, object] = field(default_factory=dict)


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
    skus = await Sku.filter(
        id__in=sku_ids, deleted_at__isnull=True, product__published=True, product__deleted_at__isnull=True
    ).prefetch_related("product")
    found = {sku.id: sku for sku in skus}
    if len(found) != len(sku_ids):
        raise NotFound("item", ["lines"])
    return found


async def checkout(deps: OrderDeps, request: CheckoutRequest) -> Placed:
    _check_request(request)
    if request.idempotency_key:
        replayed = await Order.get_or_none(customer_id=request.customer_id, idempotency_key=request.idempotency_key)
        if replayed is not None:
            return await first_payment(deps, replayed)
    wanted = await _wanted_lines(request)
    skus = await _for_sale(list(wanted))
    snapshot, pickup_point_id = await deliveries.resolve(request.delivery)
    customer = await Customer.get(id=request.customer_id)
    placed_at = deps.clock()
    quote = await engine.quote([(skus[sku_id], qty) for sku_id, qty in wanted.items()], placed_at, customer.id)
    try:
        quote = await promotions.with_promotions(quote, placed_at, customer.id, request.coupon_code)
    except DomainError:
        # A double tap whose twin has just placed the order (and so used the coupon): answer with that order.
        twin = request.idempotency_key and await Order.get_or_none(
            customer_id=request.customer_id, idempotency_key=request.idempotency_key)
        if twin:
            return await first_payment(deps, twin)
        raise
    delivery = (snapshot, pickup_point_id)
    for _ in range(NUMBER_ATTEMPTS):
        try:
            order, replayed = await _write_order(
                deps, request, order_number(placed_at), wanted, quote, delivery, placed_at
            )
        except _NumberTaken:
            continue
        break
    else:
        raise RuntimeError(f"no free order number in {NUMBER_ATTEMPTS} attempts")
    if replayed:
        return await first_payment(deps, order)
    titles = [priced.sku.product.title for priced in quote.lines]  # type: ignore[attr-defined]
    try:
        return await first_payment(deps, order, NewOrder(customer.openid, titles))
    except DomainError:
        await cancel_unpayable(deps, order)
        raise


class _NumberTaken(Exception):
    """The random order number is already in use (rare): nothing was written or held, try another one."""


async def _write_order(
    deps: OrderDeps,
    request: CheckoutRequest,
    number: str,
    wanted: dict[int, int],
    quote: engine.Quote,
    delivery: tuple[dict[str, object], int | None],
    placed_at: datetime,
) -> tuple[Order, bool]:
    """Hold the stock and write the order and its lines in one transaction. Returns (order, replayed): replayed
    is True when a concurrent double tap with the same idempotency key got there first."""
    snapshot, pickup_point_id = delivery
    hold_seconds = int(deps.payment_window.total_seconds()) + 300
    admitted = False
    try:
        async with in_transaction():
            _, existing = await earlier_tap(request.customer_id, request.idempotency_key)
            if existing is not None:
                return existing, True
            await limits.check_pending(request.customer_id, deps.max_pending_orders)
            await discounts.check_limits(request.customer_id, [(p.offer, p.quantity) for p in quote.lines if p.offer])
            if not await deps.inventory.admit(number, wanted, hold_seconds):
                raise _NumberTaken()  # an order in flight holds stock under this number: leave its hold alone
            admitted = True
            order = await Order.create(
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
                expires_at=placed_at + deps.payment_window,
            )
            await OrderLine.bulk_create([order_line(order, priced) for priced in quote.lines])
            await promotions.record(order.id, quote, placed_at)
            await holds.hold(order.id, wanted)
            if request.from_cart:
                from domain.cart.service import clear_lines

                await clear_lines(request.customer_id, list(wanted))
            return order, False
    except holds.OutOfStock as exc:
        await deps.inventory.give_back(number, list(wanted))
        raise sold_out(exc.sku_ids) from None
    except IntegrityError:
        if admitted:  # this call took the units: the admit was fresh, so the holder record is this order's
            await deps.inventory.give_back(number, list(wanted))
        if await Order.exists(number=number):
            raise _NumberTaken() from None  # an order written earlier owns this number: draw another one
        if request.idempotency_key:
            existing = await Order.get_or_none(customer_id=request.customer_id, idempotency_key=request.idempotency_key)
            if existing is not None:
                return existing, True
        raise
    except BaseException:
        if admitted:
            await deps.inventory.give_back(number, list(wanted))
        raise


async def earlier_tap(customer_id: int, idempotency_key: str | None) -> tuple[Customer, Order | None]:
    """Inside the order's transaction, before the order is written: lock the customer's row so a concurrent tap with
    the same key waits here for this one, then finds its order instead of taking the stock a second time (or
    being told SOLD_OUT because the first tap holds the last units). Returns the locked customer and that order."""
    customer = await Customer.filter(id=customer_id).select_for_update(no_key=True).first()
    if customer is None:
        raise NotFound("customer")
    earlier = None
    if idempotency_key:
        earlier = await Order.get_or_none(customer_id=customer_id, idempotency_key=idempotency_key)
    return customer, earlier


def order_line(order: Order, priced: engine.PricedLine) -> OrderLine:
    """An order line snapshots what was bought and what priced it."""
    sku = priced.sku
    product = sku.product  # type: ignore[attr-defined]
    return OrderLine(
        order_id=order.id,
        sku_id=sku.id,
        product_id=product.id,
        title=product.title,
        specs=sku.specs,
        image=(product.images or [""])[0],
        unit_price=priced.unit_price,
        quantity=priced.quantity,
        discount=priced.discount,
        line_total=priced.total,
        price_discount_id=priced.offer.discount_id if priced.offer else None,  # type: ignore[attr-defined]
        price_flash_sale_id=priced.flash.sale_id if priced.flash else None,  # type: ignore[attr-defined]
    )
