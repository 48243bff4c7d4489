"""Catalog reads: what the mini-program browses (and staff see unfiltered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry import relay

from domain.catalog import queries
from domain.catalog.categories import all_categories
from domain.catalog.models import Category, Product, Sku
from domain.catalog.queries import ProductFilter
from domain.errors import DomainError
from domain.flash_sale.models import FlashSale
from domain.group_buy.models import GroupBuyCampaign
from domain.inventory import holds
from domain.pagination import Page
from domain.pricing import engine
from domain.pricing.models import Discount, DiscountItem
from resolvers.context import Context
from resolvers.outcome import decode_id


async def root_categories(ctx: Context) -> list[Category]:
    return [c for c in await all_categories() if c.parent_id is None]


def _filter(category_id: Any, search: str | None, published: bool | None = None) -> ProductFilter | None:
    """None when the filter names a category that cannot exist: the page is then empty."""
    if category_id is None:
        return ProductFilter(search=search, published=published)
    try:
        return ProductFilter(category_id=decode_id(category_id, "Category"), search=search, published=published)
    except DomainError:
        return None


async def products(ctx: Context, first: int | None, after: str | None, category_id: Any, search: str | None) -> Page:
    where = _filter(category_id, search) or ProductFilter(category_id=-1)
    return await queries.shop_products(where, first, after)


async def staff_products(
    ctx: Context, first: int | None, after: str | None, search: str | None, published: bool | None, category_id: Any
) -> Page:
    where = _filter(category_id, search, published) or ProductFilter(category_id=-1)
    return await queries.staff_products(where, first, after)


async def product(ctx: Context, product_id: Any) -> Product | None:
    try:
        return await ctx.loaders.product.load(decode_id(product_id, "Product"))
    except DomainError:
        return None


async def product_skus(ctx: Context, product: Product) -> list[Sku]:
    return await ctx.loaders.skus_by_product.load(product.id)


async def product_category(ctx: Context, product: Product) -> Category | None:
    return await ctx.loaders.category.load(product.category_id)


async def _offers(ctx: Context, skus: list[Sku]) -> dict[int, DiscountItem]:
    found = await ctx.loaders.offer.load_many([sku.id for sku in skus])
    return {sku.id: offer for sku, offer in zip(skus, found, strict=True) if offer is not None}


async def price_range(ctx: Context, product: Product) -> tuple[int, int] | None:
    """Over what the SKUs cost now (the engine's price, discounts applied)."""
    skus = await ctx.loaders.skus_by_product.load(product.id)
    offers = await _offers(ctx, skus)
    member = await ctx.loaders.member_discount_of_caller()
    prices = [engine.unit_price(sku, offers, member) for sku in skus]
    return (min(prices), max(prices)) if prices else None


async def sku_sale_price(ctx: Context, sku: Sku) -> int:
    offer = await ctx.loaders.offer.load(sku.id)
    member = await ctx.loaders.member_discount_of_caller()
    return engine.unit_price(sku, {sku.id: offer} if offer is not None else {}, member)


@dataclass(frozen=True)
class ActiveDiscount:
    discount: Discount
    items: list[DiscountItem]
    """The discount's items for this product's SKUs."""


async def product_active_discount(ctx: Context, product: Product) -> ActiveDiscount | None:
    """The live discount on the product's SKUs; if different SKUs are in different ones, the one ending first."""
    offers = list((await _offers(ctx, await ctx.loaders.skus_by_product.load(product.id))).values())
    if not offers:
        return None
    first = min((offer.discount for offer in offers), key=lambda d: (d.ends_at, d.id))
    return ActiveDiscount(first, [o for o in offers if o.discount_id == first.id])


async def product_flash_sale(ctx: Context, product: Product) -> FlashSale | None:
    return await ctx.loaders.flash_sale_by_product.load(product.id)


async def product_group_buy_campaign(ctx: Context, product: Product) -> GroupBuyCampaign | None:
    return await ctx.loaders.group_buy_by_product.load(product.id)


async def sku_product(ctx: Context, sku: Sku) -> Product | None:
    return await ctx.loaders.product.load(sku.product_id)


def sku_available(sku: Sku) -> int:
    return holds.available(sku)


async def category_children(ctx: Context, category: Category) -> list[Category]:
    return await ctx.loaders.children.load(category.id)


async def category_parent(ctx: Context, category: Category) -> Category | None:
    parent_id = category.parent_id
    return None if parent_id is None else await ctx.loaders.category.load(parent_id)


def _node_loaders(ctx: Context) -> dict[str, Any]:
    return {"Product": ctx.loaders.product, "Sku": ctx.loaders.sku, "Category": ctx.loaders.category,
            "FlashSale": ctx.loaders.flash_sale, "Coupon": ctx.loaders.coupon,
            "CustomerCoupon": ctx.loaders.customer_coupon, "SpendAndSave": ctx.loaders.spend_and_save,
            "GroupBuyCampaign": ctx.loaders.group_buy_campaign, "GroupBuy": ctx.loaders.group_buy,
            "Relay": ctx.loaders.relay, "RelayEntry": ctx.loaders.relay_entry,
            "MemberLevel": ctx.loaders.member_level}


async def nodes(ctx: Context, type_name: str, ids: list[int]) -> list[Any]:
    return list(await _node_loaders(ctx)[type_name].load_many(ids))


async def node(ctx: Context, global_id: str) -> Any:
    """Any visible object by Relay ID; unknown types, malformed IDs and hidden objects are all null."""
    try:
        type_name = relay.GlobalID.from_id(global_id).type_name
    except Exception:  # noqa: BLE001 - an undecodable ID is simply not found
        return None
    loader = _node_loaders(ctx).get(type_name)
    try:
        return None if loader is None else await loader.load(decode_id(global_id, type_name))
    except DomainError:
        return None
