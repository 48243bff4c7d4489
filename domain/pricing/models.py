"""Limited-time discounts (限时折扣): a window in time and, per SKU, a percentage off or a fixed price."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku
    from domain.identity.models import Customer
    from domain.orders.models import Order


class DiscountKind(StrEnum):
    PERCENT = "PERCENT"
    FIXED_PRICE = "FIXED_PRICE"


class Discount(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    starts_at = fields.DatetimeField(db_index=True, description="UTC, inclusive")
    ends_at = fields.DatetimeField(db_index=True, description="UTC, exclusive")
    ended_at = fields.DatetimeField(null=True, description="set when staff end it early")
    per_customer_limit = fields.IntField(null=True, description="units one customer may buy at this price, null: none")
    created_at = fields.DatetimeField(auto_now_add=True)

    items: fields.ReverseRelation[DiscountItem]

    class Meta:
        table = "pricing_discount"
        ordering = ["id"]


class DiscountItem(Model):
    id = fields.IntField(primary_key=True)
    discount: fields.ForeignKeyRelation[Discount] = fields.ForeignKeyField(
        "models.Discount", related_name="items", on_delete=fields.CASCADE
    )
    discount_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="discount_items", on_delete=fields.CASCADE
    )
    sku_id: int
    kind = fields.CharEnumField(DiscountKind, max_length=16)
    value = fields.IntField(description="PERCENT: percent off, 1 to 99. FIXED_PRICE: the price in fen")

    class Meta:
        table = "pricing_discount_item"
        unique_together = (("discount", "sku"),)
        ordering = ["id"]


class CouponKind(StrEnum):
    FIXED_AMOUNT = "FIXED_AMOUNT"
    PERCENT = "PERCENT"


class CouponScope(StrEnum):
    ALL = "ALL"
    PRODUCTS = "PRODUCTS"
    CATEGORIES = "CATEGORIES"


class Coupon(Model):
    """A coupon template (优惠券): staff set what it takes off and how many can be claimed, customers claim copies.

    Claims are open inside the claim window (`starts_at` to `ends_at`) until `claimed` reaches `total_quantity`.
    A claimed copy is valid either inside the fixed window (`valid_from` to `valid_until`) or for `valid_days`
    from the moment it was claimed."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    description = fields.CharField(max_length=200, default="")
    kind = fields.CharEnumField(CouponKind, max_length=16)
    value = fields.IntField(description="FIXED_AMOUNT: fen off. PERCENT: percent off, 1 to 99")
    max_discount = fields.IntField(null=True, description="PERCENT only: the most it takes off in fen, null: no cap")
    min_spend = fields.IntField(default=0, description="fen the eligible lines must come to, after spend-and-save")
    scope = fields.CharEnumField(CouponScope, max_length=16, default=CouponScope.ALL)
    scope_ids: fields.JSONField[list[int]] = fields.JSONField(
        default=list, description="product ids (PRODUCTS) or category ids with their subcategories (CATEGORIES)"
    )
    total_quantity = fields.IntField(description="copies that can be claimed in all")
    claimed = fields.IntField(default=0, description="copies claimed so far, never above total_quantity")
    per_customer_limit = fields.IntField(default=1, description="copies one customer may claim")
    starts_at = fields.DatetimeField(db_index=True, description="claims open, UTC, inclusive")
    ends_at = fields.DatetimeField(db_index=True, description="claims close, UTC, exclusive")
    valid_from = fields.DatetimeField(null=True, description="fixed validity start, UTC, inclusive")
    valid_until = fields.DatetimeField(null=True, description="fixed validity end, UTC, exclusive")
    valid_days = fields.IntField(null=True, description="without a fixed validity: days a copy is valid from its claim")
    ended_at = fields.DatetimeField(null=True, description="set when staff end it early: no more claims")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "pricing_coupon"
        ordering = ["id"]


class CustomerCouponStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    USED = "USED"


class CustomerCoupon(Model):
    """A customer's claimed copy of a coupon, USED while an order holds it.

    It becomes USED in the transaction that places the order, and AVAILABLE again when that order is cancelled or
    expires."""

    id = fields.IntField(primary_key=True)
    coupon: fields.ForeignKeyRelation[Coupon] = fields.ForeignKeyField(
        "models.Coupon", related_name="claims", on_delete=fields.RESTRICT
    )
    coupon_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="coupons", on_delete=fields.RESTRICT
    )
    customer_id: int
    code = fields.CharField(max_length=16, unique=True, description="what checkout's couponCode names")
    status = fields.CharEnumField(CustomerCouponStatus, max_length=16, default=CustomerCouponStatus.AVAILABLE)
    valid_from = fields.DatetimeField(description="UTC, inclusive")
    valid_until = fields.DatetimeField(db_index=True, description="UTC, exclusive")
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="coupons", null=True, on_delete=fields.SET_NULL, db_index=True,
        description="the order it is used on while USED",
    )
    order_id: int | None
    used_at = fields.DatetimeField(null=True)
    claimed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pricing_customer_coupon"
        indexes = (("customer_id", "coupon_id"), ("customer_id", "status"))
        ordering = ["id"]


class SpendAndSave(Model):
    """Spend-and-save (满减): tiers of spend X and save Y on a whole order, inside a window.

    The best tier reached wins, over every spend-and-save running at that moment."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    tiers: fields.JSONField[list[dict[str, int]]] = fields.JSONField(
        description="[{threshold, amount}] in fen, thresholds ascending"
    )
    starts_at = fields.DatetimeField(db_index=True, description="UTC, inclusive")
    ends_at = fields.DatetimeField(db_index=True, description="UTC, exclusive")
    ended_at = fields.DatetimeField(null=True, description="set when staff end it early")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "pricing_spend_and_save"
        ordering = ["id"]


class OrderPromotion(Model):
    """An order-level promotion an order got (spend-and-save or a coupon) and what it took off the order."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="promotions", on_delete=fields.CASCADE, db_index=True
    )
    order_id: int
    source = fields.CharField(max_length=40, description="coupon:<coupon id> or spend-and-save:<id>")
    amount = fields.IntField(description="fen")
    customer_coupon_id = fields.IntField(null=True, description="the claimed copy a coupon promotion used")

    class Meta:
        table = "pricing_order_promotion"
        ordering = ["id"]
