"""Member levels (会员等级): the staff-defined steps a customer climbs by what they have paid."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class MemberLevel(Model):
    """A level: reached at `threshold` fen paid in all, it takes `discount_bp` basis points off eligible prices."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=20)
    threshold = fields.IntField(unique=True, description="fen paid in all (see domain.members.standing) to reach it")
    discount_bp = fields.IntField(description="basis points off, 500 = 5 percent off (95折), 0 = no discount")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "member_level"
        ordering = ["threshold"]
