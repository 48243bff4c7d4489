"""Orders as customers see them: the Order type, checkout, paying, and the lifecycle actions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission, PermissionExtension

from domain.ledger import service as ledger
from domain.orders import models
from domain.orders.payment import Placed
from domain.orders.ports import PaymentParams
from resolvers import group_buy, orders
from resolvers.orders import RefundResult
from resolvers.outcome import Outcome
from resolvers.permissions import IsCustomer, ShownToStaff
from schema.catalog import Sku, SpecValue
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload, user_errors

if TYPE_CHECKING:
    from schema.group_buy import GroupBuy

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
OrderStatus = models.OrderStatus
strawberry.enum(OrderStatus, name="OrderStatus", description="Where an order stands")
OrderKind = models.OrderKind
strawberry.enum(OrderKind, name="OrderKind", description="How the order was placed")
RefundStatus = models.RefundStatus
strawberry.enum(RefundStatus, name="RefundStatus")


@strawberry.type(description="The arguments of wx.requestPayment, named exactly as it takes them")
class PaymentRequest:
    time_stamp: str = strawberry.field(description="Unix seconds, as a string")
    nonce_str: str
    package: str = strawberry.field(description="prepay_id= followed by the WeChat Pay prepay id")
    sign_type: str = strawberry.field(description="Always RSA")
    pay_sign: str


def payment_request(params: PaymentParams | None) -> PaymentRequest | None:
    if params is None:
        return None
    return PaymentRequest(time_stamp=params.time_stamp, nonce_str=params.nonce_str, package=params.package,
                          sign_type=params.sign_type, pay_sign=params.pay_sign)


@strawberry.type(description="One line of an order, as it was when the order was placed")
class OrderLine(relay.Node):
    id: relay.NodeID[int]
    title: str
    image: str
    quantity: int
    is_type_of = model_node(models.OrderLine)

    @strawberry.field(description="The catalog SKU now; null once it is gone")
    async def sku(self, root: strawberry.Parent[models.OrderLine], info: Info) -> Sku | None:
        return await orders.line_sku(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    def specs(self, root: strawberry.Parent[models.OrderLine]) -> list[SpecValue]:
        return [SpecValue(name=s["name"], value=s["value"]) for s in root.specs]

    unit_price: Money = money_field("unit_price", "One unit, before discounts")

    discount: Money = money_field("discount", "Taken off this line")

    line_total: Money = money_field("line_total", "unitPrice × quantity − discount")


def staff_only(description: str) -> Any:
    """A field staff see and customers read as null (why a refund failed is the merchant's business)."""
    return strawberry.field(description=description,
                            extensions=[PermissionExtension(permissions=[ShownToStaff()], fail_silently=True,
                                                                use_directives=False)])


@strawberry.type(description="Money going back to the customer")
class Refund(relay.Node):
    id: relay.NodeID[int]
    status: RefundStatus
    reason: str
    reject_reason: str
    created_at: datetime
    is_type_of = model_node(models.Refund)

    amount: Money = money_field("amount", "Everything it gives back: through WeChat Pay and to the wallet")

    @strawberry.field(description="Of the amount, what goes back to the wallet (principal and bonus, as they were "
                      "spent); the rest goes back through WeChat Pay")
    def wallet_amount(self, root: strawberry.Parent[models.Refund]) -> Money:
        return Money(amount=root.wallet_principal + root.wallet_bonus)

    out_refund_no: str | None = staff_only("The number WeChat Pay knows it by (out_refund_no)")
    failure_code: str | None = staff_only("Why its last attempt failed, e.g. NOT_ENOUGH (the merchant's WeChat Pay "
                                          "balance was short), CLOSED, ABNORMAL; empty if none failed")
    failure_message: str | None = staff_only("WeChat Pay's words for that failure")
    failures: int | None = staff_only("How many attempts failed")
    next_attempt_at: datetime | None = staff_only("When a FAILED refund is sent again by itself; null: it waits for "
                                                  "staff (refundRetry)")

    @strawberry.field(description="The order it gives money back for")
    async def order(self, root: strawberry.Parent[models.Refund], info: Info) -> Order:
        return await orders.refund_order(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.enum(description="Where a part of an order's money came from")
class PaymentSource(Enum):
    WECHAT_PAY = "WECHAT_PAY"
    WALLET_PRINCIPAL = "WALLET_PRINCIPAL"
    WALLET_BONUS = "WALLET_BONUS"


SOURCES = {ledger.WECHATPAY: PaymentSource.WECHAT_PAY, ledger.WALLET_PRINCIPAL: PaymentSource.WALLET_PRINCIPAL,
           ledger.WALLET_BONUS: PaymentSource.WALLET_BONUS}


@strawberry.type(description="One part of an order's money")
class PaymentPart:
    source: PaymentSource
    paid: Money = strawberry.field(description="What the order holds of this source (a wallet part given back when "
                                   "the order was cancelled is not held)")
    refunded: Money = strawberry.field(description="What refunds gave back of it")


@strawberry.type(description="A postal address, as given at checkout")
class DeliveryAddress:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


@strawberry.type(description="The pickup point as it was when the order was placed")
class DeliveryPickupPoint:
    id: relay.GlobalID
    name: str
    address: str
    phone: str


@strawberry.type(description="Where the order goes: exactly one of the two is set")
class OrderDelivery:
    address: DeliveryAddress | None
    pickup_point: DeliveryPickupPoint | None


def _delivery(snapshot: dict[str, Any]) -> OrderDelivery:
    address, point = snapshot.get("address"), snapshot.get("pickupPoint")
    pickup_point = None
    if point is not None:
        point_id = relay.GlobalID("PickupPoint", str(point["id"]))
        pickup_point = DeliveryPickupPoint(id=point_id, name=point["name"], address=point["address"],
                                           phone=point["phone"])
    return OrderDelivery(address=None if address is None else DeliveryAddress(**address), pickup_point=pickup_point)


@strawberry.type(description="A promotion that lowered an order's total")
class OrderDiscount:
    source: str = strawberry.field(description='What gave it: "spend-and-save:<id>" or "coupon:<coupon id>"')

    amount: Money = money_field("amount")


@strawberry.type(description="An order: what was bought, at what price, and where it stands")
class Order(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Shown to people, e.g. P2611230412583921")
    status: OrderStatus
    kind: OrderKind
    remark: str
    carrier: str
    tracking_number: str
    expires_at: datetime = strawberry.field(description="An unpaid order is cancelled at this moment")
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    is_type_of = model_node(models.Order)

    @strawberry.field
    async def lines(self, root: strawberry.Parent[models.Order], info: Info) -> list[OrderLine]:
        return await orders.order_lines(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    async def refunds(self, root: strawberry.Parent[models.Order], info: Info) -> list[Refund]:
        return await orders.order_refunds(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The order-level promotions it got (spend-and-save, a coupon), in the order applied; "
                      "they add up to discountTotal")
    async def discounts(self, root: strawberry.Parent[models.Order], info: Info) -> list[OrderDiscount]:
        return await orders.order_promotions(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field
    def delivery(self, root: strawberry.Parent[models.Order]) -> OrderDelivery:
        return _delivery(root.delivery)

    @strawberry.field(description="The 6-digit code shown at the pickup point (核销), once a pickup order is paid. "
                      "Only its customer and staff see it: null for anyone else")
    async def pickup_code(self, root: strawberry.Parent[models.Order], info: Info) -> str | None:
        return await orders.order_pickup_code(info.context, root)

    subtotal: Money = money_field("subtotal", "Sum of the lines before discounts")

    discount_total: Money = money_field("discount_total")

    shipping_fee: Money = money_field("shipping_fee")

    wallet_paid: Money = money_field("wallet_paid", "What the wallet pays (principal and bonus)")

    payable: Money = money_field("payable", "What is paid through WeChat Pay (the rest)")

    refunded_total: Money = money_field("refunded_total", "What has been refunded so far")

    @strawberry.field(description="Where the order's money came from, part by part (WECHAT_PAY, WALLET_PRINCIPAL, "
                      "WALLET_BONUS), what it holds of each and what refunds gave back of each")
    async def payment_parts(self, root: strawberry.Parent[models.Order], info: Info) -> list[PaymentPart]:
        return [PaymentPart(source=SOURCES[part.account], paid=Money(amount=part.paid),
                            refunded=Money(amount=part.refunded))
                for part in await orders.order_payment_parts(info.context, root)]

    @strawberry.field(description="Money the shop owes back on this order: refunds that FAILED (WeChat Pay refused "
                      "or could not pay them) and are being sent again")
    async def refund_owed(self, root: strawberry.Parent[models.Order], info: Info) -> Money:
        return Money(amount=await orders.order_refund_owed(info.context, root))

    @strawberry.field(description="The group a GROUP_BUY order holds its seat in (null for other kinds, and while "
                      "the group has not opened)")
    async def group_buy(
        self, root: strawberry.Parent[models.Order], info: Info
    ) -> Annotated[GroupBuy, strawberry.lazy("schema.group_buy")] | None:
        return await group_buy.order_group(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class OrderConnection(Connection[Order]):
    pass


@strawberry.type
class RefundConnection(Connection[Refund]):
    pass


@strawberry.input
class CheckoutLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class AddressInput:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


@strawberry.input(description="Exactly one of an address, an addressId (from my address book) or a pickupPointId")
class DeliveryInput:
    address: AddressInput | None = None
    pickup_point_id: strawberry.ID | None = None
    address_id: strawberry.ID | None = None


@strawberry.input(description="Either lines or fromCart: true; the same idempotencyKey returns the first order")
class CheckoutInput:
    delivery: DeliveryInput
    lines: list[CheckoutLineInput] | None = None
    from_cart: bool = False
    remark: str = ""
    share_code: str | None = None
    idempotency_key: str | None = None
    coupon_code: str | None = strawberry.field(
        default=None, description="The code of one of the customer's coupons (CustomerCoupon.code)"
    )
    use_wallet: bool = strawberry.field(default=False, description="The wallet pays what it can (principal and "
                                        "bonus in proportion to their balances), WeChat Pay the rest")


@strawberry.input
class OrderPayInput:
    order_id: strawberry.ID
    use_wallet: bool = strawberry.field(default=False, description="The wallet pays what it can of a pending order "
                                        "it has not paid yet; an order it pays in full is paid at once")


@strawberry.input
class OrderCancelInput:
    order_id: strawberry.ID


@strawberry.input
class OrderConfirmReceiptInput:
    order_id: strawberry.ID


@strawberry.input(description="Without an amount, everything still refundable is asked for")
class OrderRequestRefundInput:
    order_id: strawberry.ID
    reason: str
    amount: int | None = None


@strawberry.type
class CheckoutPayload:
    order: Order | None
    payment: PaymentRequest | None = strawberry.field(description="Null when nothing is owed")
    errors: list[UserError]


@strawberry.type
class OrderPayPayload:
    order: Order | None
    payment: PaymentRequest | None
    errors: list[UserError]


@strawberry.type
class OrderPayload:
    order: Order | None
    errors: list[UserError]


@strawberry.type
class RefundPayload:
    refund: Refund | None
    order: Order | None
    errors: list[UserError]


def placed_payload(cls: Any, outcome: Outcome[Placed]) -> Any:
    placed = None if outcome.errors else outcome.value
    if placed is None:
        return cls(order=None, payment=None, errors=user_errors(outcome.errors))
    return cls(order=placed.order, payment=payment_request(placed.payment), errors=[])


def refund_payload(outcome: Outcome[RefundResult]) -> RefundPayload:
    result = None if outcome.errors else outcome.value
    if result is None:
        return RefundPayload(refund=None, order=None, errors=user_errors(outcome.errors))
    return RefundPayload(refund=result.refund, order=result.order, errors=[])  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class OrderQuery:
    @strawberry.field(permission_classes=[IsCustomer], description="The customer's own orders, newest first")
    async def orders(
        self, info: Info, first: int | None = 20, after: str | None = None,
        status: OrderStatus | None = None,
    ) -> OrderConnection:
        return connection(await orders.orders(info.context, first, after, status), OrderConnection)

    @strawberry.field(permission_classes=[IsCustomer], description="One of the customer's orders, or null")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await orders.order(info.context, id)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


customer: list[type[BasePermission]] = [IsCustomer]


@strawberry.type
class OrderMutation:
    @strawberry.mutation(permission_classes=customer, description="Places the order, holds stock, starts payment")
    async def checkout(self, info: Info, input: CheckoutInput) -> CheckoutPayload:
        return placed_payload(CheckoutPayload, await orders.checkout(info.context, input))

    @strawberry.mutation(permission_classes=customer, description="Payment fields again for a pending order")
    async def order_pay(self, info: Info, input: OrderPayInput) -> OrderPayPayload:
        return placed_payload(OrderPayPayload, await orders.order_pay(info.context, input))

    @strawberry.mutation(permission_classes=customer, description="Cancels an unpaid order; its stock comes back")
    async def order_cancel(self, info: Info, input: OrderCancelInput) -> OrderPayload:
        return payload(OrderPayload, "order", await orders.order_cancel(info.context, input))

    @strawberry.mutation(permission_classes=customer, description="The customer received a shipped order")
    async def order_confirm_receipt(self, info: Info, input: OrderConfirmReceiptInput) -> OrderPayload:
        return payload(OrderPayload, "order", await orders.order_confirm_receipt(info.context, input))

    @strawberry.mutation(permission_classes=customer, description="Asks for money back; staff approve or reject")
    async def order_request_refund(self, info: Info, input: OrderRequestRefundInput) -> RefundPayload:
        return refund_payload(await orders.order_request_refund(info.context, input))
