"""Member levels through the API: staff set them up (bad input refused, nothing written), `me.memberLevel` shows my
level and how far the next is, and my prices carry my member discount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.members import levels
from domain.members.levels import LevelDraft
from domain.members.models import MemberLevel
from domain.orders.models import OrderKind, OrderLine
from domain.pricing import discounts
from domain.pricing.discounts import DiscountDraft, ItemDraft
from domain.pricing.models import DiscountKind
from tests.fixtures.catalog import gid
from tests.fixtures.members import order_with_money

HOUR = timedelta(hours=1)
LEVEL_FIELDS = "id name threshold { amount } discountBasisPoints"
CREATE = f"""mutation($i: MemberLevelCreateInput!) {{ memberLevelCreate(input: $i) {{
  memberLevel {{ {LEVEL_FIELDS} }} errors {{ code field }} }} }}"""
UPDATE = f"""mutation($i: MemberLevelUpdateInput!) {{ memberLevelUpdate(input: $i) {{
  memberLevel {{ {LEVEL_FIELDS} }} errors {{ code field }} }} }}"""
DELETE = """mutation($i: MemberLevelDeleteInput!) { memberLevelDelete(input: $i) {
  deletedId errors { code field } } }"""
STAFF_LIST = f"{{ staffMemberLevels {{ {LEVEL_FIELDS} }} }}"
PUBLIC_LIST = "{ memberLevels { name threshold { amount } discountBasisPoints } }"
ME = """{ me { memberLevel { level { name discountBasisPoints } paid { amount } nextLevel { name threshold { amount } }
  amountToNextLevel { amount } } } }"""
SKU_PRICE = "query($id: ID!) { product(id: $id) { priceRange { min { amount } } skus { salePrice { amount } } } }"


def level(name: str, threshold: int, bp: int) -> dict:
    return {"name": name, "threshold": threshold, "discountBasisPoints": bp}


async def create(gql, token: str, name: str, threshold: int, bp: int) -> dict:
    return (await gql.data(CREATE, {"i": level(name, threshold, bp)}, token))["memberLevelCreate"]


async def test_staff_set_levels_up_and_everyone_sees_them_lowest_first(gql, operator_token):
    gold = await create(gql, operator_token, " 金卡 ", 50_000, 800)
    silver = await create(gql, operator_token, "银卡", 10_000, 500)
    assert gold["errors"] == [] and gold["memberLevel"]["name"] == "金卡"
    assert silver["memberLevel"]["threshold"] == {"amount": 10_000}
    listed = (await gql.data(STAFF_LIST, token=operator_token))["staffMemberLevels"]
    assert [row["name"] for row in listed] == ["银卡", "金卡"]
    assert (await gql.data(PUBLIC_LIST))["memberLevels"] == [
        {"name": "银卡", "threshold": {"amount": 10_000}, "discountBasisPoints": 500},
        {"name": "金卡", "threshold": {"amount": 50_000}, "discountBasisPoints": 800}]

    changed = (await gql.data(UPDATE, {"i": {"id": silver["memberLevel"]["id"], "discountBasisPoints": 300}},
                              operator_token))["memberLevelUpdate"]
    assert changed["memberLevel"] == {**silver["memberLevel"], "discountBasisPoints": 300}
    deleted = (await gql.data(DELETE, {"i": {"id": gold["memberLevel"]["id"]}}, operator_token))["memberLevelDelete"]
    assert deleted == {"deletedId": gold["memberLevel"]["id"], "errors": []}
    assert [row["name"] for row in (await gql.data(PUBLIC_LIST))["memberLevels"]] == ["银卡"]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (level("", 100, 100), [{"code": "INVALID", "field": ["name"]}]),
        (level("x" * 21, 100, 100), [{"code": "INVALID", "field": ["name"]}]),
        (level("银卡", -1, 100), [{"code": "INVALID", "field": ["threshold"]}]),
        (level("银卡", 1_000_000_001, 100), [{"code": "INVALID", "field": ["threshold"]}]),
        (level("银卡", 100, 10_000), [{"code": "INVALID", "field": ["discountBasisPoints"]}]),
        (level("银卡", 100, -500), [{"code": "INVALID", "field": ["discountBasisPoints"]}]),
        (level(" ", -1, 99_999), [{"code": "INVALID", "field": ["name"]}, {"code": "INVALID", "field": ["threshold"]},
                                  {"code": "INVALID", "field": ["discountBasisPoints"]}]),
    ],
)
async def test_a_bad_level_is_refused_and_nothing_is_written(gql, operator_token, bad, expected):
    result = (await gql.data(CREATE, {"i": bad}, operator_token))["memberLevelCreate"]
    assert result == {"memberLevel": None, "errors": expected}
    assert not await MemberLevel.exists()


async def test_a_taken_threshold_is_duplicate_and_a_missing_level_not_found(gql, operator_token):
    silver = await create(gql, operator_token, "银卡", 10_000, 500)
    gold = await create(gql, operator_token, "金卡", 50_000, 800)
    again = await create(gql, operator_token, "又一个", 10_000, 100)
    assert again == {"memberLevel": None, "errors": [{"code": "DUPLICATE", "field": ["threshold"]}]}
    moved = (await gql.data(UPDATE, {"i": {"id": gold["memberLevel"]["id"], "threshold": 10_000}},
                            operator_token))["memberLevelUpdate"]
    assert moved == {"memberLevel": None, "errors": [{"code": "DUPLICATE", "field": ["threshold"]}]}
    for bad_id in (gid("MemberLevel", 999_999), gid("Product", 1), "nonsense", gid("MemberLevel", 2**40)):
        update = (await gql.data(UPDATE, {"i": {"id": bad_id, "name": "x"}}, operator_token))["memberLevelUpdate"]
        delete = (await gql.data(DELETE, {"i": {"id": bad_id}}, operator_token))["memberLevelDelete"]
        assert update["errors"] == delete["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    assert [(row.name, row.threshold) for row in await MemberLevel.all().order_by("threshold")] == [
        ("银卡", 10_000), ("金卡", 50_000)]
    assert silver["errors"] == []


async def test_only_goods_managers_set_levels_up(gql, customer_token, finance_token, owner_token):
    for token, code in ((None, "UNAUTHENTICATED"), (customer_token, "FORBIDDEN"), (finance_token, "FORBIDDEN")):
        body = await gql(CREATE, {"i": level("银卡", 100, 100)}, token)
        assert body["errors"][0]["extensions"]["code"] == code
    assert (await gql(STAFF_LIST, token=customer_token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not await MemberLevel.exists()
    assert (await create(gql, owner_token, "银卡", 100, 100))["errors"] == []


async def test_my_level_and_the_way_to_the_next(gql, customer_token, other_customer_token, app):
    assert (await gql.data(ME, token=customer_token))["me"]["memberLevel"] == {
        "level": None, "paid": {"amount": 0}, "nextLevel": None, "amountToNextLevel": None}
    await levels.create(LevelDraft(name="银卡", threshold=10_000, discount_bp=500))
    await levels.create(LevelDraft(name="金卡", threshold=50_000, discount_bp=800))
    me = app.state.services.tokens.decode(customer_token).id
    await order_with_money(me, wechatpay=8000, wallet_principal=4000, wallet_bonus=3000)
    await order_with_money(me, OrderKind.RECHARGE, wechatpay=100_000)
    assert (await gql.data(ME, token=customer_token))["me"]["memberLevel"] == {
        "level": {"name": "银卡", "discountBasisPoints": 500}, "paid": {"amount": 12_000},
        "nextLevel": {"name": "金卡", "threshold": {"amount": 50_000}}, "amountToNextLevel": {"amount": 38_000}}
    assert (await gql.data(ME, token=other_customer_token))["me"]["memberLevel"]["paid"] == {"amount": 0}
    assert (await gql(ME))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_my_prices_carry_my_member_discount_and_staff_see_the_plain_ones(
    gql, make_product, customer_token, operator_token, app
):
    product = await make_product("脐橙")  # SKUs at 3990 and 6990
    variables = {"id": gid("Product", product.id)}
    await levels.create(LevelDraft(name="银卡", threshold=10_000, discount_bp=500))
    me = app.state.services.tokens.decode(customer_token).id
    await order_with_money(me, wechatpay=10_000)
    mine = (await gql.data(SKU_PRICE, variables, customer_token))["product"]
    assert [sku["salePrice"]["amount"] for sku in mine["skus"]] == [3790, 6640]  # 3990 × 0.95 = 3790.5, floored
    assert mine["priceRange"]["min"]["amount"] == 3790
    for token in (None, operator_token):
        plain = (await gql.data(SKU_PRICE, variables, token))["product"]
        assert [sku["salePrice"]["amount"] for sku in plain["skus"]] == [3990, 6990]


async def test_a_level_reads_by_its_node_id(gql, operator_token):
    made = (await create(gql, operator_token, "银卡", 10_000, 500))["memberLevel"]
    query = "query($id: ID!) { node(id: $id) { ... on MemberLevel { name discountBasisPoints } } }"
    assert (await gql.data(query, {"id": made["id"]}))["node"] == {"name": "银卡", "discountBasisPoints": 500}
    assert (await gql.data(query, {"id": gid("MemberLevel", 999_999)}))["node"] is None


async def test_a_members_order_records_what_priced_it_and_a_discount_limit_still_counts(shop, customer_token, app):
    level = await levels.create(LevelDraft(name="全员", threshold=0, discount_bp=1000))  # 9折
    plain, limited = await shop.sku(price=2000, stock=10), await shop.sku(price=3000, stock=10)
    now = datetime.now(UTC)
    item = ItemDraft(limited.id, DiscountKind.FIXED_PRICE, 2500)
    discount = await discounts.create_discount(DiscountDraft("限时", now - HOUR, now + HOUR, 1, [item]), now)

    placed = await shop.checkout(customer_token, (plain, 2), (limited, 1))
    assert placed["errors"] == []
    assert [(line["unitPrice"]["amount"], line["lineTotal"]["amount"]) for line in placed["order"]["lines"]] == [
        (1800, 3600), (2250, 2250)]  # 2000 × 0.9, and the discount price 2500 × 0.9
    rows = await OrderLine.filter(order__number=placed["order"]["number"]).order_by("id")
    assert [(row.price_source, row.price_source_id) for row in rows] == [("MEMBER", level.id),
                                                                         ("DISCOUNT", discount.id)]
    again = await shop.checkout(customer_token, (limited, 1))
    assert [e["code"] for e in again["errors"]] == ["LIMIT_EXCEEDED"]  # one unit per customer at the discount


async def test_a_relay_price_takes_no_member_discount_but_a_dearer_one_loses_to_the_members_price(relays, shop):
    await levels.create(LevelDraft(name="全员", threshold=0, discount_bp=1000))  # 9折
    cheap, dear = await shop.sku(price=3000, stock=10), await shop.sku(price=3000, stock=10)
    relay = await relays.relay((cheap, 2000), (dear, 2900))
    joined = await relays.joined(await relays.member("小王"), relay, (cheap, 1), (dear, 1))
    assert [line["unitPrice"]["amount"] for line in joined["order"]["lines"]] == [2000, 2700]
    rows = await OrderLine.filter(order__number=joined["order"]["number"]).order_by("id")
    assert [row.price_source for row in rows] == ["RELAY", "MEMBER"]
