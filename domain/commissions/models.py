"""Commissions: one row per order line and level, and the buckets of a distributor's commission balance.

    PENDING ──order completed and its freeze passed──▶ AVAILABLE ──covered by withdrawals──▶ WITHDRAWN
       └──refunded in full before that──▶ CANCELLED

Every amount also moves the distributor's balance buckets (domain.balances, owner kind "distributor"), so the
summary a distributor sees is a sum of ledger entries."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.distribution.models import Distributor
    from domain.orders.models import Order

OWNER_KIND = "distributor"
PENDING = "pending"
"""Earned on a paid (for a group-buy: succeeded) order that is not completed and frozen long enough yet."""
AVAILABLE = "available"
"""May be withdrawn. Negative while clawbacks exceed it: withdrawals then wait."""
WITHDRAWN = "withdrawn"
"""Taken by withdrawals that were not given back (paying or paid)."""
CLAWED_BACK = "clawed_back"
"""A counter: what refunds took back after the commission was available (taken from `available`)."""


class CommissionStatus(StrEnum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    WITHDRAWN = "WITHDRAWN"
    CANCELLED = "CANCELLED"


class Commission(Model):
    id = fields.BigIntField(primary_key=True)
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="commissions", on_delete=fields.RESTRICT
    )
    distributor_id: int
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="commissions", on_delete=fields.RESTRICT, db_index=True
    )
    order_id: int
    order_line_id = fields.BigIntField()
    level = fields.IntField(description="1: the direct distributor, 2: its parent")
    base = fields.IntField(description="fen: what the line cost the customer after discounts")
    rate_bp = fields.IntField(null=True, description="the rate applied, or null for a fixed amount per unit")
    fixed_fen = fields.IntField(null=True, description="fen per unit, when the product's rate is fixed")
    amount = fields.IntField(description="fen earned when the order was confirmed")
    reduced = fields.IntField(default=0, description="fen taken off by refunds before it was available")
    clawed_back = fields.IntField(default=0, description="fen taken back by refunds after it was available")
    status = fields.CharEnumField(CommissionStatus, max_length=16, default=CommissionStatus.PENDING, db_index=True)
    available_at = fields.DatetimeField(null=True, description="when the order's freeze ends (set on completion)")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "commission"
        unique_together = (("order_line_id", "level"),)
        ordering = ["id"]
