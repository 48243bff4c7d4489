"""One price everywhere: for random list prices, limited-time discounts, member discounts, spend-and-save tiers and
coupons, what `product` shows, what the `cart` totals and what the placed order charges agree to the fen, and match
a plain reference computation. Lines never go below 0 and the lines' discounts add up to the order's.

Each example starts from an empty store (the tables are truncated), sets the promotions up through the domain and
reads everything through the API as the mini-program would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tortoise.contrib.test import truncate_all_models

from domain.catalog import categories
from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.members.models import MemberLevel
from domain.orders.models import Order
from domain.pricing import coupon_setup, coupons, discounts, spend_and_save
from domain.pricing.discounts import DiscountDraft, ItemDraft
from domain.pricing.models import CouponKind, CouponScope, DiscountKind
from domain.pricing.spend_and_save import SpendAndSaveDraft, TierDraft
from tests.fixtures.catalog import gid
from tests.fixtures.promotions import coupon_draft

HOUR = timedelta(hours=1)
PRODUCT = "query($id: ID!) { product(id: $id) { skus { id price { amount } salePrice { amount } } } }"
ADD = "mutation($i: CartAddItemInput!) { cartAddItem(input: $i) { errors { code } } }"
CART = """{ cart { subtotal { amount } total { amount } discounts { source amount { amount } }
  lines { sku { id } quantity unitPrice { amount } discount { amount } lineTotal { amount } }
  coupons { customerCoupon { code } saving { amount } } } }"""


@dataclass(frozen=True)
class Line:
    price: int
    quantity: int
    offer: tuple[DiscountKind, int] | None


@dataclass(frozen=True)
class CouponSpec:
    kind: CouponKind
    value: int
    min_spend: int
    max_discount: int | None
    scoped_lines: frozenset[int] | None
    """Indexes of the lines whose products it covers; None: everything."""


offers = st.one_of(
    st.none(),
    st.tuples(st.just(DiscountKind.PERCENT), st.integers(1, 99)),
    st.tuples(st.just(DiscountKind.FIXED_PRICE), st.integers(0, 25000)),
)
lines_strategy = st.lists(st.builds(Line, st.integers(0, 20000), st.integers(1, 4), offers), min_size=1, max_size=4)
tiers_strategy = st.lists(st.integers(1, 60000).flatmap(lambda t: st.tuples(st.just(t), st.integers(1, t))),
                          max_size=3, unique_by=lambda pair: pair[0])


@st.composite
def coupon_strategy(draw: st.DrawFn, line_count: int) -> CouponSpec | None:
    if draw(st.booleans()):
        return None
    kind = draw(st.sampled_from(CouponKind))
    value = draw(st.integers(1, 99) if kind is CouponKind.PERCENT else st.integers(1, 20000))
    cap = draw(st.none() | st.integers(1, 5000)) if kind is CouponKind.PERCENT else None
    scoped = draw(st.none() | st.frozensets(st.integers(0, line_count - 1), min_size=1))
    return CouponSpec(kind, value, draw(st.integers(0, 40000)), cap, scoped)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Line], list[tuple[int, int]], CouponSpec | None, int]:
    lines = draw(lines_strategy)
    member_bp = draw(st.just(0) | st.integers(1, 9999))
    return lines, draw(tiers_strategy), draw(coupon_strategy(len(lines))), member_bp


def sale_price(line: Line, member_bp: int = 0) -> int:
    """The list or limited-time discount price, then the member's basis points off, floored to the fen."""
    offered = line.price
    if line.offer is not None:
        kind, value = line.offer
        offered = line.price * (100 - value) // 100 if kind is DiscountKind.PERCENT else value
        offered = max(min(offered, line.price), 0)
    return offered * (10_000 - member_bp) // 10_000


def expected_discounts(lines: list[Line], tiers: list[tuple[int, int]], coupon: CouponSpec | None,
                       totals: list[int], member_bp: int) -> tuple[int, int | None]:
    """(spend-and-save amount, coupon saving or None if the coupon cannot apply), by the rules in plain words. The
    coupon's base is what its lines come to after spend-and-save (`totals`, the cart's line totals)."""
    subtotal = sum(sale_price(line, member_bp) * line.quantity for line in lines)
    saved = max((amount for threshold, amount in tiers if threshold <= subtotal), default=0)
    if coupon is None:
        return saved, None
    covered = [i for i in range(len(lines)) if coupon.scoped_lines is None or i in coupon.scoped_lines]
    base = sum(totals[i] for i in covered)
    if base < coupon.min_spend:
        return saved, None
    saving = base * coupon.value // 100 if coupon.kind is CouponKind.PERCENT else coupon.value
    if coupon.max_discount is not None:
        saving = min(saving, coupon.max_discount)
    saving = min(saving, base)
    return saved, (saving or None)


