"""The customer's orders: checkout, paying, the lifecycle actions and reading their own orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.catalog.models import Sku
from domain.errors import DomainError, DomainErrors, ErrorCode, NotFound
from domain.ledger import service as ledger
from domain.orders import checkout as placing
from domain.orders import lifecycle, queries, refund_states, refunds
from domain.orders.checkout import CheckoutRequest
from domain.orders.delivery import Address, DeliveryChoice
from domain.orders.models import Order, OrderLine, OrderStatus, Refund
from domain.orders.payment import Placed, pay
from domain.pagination import Page
from domain.pricing.models import OrderPromotion
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, under
from resolvers.permissions import customer_id_of


@dataclass
class RefundResult:
    """A refund and the order it moved (REFUNDING, or back where it was)."""

    order: Order
    refund: Refund


customer_id = customer_id_of
"""The signed-in customer's id (the name the selling modes' resolvers import)."""


def _lines(lines: Any) -> list[tuple[int, int]] | None:
    if lines is None:
        return None
    decoded: list[tuple[int, int]] = []
    errors: list[DomainError] = []
    for index, line in enumerate(lines):
        try:
            decoded.append((decode_id(line.sku_id, "Sku"), line.quantity))
        except DomainError:
            errors.append(NotFound("item", ["lines", str(index), "skuId"]))
    if errors:
        raise DomainErrors(errors)
    return decoded


def _delivery(data: Any) -> DeliveryChoice:
    a = data.address
    address = None if a is None else Address(a.name, a.phone, a.province, a.city, a.district, a.detail)
    point = data.pickup_point_id
    point_id = None if point is None else decode_id(point, "PickupPoint", "pickupPointId")
    saved = getattr(data, "address_id", None)
    saved_id = None if saved is None else decode_id(saved, "SavedAddress", "addressId")
    return DeliveryChoice(address=address, pickup_point_id=point_id, address_id=saved_id)


CHECKOUT_WINDOW_SECONDS = 60


async def _within_checkout_rate(ctx: Context) -> None:
    """Checkouts per customer per minute: a script cannot cycle orders to keep stock held."""
    limit = ctx.services.checkout_rate_limit
    if not await ctx.services.rate_limiter.hit(f"checkout:{customer_id(ctx)}", limit, CHECKOUT_WINDOW_SECONDS):
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {limit} checkouts a minute: try again shortly")


async def checkout(ctx: Context, data: Any) -> Outcome[Placed]:
    async def run() -> Placed:
        await _within_checkout_rate(ctx)
        try:
            delivery = _delivery(data.delivery)
        except NotFound as exc:
            raise under("delivery", exc) from None
        request = CheckoutRequest(
            customer_id=customer_id(ctx),
            delivery=delivery,
            lines=_lines(data.lines),
            from_cart=bool(data.from_cart),
            remark=data.remark,
            share_code=data.share_code,
            idempotency_key=data.idempotency_key,
            coupon_code=data.coupon_code,
            use_wallet=bool(data.use_wallet),
        )
        return await placing.checkout(ctx.services.orders, request)

    return await attempt(run())


async def _own_order(ctx: Context, global_id: Any) -> Order:
    """NOT_FOUND for a malformed ID, a missing order and another customer's order alike."""
    return await lifecycle.customer_order(customer_id(ctx), decode_id(global_id, "Order", "orderId"))


async def order_pay(ctx: Context, data: Any) -> Outcome[Placed]:
    async def run() -> Placed:
        order = await _own_order(ctx, data.order_id)
        return await pay(ctx.services.orders, order, use_wallet=bool(data.use_wallet))

    return await attempt(run())


async def order_cancel(ctx: Context, data: Any) -> Outcome[Order]:
    async def run() -> Order:
        return await lifecycle.cancel_by_customer(ctx.services.orders, await _own_order(ctx, data.order_id))

    return await attempt(run())


async def order_confirm_receipt(ctx: Context, data: Any) -> Outcome[Order]:
    async def run() -> Order:
        return await lifecycle.confirm_receipt(ctx.services.orders, await _own_order(ctx, data.order_id))

    return await attempt(run())


async def order_request_refund(ctx: Context, data: Any) -> Outcome[RefundResult]:
    async def run() -> RefundResult:
        order = await _own_order(ctx, data.order_id)
        refund = await refunds.request_refund(ctx.services.orders, order, data.amount, data.reason, ctx.actor)
        return RefundResult(order, refund)

    return await attempt(run())


async def orders(ctx: Context, first: int | None, after: str | None, status: OrderStatus | None) -> Page[Order]:
    return await queries.customer_orders(customer_id(ctx), status, first, after)


async def order(ctx: Context, global_id: Any) -> Order | None:
    try:
        order_id = decode_id(global_id, "Order")
    except DomainError:
        return None
    return await queries.customer_order(customer_id(ctx), order_id)


async def order_lines(ctx: Context, order: Order) -> list[OrderLine]:
    return await ctx.loaders.order_lines.load(order.id)


async def order_refunds(ctx: Context, order: Order) -> list[Refund]:
    return await ctx.loaders.order_refunds.load(order.id)


async def order_pickup_code(ctx: Context, order: Order) -> str | None:
    """The code hands the goods over: nobody but the order's customer and staff may read it."""
    if not ctx.is_staff and ctx.customer_id != order.customer_id:
        return None
    return await ctx.loaders.pickup_code.load(order.id)


async def order_payment_parts(ctx: Context, order: Order) -> list[ledger.Part]:
    return await ctx.loaders.order_parts.load(order.id)


async def order_refund_owed(ctx: Context, order: Order) -> int:
    return refund_states.owed(await ctx.loaders.order_refunds.load(order.id))


async def refund_order(ctx: Context, refund: Refund) -> Order | None:
    return await ctx.loaders.order.load(refund.order_id)


async def order_promotions(ctx: Context, order: Order) -> list[OrderPromotion]:
    return await ctx.loaders.order_promotions.load(order.id)


async def line_sku(ctx: Context, line: OrderLine) -> Sku | None:
    """The catalog SKU as it is now; null once it is deleted (or, for shoppers, off sale)."""
    return await ctx.loaders.sku.load(line.sku_id)
