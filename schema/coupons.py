"""Coupons (优惠券): templates staff set up, the copies customers claim, and claiming one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.pricing import coupon_setup, coupons, models
from resolvers import coupons as resolve
from resolvers.permissions import CanManageGoods, IsCustomer, IsStaff
from schema.catalog import Category, Product
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
CouponKind = models.CouponKind
strawberry.enum(
    CouponKind, name="CouponKind", description="FIXED_AMOUNT: value is fen off. PERCENT: value is percent off "
    "(1 to 99), floored to the fen"
)
CouponStatus = coupon_setup.CouponStatus
strawberry.enum(CouponStatus, name="CouponStatus", description="Where the coupon's claim window stands")
CouponScope = models.CouponScope
strawberry.enum(CouponScope, name="CouponScope", description="What the coupon covers")
CustomerCouponStatus = coupons.ClaimedStatus
strawberry.enum(
    CustomerCouponStatus, name="CustomerCouponStatus",
    description="AVAILABLE: not used and not expired (it may still wait for validFrom)",
)


@strawberry.type(description="A coupon (优惠券): what it takes off, what it covers, how many can be claimed")
class Coupon(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    kind: CouponKind
    value: int = strawberry.field(description="Fen off (FIXED_AMOUNT) or percent off (PERCENT)")
    scope: CouponScope
    total_quantity: int = strawberry.field(description="Copies that can be claimed in all")
    claimed: int = strawberry.field(description="Copies claimed so far")
    per_customer_limit: int = strawberry.field(description="Copies one customer may claim")
    starts_at: datetime = strawberry.field(description="Claims open")
    ends_at: datetime = strawberry.field(description="Claims close")
    valid_from: datetime | None = strawberry.field(description="A fixed validity's start; null: from the claim")
    valid_until: datetime | None = strawberry.field(description="A fixed validity's end; null: see validDays")
    valid_days: int | None = strawberry.field(description="Days a copy is valid from its claim; null: fixed")
    ended_at: datetime | None = strawberry.field(description="Set when staff ended the claims early (couponEnd)")
    created_at: datetime
    is_type_of = model_node(models.Coupon)

    min_spend: Money = money_field("min_spend", "What the covered items must come to, after spend-and-save")

    @strawberry.field(description="PERCENT only: the most it takes off; null: no cap")
    def max_discount(self) -> Money | None:
        cap = self.max_discount
        return None if cap is None else Money(amount=cap)

    @strawberry.field(description="Copies still to be claimed")
    def remaining(self) -> int:
        return max(self.total_quantity - self.claimed, 0)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.Coupon]) -> CouponStatus:
        return resolve.coupon_status(root)

    @strawberry.field(description="The products it covers (scope PRODUCTS)")
    async def products(self, root: strawberry.Parent[models.Coupon], info: Info) -> list[Product]:
        return await resolve.scope_products(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The categories it covers, with their subcategories (scope CATEGORIES)")
    async def categories(self, root: strawberry.Parent[models.Coupon], info: Info) -> list[Category]:
        return await resolve.scope_categories(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await resolve.coupon_nodes([int(i) for i in node_ids])


@strawberry.type(description="A copy of a coupon the customer claimed; checkout's couponCode is its code")
class CustomerCoupon(relay.Node):
    id: relay.NodeID[int]
    code: str
    valid_from: datetime
    valid_until: datetime
    claimed_at: datetime
    used_at: datetime | None = strawberry.field(description="When an order used it (null once the order is cancelled)")
    is_type_of = model_node(models.CustomerCoupon)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.CustomerCoupon]) -> CustomerCouponStatus:
        return resolve.claimed_status(root)

    @strawberry.field
    async def coupon(self, root: strawberry.Parent[models.CustomerCoupon], info: Info) -> Coupon:
        return await resolve.copy_coupon(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await resolve.copy_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type
class CouponConnection(Connection[Coupon]):
    pass


@strawberry.type
class CustomerCouponConnection(Connection[CustomerCoupon]):
    pass


@strawberry.input(description="Times are stored in UTC. Give validUntil (with an optional validFrom) for a fixed "
                  "validity, or validDays for days from the claim. productIds or categoryIds limit what it covers")
class CouponCreateInput:
    name: str
    kind: CouponKind
    value: int
    total_quantity: int
    starts_at: datetime
    ends_at: datetime
    description: str | None = ""
    max_discount: int | None = strawberry.UNSET
    min_spend: int | None = 0
    product_ids: list[strawberry.ID] | None = strawberry.UNSET
    category_ids: list[strawberry.ID] | None = strawberry.UNSET
    per_customer_limit: int | None = 1
    valid_from: datetime | None = strawberry.UNSET
    valid_until: datetime | None = strawberry.UNSET
    valid_days: int | None = strawberry.UNSET


@strawberry.input(description="Only the given fields change; null clears maxDiscount, validFrom, validUntil and "
                  "validDays. productIds or categoryIds replace the scope (an empty list: everything). Once a copy "
                  "is claimed only name, description, totalQuantity, perCustomerLimit and endsAt may change")
class CouponUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    kind: CouponKind | None = strawberry.UNSET
    value: int | None = strawberry.UNSET
    total_quantity: int | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    max_discount: int | None = strawberry.UNSET
    min_spend: int | None = strawberry.UNSET
    product_ids: list[strawberry.ID] | None = strawberry.UNSET
    category_ids: list[strawberry.ID] | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    valid_from: datetime | None = strawberry.UNSET
    valid_until: datetime | None = strawberry.UNSET
    valid_days: int | None = strawberry.UNSET


@strawberry.input
class CouponEndInput:
    id: strawberry.ID


@strawberry.input
class CouponClaimInput:
    coupon_id: strawberry.ID


@strawberry.type
class CouponPayload:
    coupon: Coupon | None
    errors: list[UserError]


@strawberry.type
class CouponClaimPayload:
    customer_coupon: CustomerCoupon | None
    errors: list[UserError]


@strawberry.type
class CouponQuery:
    @strawberry.field(permission_classes=[IsCustomer], description="The customer's own coupons, newest claim first")
    async def coupons(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: CustomerCouponStatus | None = None,
    ) -> CustomerCouponConnection:
        return connection(await resolve.customer_coupons(info.context, first, after, status), CustomerCouponConnection)

    @strawberry.field(description="Coupons open for claims with copies left, newest first; for a logged-in customer, "
                      "without those they already hold their limit of")
    async def claimable_coupons(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> CouponConnection:
        return connection(await resolve.claimable_coupons(info.context, first, after), CouponConnection)


@strawberry.type
class CouponStaffQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Newest first")
    async def staff_coupons(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: CouponStatus | None = None,
    ) -> CouponConnection:
        return connection(await resolve.staff_coupons(info.context, first, after, status), CouponConnection)


@strawberry.type
class CouponMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="NOT_STARTED, ENDED, SOLD_OUT (no copies left) "
                         "or LIMIT_EXCEEDED (the customer holds their limit)")
    async def coupon_claim(self, info: Info, input: CouponClaimInput) -> CouponClaimPayload:
        return payload(CouponClaimPayload, "customer_coupon", await resolve.coupon_claim(info.context, input))


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class CouponStaffMutation:
    @strawberry.mutation(permission_classes=goods)
    async def coupon_create(self, info: Info, input: CouponCreateInput) -> CouponPayload:
        return payload(CouponPayload, "coupon", await resolve.coupon_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once the claims have ended, "
                         "and for what a claimed copy means once one is claimed")
    async def coupon_update(self, info: Info, input: CouponUpdateInput) -> CouponPayload:
        return payload(CouponPayload, "coupon", await resolve.coupon_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="No more claims from now on; copies already claimed "
                         "stay usable until their validity ends")
    async def coupon_end(self, info: Info, input: CouponEndInput) -> CouponPayload:
        return payload(CouponPayload, "coupon", await resolve.coupon_end(info.context, input))
