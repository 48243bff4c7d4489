"""Limited-time discounts for staff: decode IDs, build drafts, call the pricing domain, drop the cached catalog."""

from __future__ import annotations

from typing import Any

from domain.catalog.models import Sku
from domain.errors import NotFound
from domain.pagination import Page
from domain.pricing import discounts
from domain.pricing.discounts import DiscountChanges, DiscountDraft, DiscountStatus, ItemDraft
from domain.pricing.models import Discount, DiscountItem, DiscountKind
from resolvers.catalog_staff import _changed
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given, now


def _sku_id(global_id: Any, index: int) -> int:
    try:
        return decode_id(global_id, "Sku")
    except NotFound:
        raise NotFound("SKU", ["items", str(index), "skuId"]) from None


def _decoded_items(items: Any) -> list[ItemDraft]:
    return [ItemDraft(_sku_id(item.sku_id, i), DiscountKind(item.kind), item.value) for i, item in enumerate(items)]


async def discount_create(ctx: Context, data: Any) -> Outcome[Discount]:
    async def run() -> Discount:
        draft = DiscountDraft(
            name=data.name,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            per_customer_limit=given(data.per_customer_limit),
            items=_decoded_items(data.items),
        )
        return await discounts.create_discount(draft, now())

    return await _changed(ctx, await attempt(run()))


async def discount_update(ctx: Context, data: Any) -> Outcome[Discount]:
    async def run() -> Discount:
        discount_id = decode_id(data.id, "Discount")
        items = given(data.items)
        changes = DiscountChanges(
            name=given(data.name),
            starts_at=given(data.starts_at),
            ends_at=given(data.ends_at),
            per_customer_limit=given(data.per_customer_limit),
            clear_limit=data.per_customer_limit is None,
            items=None if items is None else _decoded_items(items),
        )
        return await discounts.update_discount(discount_id, changes, now())

    return await _changed(ctx, await attempt(run()))


async def discount_end(ctx: Context, data: Any) -> Outcome[Discount]:
    async def run() -> Discount:
        return await discounts.end_discount(decode_id(data.id, "Discount"), now())

    return await _changed(ctx, await attempt(run()))


async def staff_discounts(ctx: Context, first: int | None, after: str | None, status: Any) -> Page[Discount]:
    wanted = None if status is None else DiscountStatus(status.value)
    return await discounts.staff_discounts(wanted, now(), first, after)


def discount_status(discount: Discount) -> DiscountStatus:
    return discounts.status(discount, now())


async def discount_items(ctx: Context, discount: Discount) -> list[DiscountItem]:
    return await ctx.loaders.discount_items.load(discount.id)


async def item_sku(ctx: Context, item: DiscountItem) -> Sku | None:
    return await ctx.loaders.sku.load(item.sku_id)


async def discount_nodes(ids: list[int]) -> list[Discount | None]:
    found = await discounts.discounts_by_id(ids)
    return [found.get(i) for i in ids]
