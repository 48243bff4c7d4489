"""Catalog types and the shopper's catalog queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info, relay

from domain.catalog import models
from resolvers import catalog
from schema.core import Connection, Money, PriceRange, connection, model_node, money_field

if TYPE_CHECKING:
    from schema.discounts import ActiveDiscount
    from schema.flash_sale import FlashSale
    from schema.group_buy import GroupBuyCampaign


@strawberry.type(description="One spec of a SKU, e.g. 颜色: 红")
class SpecValue:
    name: str
    value: str


@strawberry.type(description="A product category; categories form a tree")
class Category(relay.Node):
    id: relay.NodeID[int]
    name: str
    sort_order: int
    image: str
    is_type_of = model_node(models.Category)

    @strawberry.field
    async def parent(self, root: strawberry.Parent[models.Category], info: Info) -> Category | None:
        return await catalog.category_parent(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    async def children(self, root: strawberry.Parent[models.Category], info: Info) -> list[Category]:
        return await catalog.category_children(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await catalog.nodes(info.context, "Category", [int(i) for i in node_ids])


@strawberry.type(description="A purchasable variant of a product")
class Sku(relay.Node):
    id: relay.NodeID[int]
    barcode: str
    weight: int = strawberry.field(description="grams")
    is_type_of = model_node(models.Sku)

    @strawberry.field
    def specs(self, sku: strawberry.Parent[models.Sku]) -> list[SpecValue]:
        return [SpecValue(name=s["name"], value=s["value"]) for s in sku.specs]

    price: Money = money_field("price", "The list price staff set; `salePrice` is what a customer pays now")

    @strawberry.field
    def original_price(self, sku: strawberry.Parent[models.Sku]) -> Money | None:
        original = sku.original_price
        return None if original is None else Money(amount=original)

    @strawberry.field(description="What the caller pays for one unit now: the list price `price`, or less while a "
                      "limited-time discount covers the SKU, with a signed-in customer's member discount taken off")
    async def sale_price(self, root: strawberry.Parent[models.Sku], info: Info) -> Money:
        return Money(amount=await catalog.sku_sale_price(info.context, root))

    @strawberry.field(description="Units that can be bought right now (stock minus open reservations)")
    def available(self, root: strawberry.Parent[models.Sku]) -> int:
        return catalog.sku_available(root)

    @strawberry.field(description="Stock on hand; staff only (null for others)")
    def stock(self, sku: strawberry.Parent[models.Sku], info: Info) -> int | None:
        return sku.stock if info.context.is_staff else None

    @strawberry.field
    async def product(
        self, root: strawberry.Parent[models.Sku], info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.catalog")] | None:
        return await catalog.sku_product(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await catalog.nodes(info.context, "Sku", [int(i) for i in node_ids])


@strawberry.type(description="A product with its SKUs")
class Product(relay.Node):
    id: relay.NodeID[int]
    title: str
    subtitle: str
    images: list[str]
    description: str = strawberry.field(description="Rich text (HTML) shown on the detail page")
    published: bool
    sort_order: int
    created_at: datetime
    updated_at: datetime
    is_type_of = model_node(models.Product)

    @strawberry.field
    async def skus(self, root: strawberry.Parent[models.Product], info: Info) -> list[Sku]:
        return await catalog.product_skus(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    async def category(self, root: strawberry.Parent[models.Product], info: Info) -> Category | None:
        return await catalog.product_category(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Lowest and highest `salePrice` of the SKUs: what a customer pays now")
    async def price_range(self, root: strawberry.Parent[models.Product], info: Info) -> PriceRange | None:
        found = await catalog.price_range(info.context, root)
        return None if found is None else PriceRange(min=Money(amount=found[0]), max=Money(amount=found[1]))

    @strawberry.field(description="The limited-time discount on its SKUs now, and when it ends (null if none)")
    async def active_discount(
        self, root: strawberry.Parent[models.Product], info: Info
    ) -> Annotated[ActiveDiscount, strawberry.lazy("schema.discounts")] | None:
        return await catalog.product_active_discount(info.context, root)  # type: ignore[return-value]  # an ActiveDiscount, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The flash sale running on this product's SKUs, or else the next one")
    async def flash_sale(
        self, root: strawberry.Parent[models.Product], info: Info
    ) -> Annotated[FlashSale, strawberry.lazy("schema.flash_sale")] | None:
        return await catalog.product_flash_sale(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The group-buy campaign running on this product's SKUs (null if none)")
    async def group_buy_campaign(
        self, root: strawberry.Parent[models.Product], info: Info
    ) -> Annotated[GroupBuyCampaign, strawberry.lazy("schema.group_buy")] | None:
        return await catalog.product_group_buy_campaign(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await catalog.nodes(info.context, "Product", [int(i) for i in node_ids])


@strawberry.type
class ProductConnection(Connection[Product]):
    pass


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Top-level categories; walk `children` for the tree")
    async def categories(self, info: Info) -> list[Category]:
        return await catalog.root_categories(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Published products, in the merchant's order")
    async def products(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        category_id: strawberry.ID | None = None,
        search: str | None = None,
    ) -> ProductConnection:
        page = await catalog.products(info.context, first, after, category_id, search)
        return connection(page, ProductConnection)

    @strawberry.field(description="A published product, or null")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await catalog.product(info.context, id)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Any object by its global ID (null when it is not visible to the caller)")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await catalog.node(info.context, id)
