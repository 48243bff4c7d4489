"""Coupons: staff set-up, the customer's claims and their own coupons. Decode IDs, call the pricing domain."""

from __future__ import annotations

from typing import Any

from strawberry import UNSET

from domain.catalog.models import Category, Product
from domain.errors import DomainError, DomainErrors, NotFound
from domain.pagination import Page
from domain.pricing import coupon_setup, coupons
from domain.pricing.coupon_setup import CouponDraft, CouponStatus, scope_of
from domain.pricing.coupons import ClaimedStatus
from domain.pricing.models import Coupon, CouponKind, CouponScope, CustomerCoupon
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, now
from resolvers.permissions import customer_id_of

# Input fields whose null clears the value; for the others null means "leave as is", as everywhere else.
NULLABLE = ("max_discount", "valid_from", "valid_until", "valid_days")
PLAIN = ("name", "description", "kind", "value", "min_spend", "total_quantity", "per_customer_limit", "starts_at",
         "ends_at")




def _ids(global_ids: Any, type_name: str, field: str) -> list[int]:
    decoded: list[int] = []
    errors: list[DomainError] = []
    for index, global_id in enumerate(global_ids or []):
        try:
            decoded.append(decode_id(global_id, type_name))
        except NotFound:
            errors.append(NotFound(type_name.lower(), [field, str(index)]))
    if errors:
        raise DomainErrors(errors)
    return decoded


def _scope(data: Any) -> dict[str, Any]:
    """The scope fields of a draft, from whichever of productIds / categoryIds was given (an empty list: ALL)."""
    products = None if data.product_ids in (UNSET, None) else _ids(data.product_ids, "Product", "productIds")
    categories = None if data.category_ids in (UNSET, None) else _ids(data.category_ids, "Category", "categoryIds")
    if products is None and categories is None:
        return {}
    scope, scope_ids = scope_of(products or [], categories or [])
    return {"scope": scope, "scope_ids": scope_ids}


def _given(data: Any) -> dict[str, Any]:
    changes = {name: getattr(data, name) for name in NULLABLE if getattr(data, name) is not UNSET}
    changes |= {name: getattr(data, name) for name in PLAIN if getattr(data, name) not in (UNSET, None)}
    if "kind" in changes:
        changes["kind"] = CouponKind(changes["kind"])
    return changes | _scope(data)


async def coupon_create(ctx: Context, data: Any) -> Outcome[Coupon]:
    async def run() -> Coupon:
        values = _given(data)
        draft = CouponDraft(**values)
        return await coupon_setup.create_coupon(draft, now())

    return await attempt(run())


async def coupon_update(ctx: Context, data: Any) -> Outcome[Coupon]:
    async def run() -> Coupon:
        coupon_id = decode_id(data.id, "Coupon")
        return await coupon_setup.update_coupon(coupon_id, _given(data), now())

    return await attempt(run())


async def coupon_end(ctx: Context, data: Any) -> Outcome[Coupon]:
    async def run() -> Coupon:
        return await coupon_setup.end_coupon(decode_id(data.id, "Coupon"), now())

    return await attempt(run())


async def coupon_claim(ctx: Context, data: Any) -> Outcome[CustomerCoupon]:
    async def run() -> CustomerCoupon:
        return await coupons.claim(customer_id_of(ctx), decode_id(data.coupon_id, "Coupon", "couponId"), now())

    return await attempt(run())


async def staff_coupons(ctx: Context, first: int | None, after: str | None, status: Any) -> Page[Coupon]:
    wanted = None if status is None else CouponStatus(status.value)
    return await coupon_setup.staff_coupons(wanted, now(), first, after)


async def claimable_coupons(ctx: Context, first: int | None, after: str | None) -> Page[Coupon]:
    return await coupons.claimable_coupons(ctx.customer_id, now(), first, after)


async def customer_coupons(ctx: Context, first: int | None, after: str | None, status: Any) -> Page[CustomerCoupon]:
    wanted = None if status is None else ClaimedStatus(status.value)
    return await coupons.customer_coupons(customer_id_of(ctx), wanted, now(), first, after)


def coupon_status(coupon: Coupon) -> CouponStatus:
    return coupon_setup.status(coupon, now())


def claimed_status(copy: CustomerCoupon) -> ClaimedStatus:
    return coupons.claimed_status(copy, now())


async def scope_products(ctx: Context, coupon: Coupon) -> list[Product]:
    if coupon.scope != CouponScope.PRODUCTS:
        return []
    found = await ctx.loaders.product.load_many(list(coupon.scope_ids))
    return [product for product in found if product is not None]


async def scope_categories(ctx: Context, coupon: Coupon) -> list[Category]:
    if coupon.scope != CouponScope.CATEGORIES:
        return []
    found = await ctx.loaders.category.load_many(list(coupon.scope_ids))
    return [category for category in found if category is not None]


async def copy_coupon(ctx: Context, copy: CustomerCoupon) -> Coupon:
    coupon = await ctx.loaders.coupon.load(copy.coupon_id)
    assert coupon is not None  # the foreign key keeps it
    return coupon


async def coupon_nodes(ids: list[int]) -> list[Coupon | None]:
    found = await coupons.coupons_by_id(ids)
    return [found.get(i) for i in ids]


async def copy_nodes(ctx: Context, ids: list[int]) -> list[CustomerCoupon | None]:
    """A customer reads only their own copies; staff read any; nobody else reads one."""
    return list(await ctx.loaders.customer_coupon.load_many(ids))
