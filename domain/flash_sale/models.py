"""A flash sale and its items: the pool of units per SKU set aside from normal stock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku


class FlashSale(Model):
    """A flash sale (秒杀): its own pool of units per SKU, sold at the sale price inside a window, a few per customer.

    Creating it sets the pool's units aside from the SKUs' stock (counted in `Sku.reserved`). Units of cancelled or
    expired orders go back to the pool while the sale runs. When it ends, `settled_at` is set and the units nobody
    bought go back to normal stock."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    starts_at = fields.DatetimeField(db_index=True, description="UTC, inclusive")
    ends_at = fields.DatetimeField(db_index=True, description="UTC, exclusive")
    ended_at = fields.DatetimeField(null=True, description="set when staff end it early")
    settled_at = fields.DatetimeField(null=True, description="when the unsold units went back to normal stock")
    per_customer_limit = fields.IntField(description="units one customer may buy in this sale, over all its SKUs")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    items: fields.ReverseRelation[FlashSaleItem]

    class Meta:
        table = "pricing_flash_sale"
        ordering = ["id"]


class FlashSaleItem(Model):
    id = fields.IntField(primary_key=True)
    sale: fields.ForeignKeyRelation[FlashSale] = fields.ForeignKeyField(
        "models.FlashSale", related_name="items", on_delete=fields.CASCADE
    )
    sale_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="flash_sale_items", on_delete=fields.RESTRICT
    )
    sku_id: int
    price = fields.IntField(description="fen per unit in the sale")
    quantity = fields.IntField(description="units in the sale's pool")
    taken = fields.IntField(default=0, description="units held by open orders or sold, never above quantity")

    class Meta:
        table = "pricing_flash_sale_item"
        unique_together = (("sale", "sku"),)
        ordering = ["id"]
