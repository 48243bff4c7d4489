"""Stored value (储值): the recharge packages staff offer and each recharge a customer pays. The money itself is two
buckets of the balance ledger (owner kind "customer"): `principal` (what the customer paid) and `bonus` (what the
shop gave), kept apart so that bonus money never leaves as cash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.orders.models import Order


class RechargePackage(Model):
    """Pay `price` fen, receive `price` as principal and `bonus` fen as bonus ("pay 500, get 50 free")."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40)
    price = fields.IntField(description="fen the customer pays, credited as principal")
    bonus = fields.IntField(default=0, description="fen the shop adds, credited as bonus")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True, description="null: open-ended")
    per_customer_limit = fields.IntField(null=True, description="paid recharges of it per customer (null: any)")
    ended_at = fields.DatetimeField(null=True, description="ended early by staff")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wallet_recharge_package"
        ordering = ["price", "id"]


class Recharge(Model):
    """One recharge: its RECHARGE order and what it credits when paid (once)."""

    id = fields.IntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="recharge", on_delete=fields.CASCADE
    )
    order_id: int
    customer_id = fields.IntField(db_index=True)
    package_id = fields.IntField(db_index=True)
    principal = fields.IntField()
    bonus = fields.IntField()
    credited_at = fields.DatetimeField(null=True)
    refunded_at = fields.DatetimeField(null=True, description="when staff refunded it (rechargeRefund), once")
    created_at = fields.DatetimeField()

    class Meta:
        table = "wallet_recharge"