async def _set_up(app, make_product, lines, tiers, coupon, member_bp):
    await truncate_all_models()
    await app.state.runtime.cache.invalidate()
    now = datetime.now(UTC)
    shelf = await categories.create_category("货架")
    skus: list[Sku] = []
    for line in lines:
        product = await make_product(category=shelf, skus=[{"specs": [], "price": line.price, "stock": 50}])
        skus.append(await Sku.get(product_id=product.id))
    await app.state.runtime.services.orders.inventory.resync([sku.id for sku in skus])
    items = [ItemDraft(sku.id, line.offer[0], line.offer[1]) for sku, line in zip(skus, lines, strict=True)
             if line.offer]
    if items:
        await discounts.create_discount(DiscountDraft("限时折扣", now - HOUR, now + HOUR, None, items), now)
    if tiers:
        draft = SpendAndSaveDraft("满减", now - HOUR, now + HOUR, [TierDraft(t, a) for t, a in tiers])
        await spend_and_save.create_spend_and_save(draft, now)
    if member_bp:
        await MemberLevel.create(name="会员", threshold=0, discount_bp=member_bp)  # held without paying anything
    customer = await Customer.create(openid="o-agreement")
    code = None
    if coupon is not None:
        scope = CouponScope.ALL if coupon.scoped_lines is None else CouponScope.PRODUCTS
        ids = [] if coupon.scoped_lines is None else sorted({skus[i].product_id for i in coupon.scoped_lines})
        template = await coupon_setup.create_coupon(coupon_draft(
            now, kind=coupon.kind, value=coupon.value, min_spend=coupon.min_spend, max_discount=coupon.max_discount,
            scope=scope, scope_ids=ids), now)
        code = (await coupons.claim(customer.id, template.id, now)).code
    return skus, app.state.services.tokens.issue_customer(customer.id), code


@given(scenario=scenarios())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_product_cart_and_order_agree_to_the_fen(app, db, shop, gql, make_product, scenario):
    lines, tiers, coupon, member_bp = scenario
    skus, token, code = await _set_up(app, make_product, lines, tiers, coupon, member_bp)

    for sku, line in zip(skus, lines, strict=True):
        variables = {"id": gid("Product", sku.product_id)}
        anonymous = (await gql.data(PRODUCT, variables))["product"]
        assert anonymous["skus"][0]["salePrice"]["amount"] == sale_price(line)
        mine = (await gql.data(PRODUCT, variables, token))["product"]
        assert mine["skus"][0]["salePrice"]["amount"] == sale_price(line, member_bp)
        await gql.data(ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": line.quantity}}, token)
    cart = (await gql.data(CART, token=token))["cart"]
    assert [line["unitPrice"]["amount"] for line in cart["lines"]] == [sale_price(line, member_bp) for line in lines]

    offered = {c["customerCoupon"]["code"]: c["saving"]["amount"] for c in cart["coupons"]}
    result = await shop.checkout(token, fromCart=True, couponCode=code)
    event("spend-and-save applied" if cart["discounts"] else "no spend-and-save")
    event("member discount" if member_bp else "no member discount")
    event("no coupon" if code is None else "coupon offered" if code in offered else "coupon refused")
    if code is not None and code not in offered:
        assert [e["code"] for e in result["errors"]] == ["COUPON_INVALID"]  # the cart did not offer it either
        assert not await Order.exists() and not await Reservation.exists()
        result = await shop.checkout(token, fromCart=True)
    assert result["errors"] == []
    order = result["order"]

    totals = [line["lineTotal"]["amount"] for line in cart["lines"]]
    saved, saving = expected_discounts(lines, tiers, coupon, totals, member_bp)
    assert [line["unitPrice"]["amount"] for line in order["lines"]] == [sale_price(line, member_bp) for line in lines]
    assert order["subtotal"]["amount"] == cart["subtotal"]["amount"]
    assert cart["subtotal"]["amount"] - cart["total"]["amount"] == saved
    used = offered.get(code) if code else None
    assert used == saving
    assert order["discountTotal"]["amount"] == saved + (used or 0)
    assert order["payable"]["amount"] == cart["total"]["amount"] - (used or 0)
    assert sum(line["discount"]["amount"] for line in order["lines"]) == order["discountTotal"]["amount"]
    for line in order["lines"]:
        unit, discount, total = (line[name]["amount"] for name in ("unitPrice", "discount", "lineTotal"))
        assert total == unit * line["quantity"] - discount and total >= 0 and discount >= 0
    if not used:
        assert [line["lineTotal"]["amount"] for line in order["lines"]] == [line["lineTotal"]["amount"]
                                                                            for line in cart["lines"]]
