"""The money ledger: every movement once, signed, with a unique reference, so balances are sums."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.orders.models import Order


class LedgerEntry(Model):
    """amount > 0 is money in to the merchant (a payment), < 0 money out (a refund)."""

    id = fields.BigIntField(primary_key=True)
    account = fields.CharField(max_length=32, description="wechatpay, wallet, …")
    kind = fields.CharField(max_length=32, description="payment, refund, …")
    amount = fields.IntField(description="fen, signed")
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT, db_index=True
    )
    order_id: int | None
    reference = fields.CharField(max_length=64, unique=True, description="idempotency: one entry per movement")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "ledger_entry"
        ordering = ["id"]
