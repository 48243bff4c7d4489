"""Request-scoped DataLoaders: one batched query per kind of object, however many rows ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from domain.catalog import queries
from domain.catalog.models import Category, Product, Sku
from domain.orders import queries as order_queries
from domain.orders.models import OrderLine, Refund
from domain.pricing import flash_sale
from domain.pricing.coupons import copies_by_id, coupons_by_id
from domain.pricing.discounts import active_discounts, items_by_discount
from domain.pricing.models import (
    Coupon,
    CustomerCoupon,
    DiscountItem,
    FlashSale,
    FlashSaleItem,
    OrderPromotion,
    SpendAndSave,
)
from domain.pricing.promotions import promotions_by_order
from domain.pricing.spend_and_save import spend_and_saves_by_id

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _keyed(fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: Any = None) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found.get(key, default() if callable(default) else default) for key in keys]

    return DataLoader(load_fn=load)


async def _visible_copies(ids: list[int], customer_id: int | None, *, staff: bool) -> dict[int, CustomerCoupon]:
    if customer_id is None and not staff:
        return {}
    return await copies_by_id(ids, customer_id)


class Loaders:
    """Built once per request in the GraphQL context; `shop_only` hides what customers may not see."""

    def __init__(self, *, shop_only: bool, customer_id: int | None = None) -> None:
        self.product: DataLoader[int, Product | None] = _keyed(
            lambda ids: queries.products_by_id(ids, shop_only=shop_only)
        )
        self.sku: DataLoader[int, Sku | None] = _keyed(lambda ids: queries.skus_by_id(ids, shop_only=shop_only))
        self.skus_by_product: DataLoader[int, list[Sku]] = _keyed(queries.live_skus_by_product, default=list)
        self.category: DataLoader[int, Category | None] = _keyed(queries.categories_by_id)
        self.children: DataLoader[int, list[Category]] = _keyed(queries.children_by_parent, default=list)
        self.order_lines: DataLoader[int, list[OrderLine]] = _keyed(order_queries.lines_by_order, default=list)
        self.offer: DataLoader[int, DiscountItem | None] = _keyed(
            lambda ids: active_discounts(ids, datetime.now(UTC))
        )
        """The live limited-time discount item of each SKU id, with its discount."""
        self.discount_items: DataLoader[int, list[DiscountItem]] = _keyed(items_by_discount, default=list)
        self.order_refunds: DataLoader[int, list[Refund]] = _keyed(order_queries.refunds_by_order, default=list)
        self.coupon: DataLoader[int, Coupon | None] = _keyed(coupons_by_id)
        self.customer_coupon: DataLoader[int, CustomerCoupon | None] = _keyed(
            lambda ids: _visible_copies(ids, customer_id, staff=not shop_only)
        )
        """Claimed coupons: a customer's own, or any for staff."""
        self.spend_and_save: DataLoader[int, SpendAndSave | None] = _keyed(spend_and_saves_by_id)
        self.order_promotions: DataLoader[int, list[OrderPromotion]] = _keyed(promotions_by_order, default=list)
        self.flash_sale_by_product: DataLoader[int, FlashSale | None] = _keyed(
            lambda ids: flash_sale.sale_by_product(ids, datetime.now(UTC))
        )
        """Each product's running flash sale, or else its next one."""
        self.flash_sale: DataLoader[int, FlashSale | None] = _keyed(flash_sale.sales_by_id)
        self.flash_items: DataLoader[int, list[FlashSaleItem]] = _keyed(flash_sale.items_by_sale, default=list)
