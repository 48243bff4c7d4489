"""Relays (社群接龙): the merchant's offer posted in a group, its items, and the members' numbered entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku
    from domain.identity.models import Customer
    from domain.orders.models import Order


class Relay(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=64)
    story = fields.TextField(default="", description="the merchant's words above the list")
    story_images: fields.JSONField[list[str]] = fields.JSONField(default=list, description="up to 9 image URLs")
    starts_at = fields.DatetimeField()
    deadline = fields.DatetimeField(description="nobody joins from this moment on")
    closed_at = fields.DatetimeField(null=True, description="set when staff closed it early (relayClose)")
    pickup_point_ids: fields.JSONField[list[int]] = fields.JSONField(
        default=list, description="the pickup points an entry may be collected at"
    )
    address_delivery = fields.BooleanField(default=False, description="whether an entry may be sent to an address")
    min_units = fields.IntField(default=1, description="units one entry takes at least, all items")
    max_units = fields.IntField(default=99, description="units one entry takes at most, all items")
    joins = fields.IntField(default=0, description="orders placed through the relay (items are fixed from the first)")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    items: fields.ReverseRelation[RelayItem]

    class Meta:
        table = "relay_relay"
        ordering = ["-id"]


class RelaySequence(Model):
    """A relay's public numbering, in a row of its own (made by the first payment): payments raise it one at a time
    under its row lock, and joins, which lock the relay's row, never touch it, so joining and paying do not wait for
    each other."""

    id = fields.IntField(primary_key=True)
    relay: fields.OneToOneRelation[Relay] = fields.OneToOneField(
        "models.Relay", related_name="sequence", on_delete=fields.CASCADE
    )
    relay_id: int
    last_seq = fields.IntField(default=0, description="the public number the last paid entry got")

    class Meta:
        table = "relay_sequence"


class RelayItem(Model):
    id = fields.IntField(primary_key=True)
    relay: fields.ForeignKeyRelation[Relay] = fields.ForeignKeyField(
        "models.Relay", related_name="items", on_delete=fields.CASCADE
    )
    relay_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="relay_items", on_delete=fields.RESTRICT
    )
    sku_id: int
    price = fields.IntField(description="fen, at or below the SKU's list price")
    cap = fields.IntField(null=True, description="units the relay sells at most (null: the SKU's stock decides)")
    sold = fields.IntField(default=0, description="units taken by entries (an entry cancelled unpaid gives them back)")

    class Meta:
        table = "relay_item"
        unique_together = (("relay", "sku"),)
        ordering = ["id"]


class RelayEntry(Model):
    """One join: an order of kind RELAY. It is on the public list, with its number, once the order is paid."""

    id = fields.IntField(primary_key=True)
    relay: fields.ForeignKeyRelation[Relay] = fields.ForeignKeyField(
        "models.Relay", related_name="entries", on_delete=fields.RESTRICT
    )
    relay_id: int
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="relay_entry", on_delete=fields.CASCADE
    )
    order_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="relay_entries", on_delete=fields.RESTRICT
    )
    customer_id: int
    units = fields.IntField(description="units of all its lines")
    seq = fields.IntField(null=True, description="its public number, given when paid and never given again")
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "relay_entry"
        unique_together = (("relay", "seq"),)
        ordering = ["id"]
