from __future__ import annotations

import pytest
from tortoise.functions import Sum

from domain.catalog.categories import create_category
from domain.catalog.demo import seed_demo_catalog
from domain.catalog.models import Category, Product, Sku, StockMovement
from domain.catalog.products import create_product, delete_product
from domain.catalog.rules import ProductDraft, SkuDraft

pytestmark = pytest.mark.usefixtures("db")


async def test_seeds_an_empty_store_once() -> None:
    created = await seed_demo_catalog()

    assert created >= 20
    assert await Product.all().count() == created
    assert await Product.filter(published=True).count() == created - 2
    for product in await Product.all().prefetch_related("skus"):
        assert len(product.skus) >= 1, product.title
        assert 1 <= len(product.images) <= 3
    assert await Category.filter(parent_id__isnull=True).count() >= 5
    assert await Category.filter(parent_id__isnull=False).count() >= 5

    skus = await Sku.all()
    assert any(sku.stock == 0 for sku in skus)
    sums = dict(
        await StockMovement.all().group_by("sku_id").annotate(total=Sum("delta")).values_list("sku_id", "total")
    )
    for sku in skus:
        assert sums.get(sku.id, 0) == sku.stock, sku.spec_key
    assert set(await StockMovement.all().values_list("actor", flat=True)) == {"system:seed"}

    counts = (await Category.all().count(), await Product.all().count(), await Sku.all().count())
    assert await seed_demo_catalog() == 0
    assert (await Category.all().count(), await Product.all().count(), await Sku.all().count()) == counts


async def test_a_store_whose_only_product_was_deleted_is_not_seeded() -> None:
    category = await create_category("自营")
    draft = ProductDraft(title="试卖款", category_id=category.id, skus=[SkuDraft(specs=[], price=100, stock=3)])
    await delete_product((await create_product(draft, "staff:1")).id)

    assert await seed_demo_catalog() == 0
    assert await Category.all().count() == 1
    assert await Product.all().count() == 1
