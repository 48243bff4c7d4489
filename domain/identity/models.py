"""Who uses the store: customers (WeChat identities) and merchant staff."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class StaffRole(StrEnum):
    OWNER = "OWNER"
    OPERATOR = "OPERATOR"
    FINANCE = "FINANCE"


class Customer(Model):
    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    nickname = fields.CharField(max_length=64, default="")
    avatar_url = fields.CharField(max_length=512, default="")
    phone = fields.CharField(max_length=20, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    blocked = fields.BooleanField(default=False, description="blocked by staff: tokens refused, logins refused")

    class Meta:
        table = "identity_customer"


class Staff(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(StaffRole, max_length=16)
    active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0, description="raised on deactivation or a role change: older tokens stop")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "identity_staff"
