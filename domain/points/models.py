"""Points (积分): the shop's points rules, what each completed order awarded, and daily sign-ins. The points
themselves are a bucket of the balance ledger (owner kind "customer", bucket "points")."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class PointsSettings(Model):
    """The shop's points rules: one row (see domain.points.rules.Rules)."""

    id = fields.IntField(primary_key=True)
    rules: fields.JSONField[dict[str, Any]] = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "points_settings"


class PointsAward(Model):
    """The points a completed order awarded, on what base: a refund later takes back its share, once per refund."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(unique=True)
    customer_id = fields.IntField(db_index=True)
    base = fields.IntField(description="fen the customer had paid, net of refunds, when the order completed")
    points = fields.IntField(description="points awarded")
    taken_back = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "points_award"


class SignIn(Model):
    """One daily sign-in (签到): one per customer per day of the store's calendar."""

    id = fields.IntField(primary_key=True)
    customer_id = fields.IntField()
    day = fields.DateField(description="the store's calendar day (its time zone)")
    streak = fields.IntField(description="consecutive days signed in, this one included")
    points = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "points_sign_in"
        unique_together = (("customer_id", "day"),)
        ordering = ["-day"]
