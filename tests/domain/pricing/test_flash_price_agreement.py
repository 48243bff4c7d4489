"""One price for a flash sale too: for random list prices, flash sale prices and limited-time discounts (and a
spend-and-save running beside them, which flash sale orders do not take), the price `product.flashSale` shows for a
unit bought through the sale is what the flash sale order charges, to the fen: the lower of the flash sale price and
the discounted price, never both. With a member discount (a level every customer holds): the lowest of the flash
sale price (no member discount on it) and the list or discounted price with the member discount.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tortoise.contrib.test import truncate_all_models

from domain.catalog import categories
from domain.catalog.models import Sku
from domain.flash_sale.policy import pool_of
from domain.flash_sale.sales import FlashSaleDraft, ItemDraft, create_flash_sale
from domain.identity.models import Customer
from domain.members.models import MemberLevel
from domain.pricing import discounts, spend_and_save
from domain.pricing.discounts import DiscountDraft
from domain.pricing.discounts import ItemDraft as DiscountItemDraft
from domain.pricing.models import DiscountKind
from domain.pricing.spend_and_save import SpendAndSaveDraft, TierDraft
from tests.domain.pricing.test_price_agreement import HOUR, sale_price
from tests.domain.pricing.test_price_agreement import Line as Priced
from tests.fixtures.catalog import gid
from tests.fixtures.flash_sales import BUY

PRODUCT = """query($id: ID!) { product(id: $id) { skus { salePrice { amount } }
  flashSale { id items { price { amount } buyPrice { amount } } } } }"""
ADDRESS = {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
           "detail": "科技园 1 号"}

offers = st.one_of(
    st.none(),
    st.tuples(st.just(DiscountKind.PERCENT), st.integers(1, 99)),
    st.tuples(st.just(DiscountKind.FIXED_PRICE), st.integers(0, 25000)),
)


@st.composite
def flash_lines(draw: st.DrawFn) -> tuple[Priced, int]:
    price = draw(st.integers(1, 20000))
    return Priced(price, draw(st.integers(1, 3)), draw(offers)), draw(st.integers(0, price - 1))


@given(case=flash_lines(), spend_and_save_running=st.booleans(), member_bp=st.just(0) | st.integers(1, 9999))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_the_flash_price_shown_is_the_price_charged(app, db, gql, make_product, case, spend_and_save_running,
                                                          member_bp):
    line, flash_price = case
    await truncate_all_models()
    await app.state.runtime.cache.invalidate()
    now = datetime.now(UTC)
    shelf = await categories.create_category("货架")
    product = await make_product(category=shelf, skus=[{"specs": [], "price": line.price, "stock": 20}])
    sku = await Sku.get(product_id=product.id)
    if line.offer is not None:
        item = DiscountItemDraft(sku.id, line.offer[0], line.offer[1])
        await discounts.create_discount(DiscountDraft("限时折扣", now - HOUR, now + HOUR, None, [item]), now)
    if spend_and_save_running:
        tiers = [TierDraft(1, 1)]
        await spend_and_save.create_spend_and_save(SpendAndSaveDraft("满减", now - HOUR, now + HOUR, tiers), now)
    draft = FlashSaleDraft("秒杀", now - HOUR, now + HOUR, 5, [ItemDraft(sku.id, flash_price, 10)])
    sale = await create_flash_sale(draft, now)
    await pool_of(app.state.runtime.services.orders).drop(sale.id)
    if member_bp:
        await MemberLevel.create(name="会员", threshold=0, discount_bp=member_bp)
    token = app.state.services.tokens.issue_customer((await Customer.create(openid="o-flash-agreement")).id)

    anonymous = (await gql.data(PRODUCT, {"id": gid("Product", product.id)}))["product"]
    assert anonymous["flashSale"]["items"][0]["buyPrice"]["amount"] == min(flash_price, sale_price(line))
    shown = (await gql.data(PRODUCT, {"id": gid("Product", product.id)}, token))["product"]
    mine = sale_price(line, member_bp)
    expected = min(flash_price, mine)
    event("discount is lower" if mine < flash_price else "flash price is lower")
    assert shown["flashSale"]["items"] == [{"price": {"amount": flash_price}, "buyPrice": {"amount": expected}}]
    assert shown["skus"][0]["salePrice"]["amount"] == mine  # a normal checkout still pays this

    bought = (await gql.data(BUY, {"i": {"flashSaleId": shown["flashSale"]["id"], "skuId": gid("Sku", sku.id),
                                         "quantity": line.quantity, "delivery": {"address": ADDRESS}}}, token))
    order = bought["flashSaleBuy"]["order"]
    assert bought["flashSaleBuy"]["errors"] == []
    assert [(li["unitPrice"]["amount"], li["discount"]["amount"]) for li in order["lines"]] == [(expected, 0)]
    assert order["discountTotal"]["amount"] == 0  # no order-level promotions on a flash sale order
    assert order["payable"]["amount"] == expected * line.quantity
