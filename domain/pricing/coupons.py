"""Claimed coupons: a customer claims copies of a coupon, checkout uses one, a cancelled order gives it back.

Claims need no lock on the coupon: taking a copy is one conditional UPDATE (`claimed < total_quantity`, inside the
claim window), so concurrent claims never take more than the total. The customer's row is locked in the claim's
transaction, so one customer's claims are counted one after the other against the per-customer limit. Using a copy
is a conditional UPDATE too (`status = AVAILABLE`), in the order's transaction: two checkouts cannot spend one copy.
A copy whose order is cancelled or expires is AVAILABLE again; past its validity it then reads as EXPIRED.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.expressions import F
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from domain.catalog.models import Category, Product, Sku
from domain.errors import DomainError, ErrorCode, NotFound
from domain.identity.models import Customer
from domain.pagination import Page, paginate
from domain.pricing.coupon_setup import CouponStatus, claim_window, status
from domain.pricing.engine import CouponTerms
from domain.pricing.models import Coupon, CouponScope, CustomerCoupon, CustomerCouponStatus, OrderPromotion

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O or 1/I: a code may be read out or typed."""
CODE_LENGTH = 12
MAX_OPTIONS = 100
"""At most this many of a customer's coupons are weighed for one cart."""
AVAILABLE = CustomerCouponStatus.AVAILABLE
USED = CustomerCouponStatus.USED


class ClaimedStatus(StrEnum):
    """A claimed copy as the customer sees it: AVAILABLE may still be waiting for its `valid_from`."""

    AVAILABLE = "AVAILABLE"
    USED = "USED"
    EXPIRED = "EXPIRED"


def claimed_status(copy: CustomerCoupon, at: datetime) -> ClaimedStatus:
    if copy.status == USED:
        return ClaimedStatus.USED
    return ClaimedStatus.EXPIRED if copy.valid_until <= at else ClaimedStatus.AVAILABLE


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_window(coupon: Coupon, at: datetime) -> None:
    state = status(coupon, at)
    if state is CouponStatus.ENDED:
        raise DomainError(ErrorCode.ENDED, "this coupon can no longer be claimed", ["couponId"])
    if state is CouponStatus.SCHEDULED:
        raise DomainError(ErrorCode.NOT_STARTED, "this coupon cannot be claimed yet", ["couponId"])


def _validity(coupon: Coupon, at: datetime) -> tuple[datetime, datetime]:
    if coupon.valid_days is not None:
        return at, at + timedelta(days=coupon.valid_days)
    assert coupon.valid_until is not None  # a coupon has one of the two (coupon_setup checks)
    return coupon.valid_from or at, coupon.valid_until


async def claim(customer_id: int, coupon_id: int, now: datetime) -> CustomerCoupon:
    """One more copy for the customer: NOT_FOUND, NOT_STARTED, ENDED, SOLD_OUT or LIMIT_EXCEEDED otherwise."""
    async with in_transaction():
        await Customer.filter(id=customer_id).select_for_update(no_key=True).first()
        coupon = await Coupon.get_or_none(id=coupon_id)
        if coupon is None:
            raise NotFound("coupon", ["couponId"])
        _check_window(coupon, now)
        mine = await CustomerCoupon.filter(customer_id=customer_id, coupon_id=coupon.id).count()
        if mine >= coupon.per_customer_limit:
            message = f"at most {coupon.per_customer_limit} of this coupon per customer"
            raise DomainError(ErrorCode.LIMIT_EXCEEDED, message, ["couponId"])
        taken = await Coupon.filter(claim_window(now), id=coupon.id, claimed__lt=F("total_quantity")).update(
            claimed=F("claimed") + 1
        )
        if not taken:
            await coupon.refresh_from_db()
            _check_window(coupon, now)
            raise DomainError(ErrorCode.SOLD_OUT, "all copies of this coupon have been claimed", ["couponId"])
        valid_from, valid_until = _validity(coupon, now)
        copy = await CustomerCoupon.create(coupon_id=coupon.id, customer_id=customer_id, code=new_code(),
                                           valid_from=valid_from, valid_until=valid_until)
    copy.coupon = coupon
    return copy


async def claimable_coupons(customer_id: int | None, now: datetime, first: int | None,
                            after: str | None) -> Page[Coupon]:
    """Coupons open for claims with copies left, newest first; for a customer, minus those they hold their limit of."""
    query = Coupon.filter(claim_window(now), claimed__lt=F("total_quantity"))
    if customer_id is not None:
        counts = await (
            CustomerCoupon.filter(customer_id=customer_id, coupon__ended_at__isnull=True, coupon__ends_at__gt=now)
            .group_by("coupon_id")
            .annotate(copies=Count("id"))
            .values_list("coupon_id", "copies")
        )
        limits = dict(await Coupon.filter(id__in=[c for c, _ in counts]).values_list("id", "per_customer_limit"))
        full = [coupon_id for coupon_id, copies in counts if copies >= limits.get(coupon_id, 0)]
        if full:
            query = query.exclude(id__in=full)
    return await paginate(query, ("id",), first, after, descending=True)


async def customer_coupons(customer_id: int, wanted: ClaimedStatus | None, now: datetime, first: int | None,
                           after: str | None) -> Page[CustomerCoupon]:
    """The customer's own copies, newest claim first."""
    query = CustomerCoupon.filter(customer_id=customer_id)
    if wanted is ClaimedStatus.AVAILABLE:
        query = query.filter(status=AVAILABLE, valid_until__gt=now)
    elif wanted is ClaimedStatus.USED:
        query = query.filter(status=USED)
    elif wanted is ClaimedStatus.EXPIRED:
        query = query.filter(status=AVAILABLE, valid_until__lte=now)
    return await paginate(query, ("id",), first, after, descending=True)


