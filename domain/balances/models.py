"""One ledger shape for every balance: an owner, a bucket, a signed amount and a unique reference per movement, and
a balance row per owner and bucket that is always the sum of its entries (both written in one transaction)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class BalanceEntry(Model):
    """One movement of one bucket, once: its `reference` is unique, so a repeated movement writes nothing."""

    id = fields.BigIntField(primary_key=True)
    owner_kind = fields.CharField(max_length=16, description="distributor, customer, …")
    owner_id = fields.IntField()
    bucket = fields.CharField(max_length=16, description="pending, available, withdrawn, clawed_back, …")
    amount = fields.BigIntField(description="signed: fen (or points)")
    reference = fields.CharField(max_length=80, unique=True, description="idempotency: one entry per movement")
    note = fields.CharField(max_length=120, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "balance_entry"
        ordering = ["id"]
        indexes = (("owner_kind", "owner_id", "bucket"),)


class Balance(Model):
    """The sum of one owner's bucket, kept by conditional writes in the transaction of each entry."""

    id = fields.BigIntField(primary_key=True)
    owner_kind = fields.CharField(max_length=16)
    owner_id = fields.IntField()
    bucket = fields.CharField(max_length=16)
    amount = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "balance"
        unique_together = (("owner_kind", "owner_id", "bucket"),)
