"""Flash sales: the customer's buy and list, the staff set-up. Decode IDs, call the domain, map its errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from domain.catalog.models import Sku
from domain.errors import DomainError, NotFound
from domain.flash_sale import buy as flash_checkout
from domain.flash_sale import sales as flash_sale
from domain.flash_sale.buy import FlashBuyRequest
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.sales import FlashSaleChanges, FlashSaleDraft, FlashSaleStatus, ItemDraft
from domain.identity.tokens import Principal
from domain.orders.payment import Placed
from domain.pagination import Page
from domain.pricing import engine
from resolvers.catalog_staff import _changed
from resolvers.context import Context, Services
from resolvers.orders import _delivery, customer_id
from resolvers.outcome import Outcome, attempt, decode_id, given, now
from resolvers.permissions import acts_as_customer


def _sku_id(global_id: Any, index: int) -> int:
    try:
        return decode_id(global_id, "Sku")
    except NotFound:
        raise NotFound("SKU", ["items", str(index), "skuId"]) from None


def _items(items: Any) -> list[ItemDraft]:
    return [ItemDraft(_sku_id(item.sku_id, i), item.price, item.quantity) for i, item in enumerate(items)]


def _buy_request(customer: int, data: Any) -> FlashBuyRequest:
    return FlashBuyRequest(
        customer_id=customer,
        sale_id=decode_id(data.flash_sale_id, "FlashSale", "flashSaleId"),
        sku_id=decode_id(data.sku_id, "Sku", "skuId"),
        quantity=data.quantity,
        idempotency_key=data.idempotency_key,
        delivery=None if data.delivery is None else _delivery(data.delivery),
        remark=data.remark,
    )


async def flash_sale_buy(ctx: Context, data: Any) -> Outcome[Placed]:
    async def run() -> Placed:
        return await flash_checkout.buy(ctx.services.orders, _buy_request(customer_id(ctx), data))

    return await attempt(run())


async def flash_sale_buy_sold_out(services: Services, caller: Callable[[], Awaitable[Principal | None]],
                                  data: Any) -> bool:
    """True when `flashSaleBuy` would answer this caller and input SOLD_OUT at once: the input decodes and passes
    the buy's checks, the caller may buy, and the process knows the SKU is sold out for them. Changes nothing
    (`server.flash_buy_lane` answers such a request before GraphQL). The caller (a token check) is only asked
    when the SKU is sold out for a customer the pool has never answered (id 0): a buy that goes on to GraphQL
    pays little here."""
    try:
        request = _buy_request(0, data)
    except DomainError:
        return False
    if not flash_checkout.refused_at_once(services.orders, request):
        return False
    principal = await caller()
    if principal is None or not acts_as_customer(principal):
        return False
    return flash_checkout.refused_at_once(services.orders, replace(request, customer_id=principal.id))


async def _settled(ctx: Context, outcome: Outcome[FlashSale], sku_ids: list[int]) -> Outcome[FlashSale]:
    if outcome.value is not None and not outcome.errors:
        items = await flash_sale.items_by_sale([outcome.value.id])
        skus = sku_ids + [item.sku_id for item in items.get(outcome.value.id, [])]
        await flash_sale.after_change(ctx.services.orders, outcome.value, skus)
    return await _changed(ctx, outcome)


async def _items_before(sale_global_id: Any) -> list[int]:
    """The SKUs a sale had before a change (their stock may change when its items do)."""
    try:
        sale_id = decode_id(sale_global_id, "FlashSale")
    except NotFound:
        return []
    return [item.sku_id for item in (await flash_sale.items_by_sale([sale_id])).get(sale_id, [])]


async def flash_sale_create(ctx: Context, data: Any) -> Outcome[FlashSale]:
    async def run() -> FlashSale:
        draft = FlashSaleDraft(name=data.name, starts_at=data.starts_at, ends_at=data.ends_at,
                               per_customer_limit=data.per_customer_limit, items=_items(data.items))
        return await flash_sale.create_flash_sale(draft, now())

    return await _settled(ctx, await attempt(run()), [])


async def flash_sale_update(ctx: Context, data: Any) -> Outcome[FlashSale]:
    before = await _items_before(data.id)

    async def run() -> FlashSale:
        items = given(data.items)
        changes = FlashSaleChanges(
            name=given(data.name), starts_at=given(data.starts_at), ends_at=given(data.ends_at),
            per_customer_limit=given(data.per_customer_limit), items=None if items is None else _items(items),
        )
        return await flash_sale.update_flash_sale(decode_id(data.id, "FlashSale"), changes, now())

    return await _settled(ctx, await attempt(run()), before)


async def flash_sale_end(ctx: Context, data: Any) -> Outcome[FlashSale]:
    async def run() -> FlashSale:
        return await flash_sale.end_flash_sale(decode_id(data.id, "FlashSale"), now())

    return await _settled(ctx, await attempt(run()), [])


async def flash_sales(ctx: Context, first: int | None, after: str | None, status: Any) -> Page[FlashSale]:
    wanted = None if status is None else FlashSaleStatus(status.value)
    return await flash_sale.flash_sales(wanted, now(), first, after)


def sale_status(sale: FlashSale) -> FlashSaleStatus:
    return flash_sale.status(sale, now())


async def sale_items(ctx: Context, sale: FlashSale) -> list[FlashSaleItem]:
    return await ctx.loaders.flash_items.load(sale.id)


async def item_buy_price(ctx: Context, item: FlashSaleItem) -> int:
    """What one unit costs through the sale now: the engine's rule (the lower of the sale and the discount price)."""
    sku = await ctx.loaders.sku.load(item.sku_id)
    if sku is None:
        return item.price
    offer = await ctx.loaders.offer.load(sku.id)
    member = await ctx.loaders.member_discount_of_caller()
    candidates = [*engine.discount_source(sku, offer), flash_sale.price_source(item)]
    return engine.line_price(sku, 1, candidates, member).unit_price


async def item_sku(ctx: Context, item: FlashSaleItem) -> Sku | None:
    return await ctx.loaders.sku.load(item.sku_id)



async def flash_sale_nodes(ctx: Context, ids: list[int]) -> list[FlashSale | None]:
    return list(await ctx.loaders.flash_sale.load_many(ids))
