"""Distribution's tables: the settings (one row, versioned), distributors, share links and their opens, bindings."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.identity.models import Customer


class BindingMode(StrEnum):
    FIRST_TOUCH = "FIRST_TOUCH"
    """The first distributor keeps the customer for good."""
    WINDOW = "WINDOW"
    """The distributor keeps the customer for `window_days`; after that a new share may rebind."""
    LAST_TOUCH = "LAST_TOUCH"
    """The latest share binds."""


class DistributorStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class DistributionSettings(Model):
    """The shop's distribution rules: one row, its `version` raised on every change. Each version's rules are kept
    in DistributionSettingsVersion so an order can later snapshot the version in force and be paid by it."""

    id = fields.IntField(primary_key=True)
    version = fields.IntField(default=0)
    rules: fields.JSONField[dict[str, Any]] = fields.JSONField(
        description="the rules of this version, see domain.distribution.settings.Rules"
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "distribution_settings"


class DistributionSettingsVersion(Model):
    id = fields.IntField(primary_key=True)
    version = fields.IntField(unique=True)
    rules: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "distribution_settings_version"


class Distributor(Model):
    """A customer who applied to sell for the shop. Only an APPROVED, enabled one earns and binds customers."""

    id = fields.IntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="distributor", on_delete=fields.RESTRICT
    )
    customer_id: int
    status = fields.CharEnumField(DistributorStatus, max_length=16, default=DistributorStatus.PENDING)
    enabled = fields.BooleanField(default=True, description="staff may disable an approved distributor")
    level = fields.IntField(default=1, description="a distributor level of the settings (its own rates)")
    real_name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    reason = fields.CharField(max_length=500, default="")
    reject_reason = fields.CharField(max_length=500, default="")
    applied_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "distribution_distributor"
        ordering = ["id"]


class ShareLink(Model):
    """A customer's share of a target (a product, a group, a relay, or the shop itself). The code is random and
    names no customer. The same customer and target always get the same link back."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="share_links", on_delete=fields.RESTRICT
    )
    customer_id: int
    target_kind = fields.CharField(max_length=16, description="Product, GroupBuy, Relay or Shop")
    target_id = fields.IntField(description="0 for the shop")
    opens = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "distribution_share_link"
        unique_together = (("customer", "target_kind", "target_id"),)
        ordering = ["id"]


class ShareOpen(Model):
    id = fields.IntField(primary_key=True)
    link: fields.ForeignKeyRelation[ShareLink] = fields.ForeignKeyField(
        "models.ShareLink", related_name="open_events", on_delete=fields.CASCADE
    )
    link_id: int
    customer_id = fields.IntField(null=True, description="null when opened without logging in")
    opened_at = fields.DatetimeField()

    class Meta:
        table = "distribution_share_open"


class Binding(Model):
    """Which distributor a customer is bound to now (at most one)."""

    id = fields.IntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="binding", on_delete=fields.RESTRICT
    )
    customer_id: int
    distributor: fields.ForeignKeyRelation[Distributor] = fields.ForeignKeyField(
        "models.Distributor", related_name="bindings", on_delete=fields.RESTRICT
    )
    distributor_id: int
    link_id = fields.IntField(null=True, description="the share link that bound")
    bound_at = fields.DatetimeField()

    class Meta:
        table = "distribution_binding"
        ordering = ["id"]


class BindingChange(Model):
    """The binding history: every time a customer was bound or rebound, to whom and through which code."""

    id = fields.IntField(primary_key=True)
    customer_id = fields.IntField(db_index=True)
    distributor_id = fields.IntField()
    previous_distributor_id = fields.IntField(null=True)
    link_id = fields.IntField(null=True)
    code = fields.CharField(max_length=32)
    bound_at = fields.DatetimeField()

    class Meta:
        table = "distribution_binding_change"
        ordering = ["id"]


class ShareCodeImage(Model):
    """A share's mini-program code image, fetched from WeChat once (codes never expire) and kept here."""

    id = fields.IntField(primary_key=True)
    link: fields.OneToOneRelation[ShareLink] = fields.OneToOneField(
        "models.ShareLink", related_name="image", on_delete=fields.CASCADE
    )
    link_id: int
    png = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "distribution_share_code_image"
