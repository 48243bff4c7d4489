"""Goods management for the merchant console: inputs, payloads and staff operations."""

from __future__ import annotations

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from resolvers import catalog, catalog_staff
from resolvers.permissions import CanManageGoods, IsStaff
from schema.catalog import Category, Product, ProductConnection, Sku
from schema.core import UserError, connection, deleted_payload, payload


@strawberry.input
class SpecInput:
    name: str
    value: str


@strawberry.input(description="A SKU of a new product; prices are Int fen")
class SkuInput:
    specs: list[SpecInput]
    price: int
    original_price: int | None = strawberry.UNSET
    stock: int = 0
    barcode: str = ""
    weight: int = 0


@strawberry.input
class CategoryCreateInput:
    name: str
    parent_id: strawberry.ID | None = strawberry.UNSET
    sort_order: int = 0
    image: str = ""


@strawberry.input(description="Only the given fields change; parentId: null moves the category to the top level")
class CategoryUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET
    image: str | None = strawberry.UNSET


@strawberry.input
class DeleteInput:
    id: strawberry.ID


@strawberry.input
class ProductCreateInput:
    title: str
    category_id: strawberry.ID
    skus: list[SkuInput]
    subtitle: str = ""
    images: list[str] = strawberry.field(default_factory=list)
    description: str = ""
    sort_order: int = 0


@strawberry.input(description="Only the given fields change")
class ProductUpdateInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    subtitle: str | None = strawberry.UNSET
    images: list[str] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET


@strawberry.input
class ProductPublishInput:
    id: strawberry.ID
    published: bool


@strawberry.input
class SkuCreateInput:
    product_id: strawberry.ID
    specs: list[SpecInput]
    price: int
    original_price: int | None = strawberry.UNSET
    stock: int = 0
    barcode: str = ""
    weight: int = 0


@strawberry.input(description="Only the given fields change; originalPrice: null clears it. Stock: use stockAdjust")
class SkuUpdateInput:
    id: strawberry.ID
    specs: list[SpecInput] | None = strawberry.UNSET
    price: int | None = strawberry.UNSET
    original_price: int | None = strawberry.UNSET
    barcode: str | None = strawberry.UNSET
    weight: int | None = strawberry.UNSET


@strawberry.input(description="Add (positive) or remove (negative) units; every change is audited")
class StockAdjustInput:
    sku_id: strawberry.ID
    delta: int
    reason: str


@strawberry.type
class CategoryPayload:
    category: Category | None
    errors: list[UserError]


@strawberry.type
class ProductPayload:
    product: Product | None
    errors: list[UserError]


@strawberry.type
class SkuPayload:
    sku: Sku | None
    errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: relay.GlobalID | None
    errors: list[UserError]


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class CatalogStaffQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Every product that is not deleted, published or not")
    async def staff_products(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        published: bool | None = None,
        category_id: strawberry.ID | None = None,
    ) -> ProductConnection:
        page = await catalog.staff_products(info.context, first, after, search, published, category_id)
        return connection(page, ProductConnection)


@strawberry.type
class CatalogStaffMutation:
    @strawberry.mutation(permission_classes=goods)
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryPayload:
        return payload(CategoryPayload, "category", await catalog_staff.category_create(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def category_update(self, info: Info, input: CategoryUpdateInput) -> CategoryPayload:
        return payload(CategoryPayload, "category", await catalog_staff.category_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (IN_USE) while it has products or children")
    async def category_delete(self, info: Info, input: DeleteInput) -> DeletePayload:
        return deleted_payload(DeletePayload, "Category", await catalog_staff.category_delete(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Creates a product with its SKUs, unpublished")
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        return payload(ProductPayload, "product", await catalog_staff.product_create(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def product_update(self, info: Info, input: ProductUpdateInput) -> ProductPayload:
        return payload(ProductPayload, "product", await catalog_staff.product_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Withdraws it for good; past orders keep it")
    async def product_delete(self, info: Info, input: DeleteInput) -> DeletePayload:
        return deleted_payload(DeletePayload, "Product", await catalog_staff.product_delete(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def product_publish(self, info: Info, input: ProductPublishInput) -> ProductPayload:
        return payload(ProductPayload, "product", await catalog_staff.product_publish(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def sku_create(self, info: Info, input: SkuCreateInput) -> SkuPayload:
        return payload(SkuPayload, "sku", await catalog_staff.sku_create(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def sku_update(self, info: Info, input: SkuUpdateInput) -> SkuPayload:
        return payload(SkuPayload, "sku", await catalog_staff.sku_update(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def sku_delete(self, info: Info, input: DeleteInput) -> DeletePayload:
        return deleted_payload(DeletePayload, "Sku", await catalog_staff.sku_delete(info.context, input))

    @strawberry.mutation(permission_classes=goods)
    async def stock_adjust(self, info: Info, input: StockAdjustInput) -> SkuPayload:
        return payload(SkuPayload, "sku", await catalog_staff.stock_adjust(info.context, input))
