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
from domain.pricing.discounts import active_discounts, items_by_discount
from domain.pricing.models import DiscountItem

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _keyed(fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: Any = None) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found.get(key, default() if callable(default) else default) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """Built once per request in the GraphQL context; `shop_only` hides what customers may not see."""

    def __init__(self, *, shop_only: bool) -> None:
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
