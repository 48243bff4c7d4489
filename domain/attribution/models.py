"""An order's attribution, written once when the order is created: who shared it, who earns, at which rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.orders.models import Order


class OrderAttribution(Model):
    """The snapshot a commission is paid by: a later rebinding or change of rates never changes it. Only an order
    that earns has one (distribution on, its kind earning, a distributor to pay)."""

    id = fields.IntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="attribution", on_delete=fields.CASCADE
    )
    order_id: int
    share_code = fields.CharField(max_length=32, null=True, description="the share the order came through, if any")
    link_id = fields.IntField(null=True, db_index=True, description="that share's link")
    distributor_id = fields.IntField(db_index=True, description="the direct distributor (level 1)")
    parent_distributor_id = fields.IntField(null=True, db_index=True, description="its parent (level 2), if earning")
    settings_version = fields.IntField(description="the distribution settings in force (product rates among them)")
    direct_rate_bp = fields.IntField(description="the direct distributor's rate, its level applied")
    parent_rate_bp = fields.IntField(default=0)
    freeze_days = fields.IntField(description="days after completion before the commission may be withdrawn")
    new_customer = fields.BooleanField(default=False, description="the buyer's first order that earns anyone")
    created_at = fields.DatetimeField()

    class Meta:
        table = "attribution_order"