def _invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.COUPON_INVALID, message, ["couponCode"])


async def usable(customer_id: int, code: str, at: datetime) -> CustomerCoupon:
    """The customer's copy with that code if it can be used at that moment (its coupon loaded); else COUPON_INVALID.
    Another customer's code reads exactly like a code that does not exist."""
    code = code.strip().upper()
    copy = None
    if 0 < len(code) <= CODE_LENGTH:
        copy = await CustomerCoupon.get_or_none(code=code, customer_id=customer_id).select_related("coupon")
    if copy is None:
        raise _invalid("no such coupon")
    if copy.status == USED:
        raise _invalid("this coupon has been used")
    if copy.valid_until <= at:
        raise _invalid("this coupon has expired")
    if at < copy.valid_from:
        raise _invalid(f"this coupon can be used from {copy.valid_from.isoformat()}")
    return copy


async def usable_copies(customer_id: int, at: datetime) -> list[CustomerCoupon]:
    """The customer's copies that can be used at that moment, soonest to expire first (their coupons loaded)."""
    return await (
        CustomerCoupon.filter(customer_id=customer_id, status=AVAILABLE, valid_from__lte=at, valid_until__gt=at)
        .order_by("valid_until", "id")
        .limit(MAX_OPTIONS)
        .select_related("coupon")
    )


def _below(roots: Iterable[int], tree: Sequence[tuple[int, int | None]]) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for category_id, parent_id in tree:
        children.setdefault(parent_id, []).append(category_id)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


async def coverage(coupons: Sequence[Coupon], skus: Sequence[Sku]) -> dict[int, frozenset[int] | None]:
    """Per coupon id, the SKUs among these it covers (None: all). A category covers its subcategories too.
    At most two queries, however many coupons."""
    covered: dict[int, frozenset[int] | None] = {c.id: None for c in coupons if c.scope == CouponScope.ALL}
    by_category = [c for c in coupons if c.scope == CouponScope.CATEGORIES]
    categories: dict[int, int] = {}
    if by_category:
        product_ids = list({sku.product_id for sku in skus})
        categories = dict(await Product.filter(id__in=product_ids).values_list("id", "category_id"))
        tree = await Category.all().values_list("id", "parent_id")
    for coupon in coupons:
        if coupon.scope == CouponScope.PRODUCTS:
            products = set(coupon.scope_ids)
            covered[coupon.id] = frozenset(s.id for s in skus if s.product_id in products)
        elif coupon.scope == CouponScope.CATEGORIES:
            allowed = _below(coupon.scope_ids, tree)
            covered[coupon.id] = frozenset(
                s.id for s in skus if categories.get(s.product_id) in allowed
            )
    return covered


def terms(copy: CustomerCoupon, covered: frozenset[int] | None) -> CouponTerms:
    coupon: Coupon = copy.coupon
    return CouponTerms(coupon_id=coupon.id, customer_coupon_id=copy.id, kind=coupon.kind, value=coupon.value,
                       min_spend=coupon.min_spend, max_discount=coupon.max_discount, sku_ids=covered)


async def use(customer_coupon_id: int, order_id: int, at: datetime) -> None:
    """Checkout's call, in the order's transaction: the copy becomes USED by the order, or COUPON_INVALID if another
    checkout used it first (or it just expired)."""
    used = await CustomerCoupon.filter(id=customer_coupon_id, status=AVAILABLE, valid_until__gt=at).update(
        status=USED, order_id=order_id, used_at=at
    )
    if not used:
        raise _invalid("this coupon has just been used on another order")


async def give_back(order_id: int) -> int:
    """The order was cancelled, expired or refunded in full (in its transaction): its coupon is AVAILABLE again.
    Returns copies given back (0 or 1). A copy past its validity then reads as EXPIRED."""
    return await CustomerCoupon.filter(order_id=order_id, status=USED).update(
        status=AVAILABLE, order_id=None, used_at=None
    )


class CouponTaken(Exception):
    """The coupon a cancelled order used is no longer there to take back (another order used it meanwhile)."""


async def retake(order_id: int, at: datetime) -> int:
    """A cancelled order is revived by a late payment: its coupon is USED by it again. Raises CouponTaken if another
    order used the copy meanwhile: the order cannot keep a discount it has no coupon for (the caller refunds it).
    Returns copies retaken (0 or 1)."""
    ids = await OrderPromotion.filter(order_id=order_id, customer_coupon_id__isnull=False).values_list(
        "customer_coupon_id", flat=True
    )
    if not ids:
        return 0
    retaken = await CustomerCoupon.filter(id__in=list(ids), status=AVAILABLE).update(
        status=USED, order_id=order_id, used_at=at
    )
    if retaken < len(set(ids)):
        raise CouponTaken(f"order {order_id}'s coupon was used by another order")
    return retaken


async def coupons_by_id(ids: Sequence[int]) -> dict[int, Coupon]:
    return {c.id: c for c in await Coupon.filter(id__in=list(ids))}


async def copies_by_id(ids: Sequence[int], customer_id: int | None) -> dict[int, CustomerCoupon]:
    """Claimed copies by id; with a customer, only that customer's own."""
    query = CustomerCoupon.filter(id__in=list(ids))
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    return {c.id: c for c in await query}
