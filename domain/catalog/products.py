"""Goods management: products and their SKUs as the merchant creates and changes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from tortoise.timezone import now
from tortoise.transactions import in_transaction

from domain.catalog.categories import get_category
from domain.catalog.models import Product, Sku
from domain.catalog.rules import (
    ProductDraft,
    SkuDraft,
    Spec,
    check_images,
    check_price,
    check_product,
    check_sku,
    check_specs,
    check_text,
    spec_key,
)
from domain.catalog.stock import record_initial_stock
from domain.columns import column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound


class _Unset(Enum):
    UNSET = "UNSET"


#: SkuChanges.original_price left out: the price stays (None clears it)
UNSET: Final = _Unset.UNSET


@dataclass
class ProductChanges:
    title: str | None = None
    subtitle: str | None = None
    images: list[str] | None = None
    description: str | None = None
    category_id: int | None = None
    sort_order: int | None = None


@dataclass
class SkuChanges:
    specs: list[Spec] | None = None
    price: int | None = None
    original_price: int | None | _Unset = UNSET
    barcode: str | None = None
    weight: int | None = None


async def get_live_product(product_id: int, field: str = "id") -> Product:
    product = await Product.get_or_none(id=product_id, deleted_at__isnull=True)
    if product is None:
        raise NotFound("product", [field])
    return product


async def get_live_sku(sku_id: int, field: str = "id") -> Sku:
    sku = await Sku.get_or_none(id=sku_id, deleted_at__isnull=True)
    if sku is None:
        raise NotFound("SKU", [field])
    return sku


async def _create_sku(product_id: int, draft: SkuDraft, actor: str) -> Sku:
    sku = await Sku.create(
        product_id=product_id,
        specs=[{"name": s.name, "value": s.value} for s in draft.specs],
        spec_key=spec_key(draft.specs),
        price=draft.price,
        original_price=draft.original_price,
        stock=draft.stock,
        barcode=draft.barcode,
        weight=draft.weight,
    )
    await record_initial_stock(sku, actor)
    return sku


async def create_product(draft: ProductDraft, actor: str) -> Product:
    draft = check_product(draft)
    await get_category(draft.category_id, "categoryId")
    async with in_transaction():
        product = await Product.create(
            title=draft.title,
            subtitle=draft.subtitle,
            images=draft.images,
            description=draft.description,
            category_id=draft.category_id,
            sort_order=draft.sort_order,
        )
        for sku in draft.skus:
            await _create_sku(product.id, sku, actor)
    return product


async def update_product(product_id: int, changes: ProductChanges) -> Product:
    product = await get_live_product(product_id)
    if changes.title is not None:
        product.title = check_text(changes.title, "title", ["title"], required=True, max_length=120)
    if changes.subtitle is not None:
        product.subtitle = check_text(changes.subtitle, "subtitle", ["subtitle"], required=False, max_length=255)
    if changes.images is not None:
        product.images = check_images(changes.images, ["images"])
    if changes.description is not None:
        product.description = changes.description
    if changes.category_id is not None:
        product.category = await get_category(changes.category_id, "categoryId")
    if changes.sort_order is not None:
        product.sort_order = changes.sort_order
    await product.save()
    return product


async def delete_product(product_id: int) -> None:
    """Withdraw it for good; the rows stay so past orders and the stock audit keep their references."""
    async with in_transaction():
        product = await get_live_product(product_id)
        product.deleted_at = now()
        product.published = False
        await product.save(update_fields=["deleted_at", "published", "updated_at"])


async def set_published(product_id: int, published: bool) -> Product:
    product = await get_live_product(product_id)
    if published and not await Sku.filter(product_id=product.id, deleted_at__isnull=True).exists():
        raise DomainError(ErrorCode.INVALID_STATE, "a product needs at least one SKU to be published", ["id"])
    product.published = published
    await product.save(update_fields=["published", "updated_at"])
    return product


async def _live_spec_keys(product_id: int, excluding: int | None = None) -> set[str]:
    query = Sku.filter(product_id=product_id, deleted_at__isnull=True)
    if excluding is not None:
        query = query.exclude(id=excluding)
    return set(await column(query, "spec_key", str))


def _duplicate(key: str) -> DomainError:
    return DomainError(ErrorCode.DUPLICATE, f"the product already has a SKU with specs {key or '(none)'}", ["specs"])


async def create_sku(product_id: int, draft: SkuDraft, actor: str) -> Sku:
    check_sku(draft, [])
    async with in_transaction():
        product = await get_live_product(product_id, "productId")
        if spec_key(draft.specs) in await _live_spec_keys(product.id):
            raise _duplicate(spec_key(draft.specs))
        return await _create_sku(product.id, draft, actor)


async def update_sku(sku_id: int, changes: SkuChanges) -> Sku:
    sku = await get_live_sku(sku_id)
    errors: list[DomainError] = []
    if changes.specs is not None:
        specs = check_specs(changes.specs, ["specs"])
        key = spec_key(specs)
        if key in await _live_spec_keys(sku.product_id, excluding=sku.id):
            errors.append(_duplicate(key))
        sku.specs = [{"name": s.name, "value": s.value} for s in specs]
        sku.spec_key = key
    if changes.price is not None:
        sku.price = check_price(changes.price, ["price"])
    if changes.original_price is not UNSET:
        original = changes.original_price
        if original is not None:
            check_price(original, ["originalPrice"], name="originalPrice")
        sku.original_price = original
    if sku.original_price is not None and sku.original_price < sku.price:
        errors.append(Invalid("originalPrice must not be below price", ["originalPrice"]))
    if changes.barcode is not None:
        sku.barcode = check_text(changes.barcode, "barcode", ["barcode"], required=False, max_length=64)
    if changes.weight is not None:
        if not 0 <= changes.weight <= 1_000_000:
            errors.append(Invalid("weight must be between 0 and 1,000,000 grams", ["weight"]))
        sku.weight = changes.weight
    if errors:
        raise DomainErrors(errors)
    await sku.save()
    return sku


async def delete_sku(sku_id: int) -> Sku:
    async with in_transaction():
        sku = await get_live_sku(sku_id)
        product = await Product.get(id=sku.product_id)
        siblings = await Sku.filter(product_id=product.id, deleted_at__isnull=True).exclude(id=sku.id).count()
        if product.published and siblings == 0:
            message = "the last SKU of a published product cannot be deleted; unpublish first"
            raise DomainError(ErrorCode.INVALID_STATE, message, ["id"])
        sku.deleted_at = now()
        sku.spec_key = f"~{sku.id}"
        await sku.save(update_fields=["deleted_at", "spec_key", "updated_at"])
    return sku


