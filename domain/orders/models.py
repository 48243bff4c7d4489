"""Orders and what hangs on them: lines (snapshots), pickup points, WeChat Pay attempts, refunds."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from domain.catalog.models import Sku
    from domain.identity.models import Customer


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"


class OrderKind(StrEnum):
    NORMAL = "NORMAL"
    FLASH_SALE = "FLASH_SALE"
    GROUP_BUY = "GROUP_BUY"
    RELAY = "RELAY"
    RECHARGE = "RECHARGE"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    CLOSED = "CLOSED"


class RefundStatus(StrEnum):
    REQUESTED = "REQUESTED"
    REJECTED = "REJECTED"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PickupPoint(Model):
    """A store or partner shop where customers collect orders (自提点)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    address = fields.CharField(max_length=255)
    phone = fields.CharField(max_length=20, default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "orders_pickup_point"


class Order(Model):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True, description="shown to people, base of the out_trade_no")
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="orders", on_delete=fields.RESTRICT
    )
    customer_id: int
    kind = fields.CharEnumField(OrderKind, max_length=16, default=OrderKind.NORMAL)
    status = fields.CharEnumField(OrderStatus, max_length=16, default=OrderStatus.PENDING_PAYMENT, db_index=True)
    status_before_refund = fields.CharEnumField(OrderStatus, max_length=16, null=True)
    subtotal = fields.IntField(description="fen, sum of lines before discounts")
    discount_total = fields.IntField(default=0)
    shipping_fee = fields.IntField(default=0)
    wallet_paid = fields.IntField(default=0)
    """Fen the wallet pays (principal and bonus: `domain.wallet.spending`)."""
    payable = fields.IntField(description="fen still owed through WeChat Pay")
    """Fen owed through WeChat Pay: what the wallet does not pay."""
    refunded_total = fields.IntField(default=0)
    delivery: fields.JSONField[dict[str, Any]] = fields.JSONField(
        description="{address: {...}} or {pickupPoint: {...}} snapshot"
    )
    pickup_point: fields.ForeignKeyNullableRelation[PickupPoint] = fields.ForeignKeyField(
        "models.PickupPoint", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    pickup_point_id: int | None
    remark = fields.CharField(max_length=200, default="")
    share_code = fields.CharField(max_length=32, null=True, description="the share this order came through")
    idempotency_key = fields.CharField(max_length=64, null=True)
    carrier = fields.CharField(max_length=32, default="")
    tracking_number = fields.CharField(max_length=64, default="")
    expires_at = fields.DatetimeField(db_index=True)
    paid_at = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True, db_index=True)
    completed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    lines: fields.ReverseRelation[OrderLine]

    @property
    def money_in(self) -> int:
        """What the customer paid for the order (WeChat Pay and wallet): what refunds are a share of."""
        return self.payable + self.wallet_paid

    class Meta:
        table = "orders_order"
        unique_together = (("customer", "idempotency_key"),)
        ordering = ["-id"]


class OrderLine(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE, db_index=True
    )
    order_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "models.Sku", related_name="order_lines", on_delete=fields.RESTRICT
    )
    sku_id: int
    product_id = fields.IntField()
    title = fields.CharField(max_length=120)
    specs: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)
    image = fields.CharField(max_length=512, default="")
    unit_price = fields.IntField(description="fen, before order-level discounts")
    quantity = fields.IntField()
    discount = fields.IntField(default=0, description="fen taken off this line")
    line_total = fields.IntField(description="unit_price × quantity − discount")
    price_source = fields.CharField(
        max_length=16, null=True,
        description="what set unit_price below the list price: DISCOUNT, FLASH_SALE, GROUP_BUY…",
    )
    price_source_id = fields.IntField(null=True, description="the id of that discount, sale, campaign or relay")

    class Meta:
        table = "orders_line"
        ordering = ["id"]
        indexes = (("price_source", "price_source_id"),)


class Payment(Model):
    """One WeChat Pay transaction attempt (out_trade_no) for an order."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="payments", on_delete=fields.CASCADE, db_index=True
    )
    order_id: int
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.PENDING)
    prepay_id = fields.CharField(max_length=64, null=True)
    prepay_expires_at = fields.DatetimeField(null=True)
    transaction_id = fields.CharField(max_length=32, null=True, unique=True)
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "orders_payment"
        ordering = ["id"]


class Refund(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.CASCADE, db_index=True
    )
    order_id: int
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT, null=True, db_index=True,
        description="the WeChat Pay trade the money goes back through (null on refunds made before it was recorded)",
    )
    payment_id: int | None
    out_refund_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()
    """Fen back to the customer, every part (WeChat Pay and the wallet's)."""
    wallet_principal = fields.IntField(default=0, description="of it, fen back to the wallet's principal")
    wallet_bonus = fields.IntField(default=0, description="of it, fen back to the wallet's bonus")
    reason = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.REQUESTED, db_index=True)
    requested_by = fields.CharField(max_length=64, description="customer:<id>, staff:<id> or system")
    decided_by = fields.CharField(max_length=64, default="")
    reject_reason = fields.CharField(max_length=200, default="")
    refund_id = fields.CharField(max_length=64, null=True)
    failure_code = fields.CharField(max_length=32, default="", description="why the last attempt failed")
    failure_message = fields.CharField(max_length=200, default="")
    failures = fields.IntField(default=0, description="failed attempts so far")
    next_attempt_at = fields.DatetimeField(
        null=True, description="when it is sent again by itself (null: by staff only)"
    )
    succeeded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    @property
    def wechat_amount(self) -> int:
        """What goes back through WeChat Pay (`domain.wallet.spending` splits a refund)."""
        return self.amount - self.wallet_principal - self.wallet_bonus

    class Meta:
        table = "orders_refund"
        ordering = ["id"]


class PaymentNotification(Model):
    """Every verified WeChat Pay notification we handled, by its id: replays are recognised."""

    id = fields.BigIntField(primary_key=True)
    notification_id = fields.CharField(max_length=64, unique=True)
    event_type = fields.CharField(max_length=40)
    reference = fields.CharField(max_length=32, description="out_trade_no or out_refund_no")
    outcome = fields.CharField(max_length=64)
    failures = fields.IntField(default=0, description="times handling it crashed before it was handled")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "orders_payment_notification"


class PickupCode(Model):
    """The 6-digit code a paid order delivered to a pickup point is handed over against (核销).

    `waiting_code` is the code while the order waits to be picked up: the database keeps it unique among those
    orders. It is cleared when the order is handed over, and a later order may draw the same code; `code` keeps it
    for the record (and for telling staff an order was already picked up)."""

    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="pickup_code", on_delete=fields.CASCADE
    )
    order_id: int
    code = fields.CharField(max_length=6, db_index=True)
    waiting_code = fields.CharField(max_length=6, null=True, unique=True)
    picked_up_at = fields.DatetimeField(null=True)
    picked_up_by = fields.CharField(max_length=64, default="", description="staff:<id> who handed the order over")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "orders_pickup_code"
