"""The address book: a customer's saved delivery addresses, one of them the default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.identity.models import Customer


class SavedAddress(Model):
    """An order never points here: it keeps a snapshot, so editing or deleting an address changes no order."""

    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="addresses", on_delete=fields.CASCADE
    )
    customer_id: int
    name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    province = fields.CharField(max_length=32)
    city = fields.CharField(max_length=32)
    district = fields.CharField(max_length=32)
    detail = fields.CharField(max_length=200)
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "addresses_saved"
        indexes = (("customer_id", "is_default"),)
