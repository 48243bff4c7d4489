"""Reading the catalog: what shoppers may see, what staff may see, and batched loads for the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.queryset import QuerySet

from domain import raw_sql
from domain.catalog.categories import with_descendants
from domain.catalog.models import Category, Product, Sku
from domain.pagination import Page, paginate

PRODUCT_ORDER = ("sort_order", "id")


@dataclass(frozen=True)
class ProductFilter:
    category_id: int | None = None
    search: str | None = None
    published: bool | None = None


async def _filtered(query: QuerySet[Product], where: ProductFilter) -> QuerySet[Product]:
    if where.category_id is not None:
        query = query.filter(category_id__in=await with_descendants(where.category_id))
    if where.search and where.search.strip():
        query = query.filter(title__icontains=where.search.strip()[:64])
    if where.published is not None:
        query = query.filter(published=where.published)
    return query


async def shop_products(where: ProductFilter, first: int | None, after: str | None) -> Page[Product]:
    """Products a customer can browse: published and not deleted."""
    query = Product.filter(published=True, deleted_at__isnull=True)
    return await paginate(await _filtered(query, where), PRODUCT_ORDER, first, after)


async def staff_products(where: ProductFilter, first: int | None, after: str | None) -> Page[Product]:
    query = Product.filter(deleted_at__isnull=True)
    return await paginate(await _filtered(query, where), PRODUCT_ORDER, first, after)


async def products_by_id(ids: list[int], *, shop_only: bool) -> dict[int, Product]:
    query = Product.filter(id__in=ids, deleted_at__isnull=True)
    if shop_only:
        query = query.filter(published=True)
    return {p.id: p for p in await query}


async def live_skus_by_product(product_ids: list[int]) -> dict[int, list[Sku]]:
    grouped: dict[int, list[Sku]] = defaultdict(list)
    for sku in await Sku.filter(product_id__in=product_ids, deleted_at__isnull=True).order_by("id"):
        grouped[sku.product_id].append(sku)
    return grouped


async def skus_by_id(ids: list[int], *, shop_only: bool) -> dict[int, Sku]:
    query = Sku.filter(id__in=ids, deleted_at__isnull=True, product__deleted_at__isnull=True)
    if shop_only:
        query = query.filter(product__published=True)
    return {s.id: s for s in await query}


async def categories_by_id(ids: list[int]) -> dict[int, Category]:
    return {c.id: c for c in await Category.filter(id__in=ids)}


async def children_by_parent(parent_ids: list[int]) -> dict[int, list[Category]]:
    grouped: dict[int, list[Category]] = defaultdict(list)
    for category in await Category.filter(parent_id__in=parent_ids).order_by("sort_order", "id"):
        assert category.parent_id is not None  # the filter picks children only
        grouped[category.parent_id].append(category)
    return grouped


async def skus_with_products(sku_ids: Sequence[int], *, on_sale: bool) -> dict[int, Sku]:
    """The SKUs, each with its product, in one raw SQL read (on the order paths the ORM's query building cost more
    than the query). `on_sale`: only SKUs and products not deleted, of published products."""
    p = raw_sql.Params()
    sql = (f'SELECT {raw_sql.columns(Sku, "s")}, {raw_sql.columns(Product, "p")} FROM "{Sku._meta.db_table}" s '
           f'JOIN "{Product._meta.db_table}" p ON p."id" = s."product_id" WHERE s."id" {raw_sql.among(p, sku_ids)}')
    if on_sale:
        sql += f' AND s."deleted_at" IS NULL AND p."published" = {p(True)} AND p."deleted_at" IS NULL'
    return {sku.id: sku for sku in (sku_from_row(row, "s", "p") for row in await raw_sql.fetch(sql, *p))}


def sku_from_row(row: dict[str, Any], sku: str, product: str) -> Sku:
    """The SKU with its product that `raw_sql.columns(Sku, sku)` and `raw_sql.columns(Product, product)` read."""
    found = raw_sql.from_row(Sku, row, sku)
    object.__setattr__(found, "_product", raw_sql.from_row(Product, row, product))
    return found
