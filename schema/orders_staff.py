"""Orders in the merchant console: every order, shipping, and refunds (deciding and refunding directly)."""

from __future__ import annotations

import strawberry
from strawberry import Info

from resolvers import orders_staff
from resolvers.permissions import CanFulfilOrders, CanManageMoney, IsStaff
from schema.core import connection, payload
from schema.orders import (
    Order,
    OrderConnection,
    OrderPayload,
    OrderStatus,
    RefundConnection,
    RefundPayload,
    RefundStatus,
    refund_payload,
)


@strawberry.input(description="carrier and trackingNumber are required for postal delivery, optional for pickup")
class OrderShipInput:
    order_id: strawberry.ID
    carrier: str = ""
    tracking_number: str = ""


@strawberry.input(description="The 6-digit code the customer shows")
class OrderPickupVerifyInput:
    pickup_code: str


@strawberry.input
class RefundApproveInput:
    refund_id: strawberry.ID


@strawberry.input
class RefundRejectInput:
    refund_id: strawberry.ID
    reason: str


@strawberry.input
class RefundRetryInput:
    refund_id: strawberry.ID


@strawberry.input(description="Refund on the shop's own initiative; without an amount, everything still refundable")
class OrderRefundInput:
    order_id: strawberry.ID
    reason: str
    amount: int | None = None


@strawberry.type
class OrderStaffQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Every order, newest first; `number` finds one")
    async def staff_orders(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: OrderStatus | None = None,  # strawberry.enum() returns the enum class; mypy sees a variable
        number: str | None = None,
    ) -> OrderConnection:
        page = await orders_staff.staff_orders(info.context, first, after, status, number)
        return connection(page, OrderConnection)

    @strawberry.field(permission_classes=[CanManageMoney], description="Refunds, newest first; status FAILED is the "
                      "queue of money still owed to customers (WeChat Pay refused or could not pay it)")
    async def staff_refunds(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: RefundStatus | None = None,
    ) -> RefundConnection:
        page = await orders_staff.staff_refunds(info.context, first, after, status)
        return connection(page, RefundConnection)

    @strawberry.field(permission_classes=[IsStaff], description="Any order by its ID, or null")
    async def staff_order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await orders_staff.staff_order(info.context, id)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class OrderStaffMutation:
    @strawberry.mutation(permission_classes=[CanFulfilOrders], description="A paid order leaves the shop")
    async def order_ship(self, info: Info, input: OrderShipInput) -> OrderPayload:
        return payload(OrderPayload, "order", await orders_staff.order_ship(info.context, input))

    @strawberry.mutation(permission_classes=[CanFulfilOrders], description="Hands a paid pickup order over against "
                         "its code (核销): it becomes COMPLETED, once. Already picked up, or refunding/cancelled: "
                         "INVALID_STATE. Unknown code: NOT_FOUND")
    async def order_pickup_verify(self, info: Info, input: OrderPickupVerifyInput) -> OrderPayload:
        return payload(OrderPayload, "order", await orders_staff.order_pickup_verify(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="Sends a requested refund to WeChat Pay")
    async def refund_approve(self, info: Info, input: RefundApproveInput) -> RefundPayload:
        return refund_payload(await orders_staff.refund_approve(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="The order goes back to where it was")
    async def refund_reject(self, info: Info, input: RefundRejectInput) -> RefundPayload:
        return refund_payload(await orders_staff.refund_reject(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="Sends a FAILED refund to WeChat Pay again "
                         "(after asking what became of it); PAYMENT_FAILED if it fails again")
    async def refund_retry(self, info: Info, input: RefundRetryInput) -> RefundPayload:
        return refund_payload(await orders_staff.refund_retry(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney])
    async def order_refund(self, info: Info, input: OrderRefundInput) -> RefundPayload:
        return refund_payload(await orders_staff.order_refund(info.context, input))
