"""Stock held for orders: the database's record of every reservation, the source of truth for availability."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku
    from domain.flash_sale.models import FlashSaleItem
    from domain.orders.models import Order


class ReservationState(StrEnum):
    HELD = "HELD"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    RETURNED = "RETURNED"


class Reservation(Model):
    """Units of one SKU held for one order: HELD counts in Sku.reserved, COMMITTED left stock, RELEASED came back,
    RETURNED were sold and came back to stock (the order was refunded in full before it shipped)."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="reservations", on_delete=fields.CASCADE
    )
    order_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="reservations", on_delete=fields.RESTRICT
    )
    sku_id: int
    quantity = fields.IntField()
    state = fields.CharEnumField(ReservationState, max_length=16, default=ReservationState.HELD)
    flash_item: fields.ForeignKeyNullableRelation[FlashSaleItem] = fields.ForeignKeyField(
        "models.FlashSaleItem", related_name="reservations", null=True, on_delete=fields.RESTRICT,
        description="set when the units came from a flash sale's pool",
    )
    flash_item_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "inventory_reservation"
        unique_together = (("order", "sku"),)
