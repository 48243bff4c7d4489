"""One cart per customer: the SKUs they mean to buy, kept across logins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku
    from domain.identity.models import Customer


class CartItem(Model):
    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="cart_items", on_delete=fields.CASCADE
    )
    customer_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="cart_items", on_delete=fields.CASCADE
    )
    sku_id: int
    quantity = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cart_item"
        unique_together = (("customer", "sku"),)
        ordering = ["created_at", "id"]
