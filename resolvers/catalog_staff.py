"""Goods management mutations: decode IDs, build drafts, call the catalog domain, report outcomes."""

from __future__ import annotations

from typing import Any

from strawberry import UNSET

from domain.catalog import categories, products, stock
from domain.catalog.models import Category, Product, Sku
from domain.catalog.products import ProductChanges, SkuChanges
from domain.catalog.rules import ProductDraft, SkuDraft, Spec
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given


def _specs(specs: Any) -> list[Spec]:
    return [Spec(name=s.name, value=s.value) for s in specs]


def _sku_draft(data: Any) -> SkuDraft:
    return SkuDraft(
        specs=_specs(data.specs),
        price=data.price,
        original_price=given(data.original_price),
        stock=data.stock,
        barcode=data.barcode,
        weight=data.weight,
    )


async def _changed(ctx: Context, outcome: Outcome[Any]) -> Outcome[Any]:
    """Every successful goods mutation changes what shoppers read: drop the cached catalog before returning. That
    starts a new catalog generation in every process, which also drops the rows remembered for the old one
    (promotions, member levels, distribution settings: `domain.remembered`)."""
    if not outcome.errors:
        await ctx.services.catalog_changed()
    return outcome


async def category_create(ctx: Context, data: Any) -> Outcome[Category]:
    async def run() -> Category:
        parent = given(data.parent_id)
        parent_id = None if parent is None else decode_id(parent, "Category", "parentId")
        return await categories.create_category(data.name, parent_id, data.sort_order, data.image)

    return await _changed(ctx, await attempt(run()))


async def category_update(ctx: Context, data: Any) -> Outcome[Category]:
    async def run() -> Category:
        category_id = decode_id(data.id, "Category")
        parent = data.parent_id
        return await categories.update_category(
            category_id,
            name=given(data.name),
            parent_id=None if parent in (UNSET, None) else decode_id(parent, "Category", "parentId"),
            move_to_root=parent is None,
            sort_order=given(data.sort_order),
            image=given(data.image),
        )

    return await _changed(ctx, await attempt(run()))


async def category_delete(ctx: Context, data: Any) -> Outcome[int]:
    async def run() -> int:
        category_id = decode_id(data.id, "Category")
        await categories.delete_category(category_id)
        return category_id

    return await _changed(ctx, await attempt(run()))


async def product_create(ctx: Context, data: Any) -> Outcome[Product]:
    async def run() -> Product:
        draft = ProductDraft(
            title=data.title,
            category_id=decode_id(data.category_id, "Category", "categoryId"),
            subtitle=data.subtitle,
            images=list(data.images),
            description=data.description,
            sort_order=data.sort_order,
            skus=[_sku_draft(sku) for sku in data.skus],
        )
        return await products.create_product(draft, ctx.actor)

    return await _changed(ctx, await attempt(run()))


async def product_update(ctx: Context, data: Any) -> Outcome[Product]:
    async def run() -> Product:
        category = given(data.category_id)
        changes = ProductChanges(
            title=given(data.title),
            subtitle=given(data.subtitle),
            images=given(data.images),
            description=given(data.description),
            category_id=None if category is None else decode_id(category, "Category", "categoryId"),
            sort_order=given(data.sort_order),
        )
        return await products.update_product(decode_id(data.id, "Product"), changes)

    return await _changed(ctx, await attempt(run()))


async def product_delete(ctx: Context, data: Any) -> Outcome[int]:
    async def run() -> int:
        product_id = decode_id(data.id, "Product")
        await products.delete_product(product_id)
        return product_id

    return await _changed(ctx, await attempt(run()))


async def product_publish(ctx: Context, data: Any) -> Outcome[Product]:
    return await _changed(ctx, await attempt(_publish(data)))


async def _publish(data: Any) -> Product:
    return await products.set_published(decode_id(data.id, "Product"), data.published)


async def sku_create(ctx: Context, data: Any) -> Outcome[Sku]:
    async def run() -> Sku:
        product_id = decode_id(data.product_id, "Product", "productId")
        return await products.create_sku(product_id, _sku_draft(data), ctx.actor)

    return await _changed(ctx, await attempt(run()))


async def sku_update(ctx: Context, data: Any) -> Outcome[Sku]:
    async def run() -> Sku:
        specs = given(data.specs)
        changes = SkuChanges(
            specs=None if specs is None else _specs(specs),
            price=given(data.price),
            barcode=given(data.barcode),
            weight=given(data.weight),
        )
        if data.original_price is not UNSET:
            changes.original_price = data.original_price
        return await products.update_sku(decode_id(data.id, "Sku"), changes)

    return await _changed(ctx, await attempt(run()))


async def sku_delete(ctx: Context, data: Any) -> Outcome[int]:
    async def run() -> int:
        sku = await products.delete_sku(decode_id(data.id, "Sku"))
        return sku.id

    return await _changed(ctx, await attempt(run()))


async def stock_adjust(ctx: Context, data: Any) -> Outcome[Sku]:
    async def run() -> Sku:
        sku = await stock.adjust_stock(decode_id(data.sku_id, "Sku", "skuId"), data.delta, data.reason, ctx.actor)
        await ctx.services.orders.inventory.resync([sku.id])
        return sku

    return await _changed(ctx, await attempt(run()))
