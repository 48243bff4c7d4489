"""The engine's order-level step: spend-and-save, then one coupon, each spread over the lines it covers to the fen."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog.models import Sku
from domain.errors import DomainError
from domain.pricing import engine
from domain.pricing.engine import CouponTerms, PricedLine, Quote, Tier
from domain.pricing.models import CouponKind


def quote(*lines: tuple[int, int]) -> Quote:
    """Lines as (unit price, quantity), SKU ids 1, 2, 3…"""
    return Quote([PricedLine(Sku(id=i, price=p), q, p) for i, (p, q) in enumerate(lines, start=1)])


def fixed(value: int, **kw) -> CouponTerms:
    return CouponTerms(coupon_id=7, customer_coupon_id=70, kind=CouponKind.FIXED_AMOUNT, value=value, **kw)


def percent(value: int, **kw) -> CouponTerms:
    return CouponTerms(coupon_id=8, customer_coupon_id=80, kind=CouponKind.PERCENT, value=value, **kw)


@given(amount=st.integers(0, 10**7), weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_allocation_adds_up_exactly_and_no_share_exceeds_its_weight(amount, weights):
    shares = engine.allocate(amount, weights)
    assert sum(shares) == min(amount, sum(weights))
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


def test_the_fen_left_over_go_to_the_largest_remainders_then_the_earlier_line():
    assert engine.allocate(100, [1, 1, 1]) == [1, 1, 1]
    assert engine.allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert engine.allocate(10, [3, 3, 4]) == [3, 3, 4]
    # 0.83, 1.67, 2.5: floors 0, 1, 2, then the 2 fen left go to the largest remainders
    assert engine.allocate(5, [100, 200, 300]) == [1, 2, 2]


def test_spend_and_save_then_a_coupon_tested_on_what_is_left():
    priced = engine.apply_order_promotions(quote((6000, 1), (4000, 1)), [Tier(3, 10000, 1000)],
                                           fixed(500, min_spend=9000))
    assert priced.discounts == [engine.Discount("spend-and-save:3", 1000), engine.Discount("coupon:7", 500)]
    assert [line.discount for line in priced.lines] == [900, 600]
    assert (priced.subtotal, priced.discount_total, priced.total) == (10000, 1500, 8500)
    assert priced.customer_coupon_id == 70
    with pytest.raises(DomainError) as caught:  # 10000 reaches the tier, but only 9000 is left for the coupon
        engine.apply_order_promotions(quote((6000, 1), (4000, 1)), [Tier(3, 10000, 1000)], fixed(500, min_spend=9001))
    assert (caught.value.code.value, caught.value.field) == ("COUPON_INVALID", ["couponCode"])


def test_a_percentage_floors_to_the_fen_and_respects_its_cap():
    assert engine.apply_order_promotions(quote((999, 1)), coupon=percent(15)).total == 850  # 149.85 off → 149
    assert engine.apply_order_promotions(quote((10000, 3)), coupon=percent(50, max_discount=2000)).total == 28000


def test_a_scoped_coupon_is_spread_only_over_its_lines():
    priced = engine.apply_order_promotions(quote((3000, 1), (2000, 2), (500, 1)), coupon=fixed(1000,
                                           sku_ids=frozenset({2, 3})))
    assert [line.discount for line in priced.lines] == [0, 889, 111]
    assert priced.discount_total == 1000


def test_a_coupon_never_takes_the_lines_below_zero():
    priced = engine.apply_order_promotions(quote((300, 1), (200, 1)), [Tier(1, 500, 400)], fixed(5000))
    assert [line.total for line in priced.lines] == [0, 0]
    assert priced.discounts == [engine.Discount("spend-and-save:1", 400), engine.Discount("coupon:7", 100)]


@pytest.mark.parametrize(
    ("coupon", "message"),
    [
        (fixed(100, sku_ids=frozenset({9})), "covers none"),
        (percent(1), "saves nothing"),  # 1 % of 50 fen floors to 0: refused rather than spent
        (fixed(100, min_spend=51), "51 fen"),
    ],
)
def test_a_coupon_that_cannot_apply_is_coupon_invalid(coupon, message):
    with pytest.raises(DomainError) as caught:
        engine.apply_order_promotions(quote((50, 1)), coupon=coupon)
    assert caught.value.code.value == "COUPON_INVALID" and message in caught.value.message


def test_no_promotions_leave_the_quote_as_it_was():
    before = quote((1990, 2))
    after = engine.apply_order_promotions(before, [Tier(1, 10000, 500)])
    assert (after.lines, after.discounts, after.total) == (before.lines, [], 3980)
