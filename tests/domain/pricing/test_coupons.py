"""Coupons in the domain: setting one up, claiming copies (also all at once), using one and getting it back."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog import categories
from domain.catalog.models import Sku
from domain.errors import DomainError, DomainErrors
from domain.identity.models import Customer
from domain.pricing import coupon_setup, coupons
from domain.pricing.coupon_setup import CouponStatus
from domain.pricing.coupons import ClaimedStatus
from domain.pricing.models import Coupon, CouponKind, CouponScope, CustomerCoupon, CustomerCouponStatus
from tests.fixtures.promotions import coupon_draft

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def codes(exc: DomainErrors) -> list[tuple[str, list[str] | None]]:
    return [(e.code.value, e.field) for e in exc.errors]


async def _customers(count: int) -> list[Customer]:
    await Customer.bulk_create([Customer(openid=f"o-coupon-{i}") for i in range(count)])
    return await Customer.all().order_by("id")


async def _claim(customer_id: int, coupon_id: int, at: datetime = NOW) -> str:
    try:
        await coupons.claim(customer_id, coupon_id, at)
    except DomainError as exc:
        return exc.code.value
    return "OK"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"value": 0}, ("INVALID", ["value"])),
        ({"kind": CouponKind.PERCENT, "value": 100}, ("INVALID", ["value"])),
        ({"max_discount": 500}, ("INVALID", ["maxDiscount"])),
        ({"min_spend": -1}, ("INVALID", ["minSpend"])),
        ({"total_quantity": 0}, ("INVALID", ["totalQuantity"])),
        ({"per_customer_limit": 0}, ("INVALID", ["perCustomerLimit"])),
        ({"ends_at": NOW - HOUR}, ("INVALID", ["endsAt"])),
        ({"valid_days": None}, ("INVALID", ["validUntil"])),
        ({"valid_until": NOW + 30 * DAY}, ("INVALID", ["validUntil"])),
        ({"valid_days": 0}, ("INVALID", ["validDays"])),
        ({"valid_days": None, "valid_until": NOW + HOUR}, ("INVALID", ["validUntil"])),
        ({"scope": CouponScope.PRODUCTS, "scope_ids": []}, ("INVALID", ["productIds"])),
        ({"scope": CouponScope.PRODUCTS, "scope_ids": [999_999]}, ("NOT_FOUND", ["productIds", "0"])),
        ({"name": ""}, ("INVALID", ["name"])),
    ],
)
async def test_invalid_coupons_are_refused_and_nothing_is_written(db, overrides, expected):
    with pytest.raises(DomainErrors) as caught:
        await coupon_setup.create_coupon(coupon_draft(NOW, **overrides), NOW)
    assert expected in codes(caught.value)
    assert not await Coupon.exists()


async def test_a_claim_takes_a_copy_valid_for_days_from_the_claim(make_coupon, shopper):
    coupon = await make_coupon(NOW, valid_days=3)
    copy = await coupons.claim(shopper.id, coupon.id, NOW + HOUR)
    assert (copy.valid_from, copy.valid_until) == (NOW + HOUR, NOW + HOUR + 3 * DAY)
    assert len(copy.code) == coupons.CODE_LENGTH and copy.status == CustomerCouponStatus.AVAILABLE
    assert (await Coupon.get(id=coupon.id)).claimed == 1
    assert coupons.claimed_status(copy, NOW + HOUR + 3 * DAY) is ClaimedStatus.EXPIRED


async def test_a_fixed_validity_is_the_same_for_every_copy(make_coupon, shopper):
    coupon = await make_coupon(NOW, valid_days=None, valid_from=NOW + DAY, valid_until=NOW + 2 * DAY)
    copy = await coupons.claim(shopper.id, coupon.id, NOW)
    assert (copy.valid_from, copy.valid_until) == (NOW + DAY, NOW + 2 * DAY)
    with pytest.raises(DomainError) as caught:
        await coupons.usable(shopper.id, copy.code, NOW)
    assert caught.value.code.value == "COUPON_INVALID" and "from" in caught.value.message
    assert (await coupons.usable(shopper.id, copy.code.lower(), NOW + DAY)).id == copy.id


async def test_claims_outside_the_window_or_over_the_limits_are_refused(make_coupon, shopper):
    later = await make_coupon(NOW, starts_at=NOW + HOUR)
    two = await make_coupon(NOW, total_quantity=3, per_customer_limit=2)
    other = await Customer.create(openid="o-other")
    assert await _claim(shopper.id, later.id) == "NOT_STARTED"
    assert await _claim(shopper.id, later.id, NOW + 25 * HOUR) == "ENDED"
    assert [await _claim(shopper.id, two.id) for _ in range(3)] == ["OK", "OK", "LIMIT_EXCEEDED"]
    assert [await _claim(other.id, two.id) for _ in range(2)] == ["OK", "SOLD_OUT"]
    await coupon_setup.end_coupon(later.id, NOW + HOUR)
    assert await _claim(shopper.id, later.id, NOW + 2 * HOUR) == "ENDED"
    assert await _claim(shopper.id, 999_999) == "NOT_FOUND"
    assert await CustomerCoupon.filter(coupon_id=two.id).count() == 3 == (await Coupon.get(id=two.id)).claimed


async def test_200_concurrent_claims_for_50_copies_take_exactly_50(make_coupon):
    coupon = await make_coupon(NOW, total_quantity=50)
    customers = await _customers(200)
    outcomes = await asyncio.gather(*(_claim(c.id, coupon.id) for c in customers))
    assert Counter(outcomes) == {"OK": 50, "SOLD_OUT": 150}
    assert (await Coupon.get(id=coupon.id)).claimed == 50
    assert await CustomerCoupon.filter(coupon_id=coupon.id).count() == 50


async def test_one_customer_claiming_20_times_at_once_gets_exactly_their_limit(make_coupon, shopper):
    coupon = await make_coupon(NOW, total_quantity=100, per_customer_limit=3)
    outcomes = await asyncio.gather(*(_claim(shopper.id, coupon.id) for _ in range(20)))
    assert Counter(outcomes) == {"OK": 3, "LIMIT_EXCEEDED": 17}
    assert (await Coupon.get(id=coupon.id)).claimed == 3
    assert await CustomerCoupon.filter(customer_id=shopper.id).count() == 3


async def test_a_copy_is_used_once_and_given_back_when_its_order_is_cancelled(make_coupon, shopper, pay_flow):
    sku = await pay_flow.sku(price=5000, stock=5)
    coupon = await make_coupon()
    copy = await coupons.claim(shopper.id, coupon.id, datetime.now(UTC))
    order, _ = await pay_flow.place((sku, 1), buyer=shopper)
    await coupons.use(copy.id, order.id, datetime.now(UTC))
    with pytest.raises(DomainError) as caught:
        await coupons.use(copy.id, order.id, datetime.now(UTC))
    assert caught.value.code.value == "COUPON_INVALID"
    assert await coupons.give_back(order.id) == 1
    await copy.refresh_from_db()
    assert (copy.status, copy.order_id, copy.used_at) == (CustomerCouponStatus.AVAILABLE, None, None)


async def test_another_customers_code_reads_like_no_code_at_all(make_coupon, shopper):
    coupon = await make_coupon(NOW)
    copy = await coupons.claim(shopper.id, coupon.id, NOW)
    other = await Customer.create(openid="o-other")
    for customer_id, code in ((other.id, copy.code), (shopper.id, "NOPE"), (shopper.id, "X" * 200)):
        with pytest.raises(DomainError) as caught:
            await coupons.usable(customer_id, code, NOW)
        assert (caught.value.code.value, caught.value.message) == ("COUPON_INVALID", "no such coupon")


async def test_once_claimed_only_names_quantities_and_the_end_can_change(make_coupon, shopper):
    coupon = await make_coupon(NOW, total_quantity=10)
    await coupon_setup.update_coupon(coupon.id, {"value": 2000, "name": "改名"}, NOW)
    await coupons.claim(shopper.id, coupon.id, NOW)
    with pytest.raises(DomainErrors) as caught:
        await coupon_setup.update_coupon(coupon.id, {"value": 3000, "min_spend": 100, "total_quantity": 0}, NOW)
    assert codes(caught.value) == [("INVALID", ["totalQuantity"]), ("INVALID_STATE", ["value"]),
                                   ("INVALID_STATE", ["minSpend"])]
    with pytest.raises(DomainErrors) as caught:
        await coupon_setup.update_coupon(coupon.id, {"scope": CouponScope.CATEGORIES, "scope_ids": [1]}, NOW)
    assert codes(caught.value) == [("INVALID_STATE", ["categoryIds"])]
    await coupons.claim((await Customer.create(openid="o-other")).id, coupon.id, NOW)
    with pytest.raises(DomainErrors) as caught:
        await coupon_setup.update_coupon(coupon.id, {"total_quantity": 1}, NOW + HOUR)
    assert codes(caught.value) == [("INVALID", ["totalQuantity"])]
    assert "2 already claimed" in caught.value.errors[0].message
    changed = await coupon_setup.update_coupon(coupon.id, {"total_quantity": 20, "ends_at": NOW + 2 * DAY,
                                                           "value": 2000}, NOW)
    assert (changed.value, changed.total_quantity, changed.ends_at, changed.name) == (2000, 20, NOW + 2 * DAY, "改名")


async def test_a_category_scope_covers_its_subcategories(make_product, make_coupon, fruit):
    citrus = await categories.create_category("柑橘", parent_id=fruit.id)
    veg = await categories.create_category("蔬菜")
    orange = await Sku.get(product_id=(await make_product(category=citrus, skus=[{"specs": [], "price": 100}])).id)
    cabbage = await Sku.get(product_id=(await make_product(category=veg, skus=[{"specs": [], "price": 100}])).id)
    by_category = await make_coupon(NOW, scope=CouponScope.CATEGORIES, scope_ids=[fruit.id])
    by_product = await make_coupon(NOW, scope=CouponScope.PRODUCTS, scope_ids=[cabbage.product_id])
    everything = await make_coupon(NOW)
    covered = await coupons.coverage([by_category, by_product, everything], [orange, cabbage])
    assert covered == {by_category.id: {orange.id}, by_product.id: {cabbage.id}, everything.id: None}


async def test_staff_and_customers_list_coupons(make_coupon, shopper):
    open_one = await make_coupon(NOW, per_customer_limit=1)
    await make_coupon(NOW, starts_at=NOW + HOUR)
    sold_out = await make_coupon(NOW, total_quantity=1)
    await coupons.claim((await Customer.create(openid="o-other")).id, sold_out.id, NOW)
    for wanted, count in ((CouponStatus.ACTIVE, 2), (CouponStatus.SCHEDULED, 1), (CouponStatus.ENDED, 0)):
        assert await (await coupon_setup.staff_coupons(wanted, NOW, 10, None)).count() == count
    assert [c.id for c in (await coupons.claimable_coupons(shopper.id, NOW, 10, None)).items] == [open_one.id]
    await coupons.claim(shopper.id, open_one.id, NOW)
    assert (await coupons.claimable_coupons(shopper.id, NOW, 10, None)).items == []
    assert [c.id for c in (await coupons.claimable_coupons(None, NOW, 10, None)).items] == [open_one.id]
    mine = await coupons.customer_coupons(shopper.id, ClaimedStatus.AVAILABLE, NOW, 10, None)
    assert [c.coupon_id for c in mine.items] == [open_one.id]
    assert (await coupons.customer_coupons(shopper.id, ClaimedStatus.EXPIRED, NOW + 8 * DAY, 10, None)).items != []
