"""The member discount as a pricing step: on the list and limited-time discount prices, never on a selling mode's
price, the lowest candidate wins, and order-level promotions come after it."""

from __future__ import annotations

import pytest

from domain.catalog.models import Sku
from domain.members.standing import MemberDiscount
from domain.pricing import engine
from domain.pricing.engine import MEMBER, PriceSource, Tier
from domain.pricing.models import DiscountItem, DiscountKind

GOLD = MemberDiscount(level_id=7, basis_points=1000)  # 9折


def sku(price: int) -> Sku:
    return Sku(id=1, product_id=1, price=price, specs=[])


def test_without_a_member_discount_nothing_changes():
    line = engine.line_price(sku(3990), 2, [PriceSource(engine.DISCOUNT, 3, 2990)])
    assert (line.unit_price, line.source) == (2990, PriceSource(engine.DISCOUNT, 3, 2990))


def test_the_list_price_with_the_member_discount_is_the_members_source():
    line = engine.line_price(sku(3990), 3, member=GOLD)
    assert (line.unit_price, line.source, line.subtotal) == (3591, PriceSource(MEMBER, 7, 3591), 3591 * 3)


def test_a_limited_time_discount_stacks_with_the_member_discount_and_stays_a_discount_line():
    line = engine.line_price(sku(3990), 1, [PriceSource(engine.DISCOUNT, 3, 2990)], GOLD)
    assert (line.unit_price, line.source) == (2691, PriceSource(engine.DISCOUNT, 3, 2691))  # 2990 × 0.9 = 2691


@pytest.mark.parametrize("kind", ["FLASH_SALE", "GROUP_BUY", "RELAY"])
def test_a_selling_modes_price_takes_no_member_discount(kind):
    cheap = engine.line_price(sku(3990), 1, [PriceSource(kind, 5, 1990)], GOLD)
    assert (cheap.unit_price, cheap.source) == (1990, PriceSource(kind, 5, 1990))
    # a mode's price above the member's list price loses to it: the line costs the lowest candidate
    dear = engine.line_price(sku(3990), 1, [PriceSource(kind, 5, 3800)], GOLD)
    assert (dear.unit_price, dear.source) == (3591, PriceSource(MEMBER, 7, 3591))


def test_a_mode_price_between_the_discounted_and_the_members_discount_price():
    candidates = [PriceSource(engine.DISCOUNT, 3, 2990), PriceSource("FLASH_SALE", 5, 2800)]
    assert engine.line_price(sku(3990), 1, candidates, GOLD).source == PriceSource(engine.DISCOUNT, 3, 2691)
    candidates = [PriceSource(engine.DISCOUNT, 3, 2990), PriceSource("FLASH_SALE", 5, 2600)]
    assert engine.line_price(sku(3990), 1, candidates, GOLD).source == PriceSource("FLASH_SALE", 5, 2600)


def test_on_a_tie_the_member_price_wins_so_a_promotion_is_a_source_only_when_it_is_cheaper():
    # 101 × 0.5 = 50 and 100 × 0.5 = 50: the discount's per-customer units are not spent for nothing
    half = MemberDiscount(level_id=7, basis_points=5000)
    line = engine.line_price(sku(101), 1, [PriceSource(engine.DISCOUNT, 3, 100)], half)
    assert line.source == PriceSource(MEMBER, 7, 50)


def test_a_discount_no_cheaper_than_the_list_price_is_no_source_even_for_a_member():
    line = engine.line_price(sku(3990), 1, [PriceSource(engine.DISCOUNT, 3, 3990)], GOLD)
    assert line.source == PriceSource(MEMBER, 7, 3591)


@pytest.mark.parametrize("price", [0, 1, 9])
def test_a_price_the_discount_cannot_lower_keeps_the_list_price(price):
    line = engine.line_price(sku(price), 1, member=GOLD)
    expected = price * 9 // 10
    assert line.unit_price == expected
    assert line.source == (PriceSource(MEMBER, 7, expected) if expected < price else None)


def test_spend_and_save_and_coupons_see_the_member_prices():
    member_lines = engine.Quote([engine.line_price(sku(5000), 2, member=GOLD)])  # 4500 × 2 = 9000
    assert engine.apply_order_promotions(member_lines, [Tier(1, 10_000, 1000)]).discounts == []
    assert engine.apply_order_promotions(member_lines, [Tier(1, 9000, 1000)]).total == 8000


def test_the_catalogs_unit_price_is_the_engines_line_price():
    offer = DiscountItem(sku_id=1, kind=DiscountKind.PERCENT, value=25)
    offer.discount_id = 3
    assert engine.unit_price(sku(3990), {1: offer}, GOLD) == 3990 * 75 // 100 * 9 // 10
    assert engine.unit_price(sku(3990), {}, GOLD) == 3591
    assert engine.unit_price(sku(3990), {1: offer}) == 2992
