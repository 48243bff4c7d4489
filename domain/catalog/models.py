"""Catalog storage: a category tree, products and their SKUs, and the stock audit trail."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Category(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    sort_order = fields.IntField(default=0)
    image = fields.CharField(max_length=512, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "catalog_category"
        ordering = ["sort_order", "id"]


class Product(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=120)
    subtitle = fields.CharField(max_length=255, default="")
    images: fields.JSONField[list[str]] = fields.JSONField(default=list)
    description = fields.TextField(default="")
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="products", on_delete=fields.RESTRICT
    )
    category_id: int
    published = fields.BooleanField(default=False, db_index=True)
    sort_order = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True, description="soft delete: orders keep pointing at it")

    skus: fields.ReverseRelation[Sku]

    class Meta:
        table = "catalog_product"
        ordering = ["sort_order", "id"]


class Sku(Model):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="skus", on_delete=fields.CASCADE
    )
    product_id: int
    specs: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)
    spec_key = fields.CharField(max_length=255, description="normalized specs, or the tombstone ~<id> once deleted")
    price = fields.IntField(description="fen")
    original_price = fields.IntField(null=True, description="fen, the struck-through price")
    stock = fields.IntField(default=0, description="units on hand, paid orders already taken out")
    reserved = fields.IntField(default=0, description="units held by unpaid orders: available = stock − reserved")
    barcode = fields.CharField(max_length=64, default="")
    weight = fields.IntField(default=0, description="grams")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "catalog_sku"
        unique_together = (("product", "spec_key"),)
        ordering = ["id"]


class StockMovement(Model):
    """One row per stock change: who, when, by how much and why. Sum of deltas = current stock."""

    id = fields.BigIntField(primary_key=True)
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="movements", on_delete=fields.CASCADE
    )
    sku_id: int
    delta = fields.IntField()
    stock_after = fields.IntField()
    reason = fields.CharField(max_length=255)
    actor = fields.CharField(max_length=64, description="staff:<id>, system, or order:<number>")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "catalog_stock_movement"
        ordering = ["id"]
