"""A distributor's withdrawal of commission, paid by WeChat Pay's merchant transfer.

    REQUESTED ──staff approve──▶ TRANSFERRING ──bill SUCCESS──▶ PAID
        │                            └──bill FAIL or CANCELLED──▶ FAILED (amount given back, once)
        └──staff reject──▶ REJECTED (amount given back, once)
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.distribution.models import Distributor


class WithdrawalStatus(StrEnum):
    REQUESTED = "REQUESTED"
    TRANSFERRING = "TRANSFERRING"
    PAID = "PAID"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class Withdrawal(Model):
    id = fields.IntField(primary_key=True)
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="withdrawals", on_delete=fields.RESTRICT
    )
    distributor_id: int
    amount = fields.IntField(description="fen taken from the available balance")
    fee = fields.IntField(default=0, description="fen the shop keeps (the withdrawal fee in force)")
    status = fields.CharEnumField(WithdrawalStatus, max_length=16, default=WithdrawalStatus.REQUESTED, db_index=True)
    idempotency_key = fields.CharField(max_length=64)
    out_bill_no = fields.CharField(max_length=32, null=True, unique=True, description="set once, never renumbered")
    transfer_bill_no = fields.CharField(max_length=64, null=True)
    transfer_state = fields.CharField(max_length=20, default="", description="WeChat Pay's last word on the bill")
    package_info = fields.CharField(max_length=1024, null=True, description="for wx.requestMerchantTransfer")
    fail_reason = fields.CharField(max_length=200, default="")
    reject_reason = fields.CharField(max_length=200, default="")
    decided_by = fields.CharField(max_length=64, default="")
    requested_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "withdrawal"
        unique_together = (("distributor", "idempotency_key"),)
        ordering = ["-id"]
