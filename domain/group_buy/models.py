"""Group-buy (拼团) storage: staff campaigns and their SKUs, the customers' groups and each group's seats."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Product, Sku
    from domain.identity.models import Customer
    from domain.orders.models import Order


class GroupStatus(StrEnum):
    OPENING = "OPENING"
    """The leader's order is not paid yet: the group is not shown to anyone and nobody can join it."""
    FORMING = "FORMING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"
    """The leader's order was cancelled or expired unpaid: the group never opened and is never listed."""


class SeatState(StrEnum):
    HELD = "HELD"
    """Taken by an unpaid order: it counts against the group's size, and comes back if the order is cancelled."""
    PAID = "PAID"
    RELEASED = "RELEASED"
    """Its order was cancelled or expired unpaid: the seat is free again."""


class GroupBuyCampaign(Model):
    """A group-buy campaign: the SKUs of one product at a group price for groups of `group_size` paid customers."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=64)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="group_buy_campaigns", on_delete=fields.RESTRICT
    )
    product_id: int
    starts_at = fields.DatetimeField(db_index=True, description="UTC, inclusive")
    ends_at = fields.DatetimeField(db_index=True, description="UTC, exclusive")
    ended_at = fields.DatetimeField(null=True, description="set when staff end it early")
    group_size = fields.IntField(description="paid seats a group needs to succeed, the leader's included")
    group_hours = fields.IntField(description="how long a group stays open after its leader paid")
    per_customer_limit = fields.IntField(description="units one customer may buy over the campaign, unpaid counted")
    per_order_max = fields.IntField(description="units one order may take")
    virtual_fill_percent = fields.IntField(
        null=True, description="a group expiring with at least this share of its seats paid succeeds (null: never)"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    items: fields.ReverseRelation[GroupBuyItem]

    class Meta:
        table = "group_buy_campaign"
        ordering = ["id"]


class GroupBuyItem(Model):
    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[GroupBuyCampaign] = fields.ForeignKeyField(
        "models.GroupBuyCampaign", related_name="items", on_delete=fields.CASCADE
    )
    campaign_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="group_buy_items", on_delete=fields.RESTRICT
    )
    sku_id: int
    group_price = fields.IntField(description="fen per unit for a member")
    leader_price = fields.IntField(null=True, description="fen per unit for the leader (null: the group price)")

    class Meta:
        table = "group_buy_item"
        unique_together = (("campaign", "sku"),)
        ordering = ["id"]


class GroupBuyGroup(Model):
    """One group of a campaign, opened by its leader. Its status changes only through `domain.group_buy.states`."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[GroupBuyCampaign] = fields.ForeignKeyField(
        "models.GroupBuyCampaign", related_name="groups", on_delete=fields.RESTRICT
    )
    campaign_id: int
    leader: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="led_group_buys", on_delete=fields.RESTRICT
    )
    leader_id: int
    share_code = fields.CharField(max_length=32, unique=True, description="what groupBuyJoin's shareCode names")
    status = fields.CharEnumField(GroupStatus, max_length=16, default=GroupStatus.OPENING, db_index=True)
    required_size = fields.IntField(description="the campaign's group size when the group was started")
    paid_count = fields.IntField(default=0, description="seats paid so far")
    virtual_seats = fields.IntField(default=0, description="seats shown as filled by the virtual fill (never paid)")
    opened_at = fields.DatetimeField(null=True, description="when the leader paid")
    expires_at = fields.DatetimeField(null=True, db_index=True, description="set when it opens")
    closed_at = fields.DatetimeField(null=True, description="when it succeeded, failed or was abandoned")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "group_buy_group"
        ordering = ["id"]


class GroupBuySeat(Model):
    """A customer's place in a group, held by one order. A customer holds at most one live seat per group: the
    unique (group, live_customer_id) pair, where live_customer_id is null once the seat is released."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[GroupBuyGroup] = fields.ForeignKeyField(
        "models.GroupBuyGroup", related_name="seats", on_delete=fields.RESTRICT
    )
    group_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="group_buy_seats", on_delete=fields.RESTRICT
    )
    customer_id: int
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="group_buy_seat", on_delete=fields.RESTRICT
    )
    order_id: int
    campaign_id = fields.IntField(db_index=True, description="the campaign (the per-customer limit counts by it)")
    sku_id = fields.IntField()
    quantity = fields.IntField()
    leader = fields.BooleanField(default=False)
    state = fields.CharEnumField(SeatState, max_length=16, default=SeatState.HELD)
    live_customer_id = fields.IntField(null=True, description="customer_id while HELD or PAID, else null")
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "group_buy_seat"
        unique_together = (("group", "live_customer_id"),)
        ordering = ["id"]
