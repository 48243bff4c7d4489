"""Coupons through the API: staff set one up, a customer claims it, sees it, checks out with it and gets it back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.inventory.models import Reservation
from domain.orders import lifecycle, payment
from domain.orders.models import Order, Refund
from domain.pricing.models import Coupon, CustomerCoupon, CustomerCouponStatus, OrderPromotion
from tests.fixtures.catalog import gid
from tests.fixtures.orders import pk
from tests.support.graphql import count_queries, error_codes

ERRORS = "errors { field code message }"
COUPON_FIELDS = """id name kind value scope status totalQuantity claimed remaining perCustomerLimit validDays
  validFrom validUntil minSpend { amount } maxDiscount { amount } products { id } categories { id }"""
CREATE = f"mutation($i: CouponCreateInput!) {{ couponCreate(input: $i) {{ coupon {{ {COUPON_FIELDS} }} {ERRORS} }} }}"
UPDATE = f"mutation($i: CouponUpdateInput!) {{ couponUpdate(input: $i) {{ coupon {{ {COUPON_FIELDS} }} {ERRORS} }} }}"
END = f"mutation($i: CouponEndInput!) {{ couponEnd(input: $i) {{ coupon {{ id status endedAt }} {ERRORS} }} }}"
CLAIM = f"""mutation($i: CouponClaimInput!) {{ couponClaim(input: $i) {{
  customerCoupon {{ id code status validFrom validUntil coupon {{ id name }} }} {ERRORS} }} }}"""
MINE = """query($s: CustomerCouponStatus) { coupons(status: $s) { totalCount
  edges { node { id code status usedAt coupon { id } } } } }"""
CLAIMABLE = "{ claimableCoupons { totalCount edges { node { id remaining } } } }"
CART = """{ cart { subtotal { amount } total { amount } discounts { source amount { amount } }
  coupons { customerCoupon { code } saving { amount } } } }"""
ADD = "mutation($i: CartAddItemInput!) { cartAddItem(input: $i) { errors { code } } }"
CANCEL = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { order { status } errors { code } } }"
DISCOUNTS = "query($id: ID!) { order(id: $id) { discountTotal { amount } discounts { source amount { amount } } } }"


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def coupon_input(**extra) -> dict:
    return {"name": "满100减20", "kind": "FIXED_AMOUNT", "value": 2000, "minSpend": 10000, "totalQuantity": 10,
            "startsAt": at(-60), "endsAt": at(86400), "validDays": 7, **extra}


async def create(gql, token, **extra) -> dict:
    created = (await gql.data(CREATE, {"i": coupon_input(**extra)}, token))["couponCreate"]
    assert created["errors"] == [], created["errors"]
    return created["coupon"]


async def claim(gql, token, coupon_id: str) -> dict:
    return (await gql.data(CLAIM, {"i": {"couponId": coupon_id}}, token))["couponClaim"]


async def claimed(gql, token, coupon_id: str) -> dict:
    result = await claim(gql, token, coupon_id)
    assert result["errors"] == [], result["errors"]
    return result["customerCoupon"]


async def test_a_coupon_from_set_up_to_checkout_and_back_on_cancel(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=6000, stock=10)
    coupon = await create(gql, operator_token)
    assert (coupon["status"], coupon["remaining"], coupon["scope"]) == ("ACTIVE", 10, "ALL")
    assert (await gql.data(CLAIMABLE, token=customer_token))["claimableCoupons"]["totalCount"] == 1
    copy = await claimed(gql, customer_token, coupon["id"])
    assert copy["status"] == "AVAILABLE" and copy["coupon"]["id"] == coupon["id"]
    assert (await gql.data(CLAIMABLE, token=customer_token))["claimableCoupons"]["totalCount"] == 0

    await gql.data(ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": 2}}, customer_token)
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert cart["coupons"] == [{"customerCoupon": {"code": copy["code"]}, "saving": {"amount": 2000}}]
    assert (cart["total"]["amount"], cart["discounts"]) == (12000, [])  # chosen at checkout, not in the cart

    order, _ = await shop.place(customer_token, fromCart=True, couponCode=copy["code"])
    assert (order["subtotal"]["amount"], order["discountTotal"]["amount"], order["payable"]["amount"]) == (
        12000, 2000, 10000)
    assert [(line["discount"]["amount"], line["lineTotal"]["amount"]) for line in order["lines"]] == [(2000, 10000)]
    listed = (await gql.data(DISCOUNTS, {"id": order["id"]}, customer_token))["order"]
    assert listed["discounts"] == [{"source": f"coupon:{pk(coupon['id'])}", "amount": {"amount": 2000}}]
    used = (await gql.data(MINE, {"s": "USED"}, customer_token))["coupons"]["edges"]
    assert [(e["node"]["code"], e["node"]["usedAt"] is not None) for e in used] == [(copy["code"], True)]

    assert (await gql.data(CANCEL, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]["errors"] == []
    mine = (await gql.data(MINE, {"s": "AVAILABLE"}, customer_token))["coupons"]
    assert [(e["node"]["code"], e["node"]["usedAt"]) for e in mine["edges"]] == [(copy["code"], None)]
    again, _ = await shop.place(customer_token, (sku, 2), couponCode=copy["code"])
    assert again["payable"]["amount"] == 10000


async def test_an_expired_order_gives_its_coupon_back(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=20000, stock=5)
    copy = await claimed(gql, customer_token, (await create(gql, operator_token))["id"])
    order, _ = await shop.place(customer_token, (sku, 1), couponCode=copy["code"])
    assert await CustomerCoupon.filter(status=CustomerCouponStatus.USED).count() == 1
    await lifecycle.expire_due(shop.deps, datetime.now(UTC) + timedelta(days=1))
    assert (await Order.get(id=pk(order["id"]))).status == "CANCELLED"
    row = await CustomerCoupon.get(code=copy["code"])
    assert (row.status, row.order_id) == (CustomerCouponStatus.AVAILABLE, None)


async def test_a_late_payment_reviving_a_cancelled_order_takes_its_coupon_again(
    shop, gql, operator_token, customer_token
):
    sku = await shop.sku(price=20000, stock=5)
    copy = await claimed(gql, customer_token, (await create(gql, operator_token))["id"])
    order, pay = await shop.place(customer_token, (sku, 1), couponCode=copy["code"])
    row = await Order.get(id=pk(order["id"]))
    await payment.cancel(shop.deps, row, "customer")
    assert (await CustomerCoupon.get(code=copy["code"])).status == CustomerCouponStatus.AVAILABLE
    await shop.pay(pay)
    assert (await Order.get(id=row.id)).status == "PAID"
    taken = await CustomerCoupon.get(code=copy["code"])
    assert (taken.status, taken.order_id) == (CustomerCouponStatus.USED, row.id)


async def test_a_late_payment_for_a_cancelled_order_whose_coupon_another_order_used_is_refunded_in_full(
    shop, gql, operator_token, customer_token
):
    sku = await shop.sku(price=20000, stock=5)
    copy = await claimed(gql, customer_token, (await create(gql, operator_token))["id"])
    order, pay = await shop.place(customer_token, (sku, 1), couponCode=copy["code"])
    row = await Order.get(id=pk(order["id"]))
    await payment.cancel(shop.deps, row, "customer")
    other, _ = await shop.place(customer_token, (sku, 1), couponCode=copy["code"])

    await shop.pay(pay)

    row = await Order.get(id=row.id)
    assert (row.status, row.status_before_refund) == ("REFUNDING", "CANCELLED")
    [refund] = await Refund.filter(order_id=row.id)
    assert (refund.status, refund.amount, refund.requested_by) == ("PROCESSING", row.payable, "system")
    spent = await CustomerCoupon.get(code=copy["code"])
    assert (spent.status, spent.order_id) == (CustomerCouponStatus.USED, pk(other["id"]))
    assert await shop.available(sku) == 4  # the revived order took no units back

    await shop.finish_refund(gid("Refund", refund.id))
    assert (await Order.get(id=row.id)).status == "REFUNDED"
    assert (await CustomerCoupon.get(code=copy["code"])).order_id == pk(other["id"])


async def test_a_full_refund_gives_the_coupon_back_and_a_partial_one_does_not(
    shop, gql, operator_token, customer_token, finance_token
):
    from tests.api.orders.test_refunds import approve, request_refund

    sku = await shop.sku(price=20000, stock=5)
    copy = await claimed(gql, customer_token, (await create(gql, operator_token))["id"])
    order, pay = await shop.place(customer_token, (sku, 1), couponCode=copy["code"])
    await shop.pay(pay)

    part = await request_refund(gql, customer_token, order, amount=1000)
    await approve(gql, finance_token, part["refund"])
    await shop.finish_refund(part["refund"]["id"])
    assert (await CustomerCoupon.get(code=copy["code"])).status == CustomerCouponStatus.USED

    rest = await request_refund(gql, customer_token, order)
    await approve(gql, finance_token, rest["refund"])
    await shop.finish_refund(rest["refund"]["id"])
    assert (await Order.get(id=pk(order["id"]))).status == "REFUNDED"
    back = await CustomerCoupon.get(code=copy["code"])
    assert (back.status, back.order_id, back.used_at) == (CustomerCouponStatus.AVAILABLE, None, None)


async def _nothing_placed(shop, sku, stock: int) -> None:
    assert not await Order.exists() and not await Reservation.exists() and not await OrderPromotion.exists()
    assert await shop.available(sku) == stock


@pytest.mark.parametrize("case", ["other customer's", "unknown", "below the minimum spend", "used"])
async def test_a_coupon_checkout_cannot_use_is_coupon_invalid_and_nothing_is_placed(
    shop, gql, operator_token, customer_token, other_customer_token, case
):
    sku = await shop.sku(price=6000, stock=5)
    coupon = await create(gql, operator_token)
    copy = await claimed(gql, customer_token, coupon["id"])
    code, quantity = copy["code"], 2
    if case == "other customer's":
        code = (await claimed(gql, other_customer_token, coupon["id"]))["code"]
    elif case == "unknown":
        code = "ABCDEFGHJKLM"
    elif case == "below the minimum spend":
        quantity = 1
    elif case == "used":
        await CustomerCoupon.filter(code=code).update(status=CustomerCouponStatus.USED)
    refused = await shop.checkout(customer_token, (sku, quantity), couponCode=code)
    assert (refused["order"], [(e["code"], e["field"]) for e in refused["errors"]]) == (
        None, [("COUPON_INVALID", ["couponCode"])])
    await _nothing_placed(shop, sku, 5)
    if case != "used":
        assert await CustomerCoupon.filter(status=CustomerCouponStatus.AVAILABLE).count() == (
            2 if case == "other customer's" else 1)


async def test_two_checkouts_racing_with_one_coupon_only_one_uses_it(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=6000, stock=10)
    copy = await claimed(gql, customer_token, (await create(gql, operator_token))["id"])
    results = await asyncio.gather(*(shop.checkout(customer_token, (sku, 2), couponCode=copy["code"])
                                     for _ in range(2)))
    assert sorted(str([e["code"] for e in r["errors"]]) for r in results) == ["['COUPON_INVALID']", "[]"]
    assert await Order.all().count() == 1 and await shop.available(sku) == 8
    row = await CustomerCoupon.get(code=copy["code"])
    assert (row.status, row.order_id) == (CustomerCouponStatus.USED, (await Order.first()).id)


async def test_claim_errors_change_nothing(gql, operator_token, customer_token, other_customer_token):
    coupon = await create(gql, operator_token, totalQuantity=1)
    later = await create(gql, operator_token, startsAt=at(3600))
    await claimed(gql, customer_token, coupon["id"])
    for token, coupon_id, code in ((customer_token, coupon["id"], "LIMIT_EXCEEDED"),
                                   (other_customer_token, coupon["id"], "SOLD_OUT"),
                                   (customer_token, later["id"], "NOT_STARTED"),
                                   (customer_token, gid("Coupon", 999_999), "NOT_FOUND"),
                                   (customer_token, gid("Sku", 1), "NOT_FOUND")):
        refused = await claim(gql, token, coupon_id)
        assert (refused["customerCoupon"], [e["code"] for e in refused["errors"]]) == (None, [code])
    assert await CustomerCoupon.all().count() == 1
    assert [c.claimed for c in await Coupon.all().order_by("id")] == [1, 0]


async def test_staff_update_end_and_list_coupons(gql, operator_token, finance_token, customer_token, make_product):
    product = await make_product()
    coupon = await create(gql, operator_token, kind="PERCENT", value=20, maxDiscount=3000, minSpend=0,
                          productIds=[gid("Product", product.id)])
    assert (coupon["scope"], coupon["products"], coupon["maxDiscount"]) == (
        "PRODUCTS", [{"id": gid("Product", product.id)}], {"amount": 3000})
    changed = (await gql.data(UPDATE, {"i": {"id": coupon["id"], "productIds": [], "maxDiscount": None}},
                              operator_token))["couponUpdate"]
    assert (changed["errors"], changed["coupon"]["scope"], changed["coupon"]["maxDiscount"]) == ([], "ALL", None)
    await claimed(gql, customer_token, coupon["id"])
    refused = (await gql.data(UPDATE, {"i": {"id": coupon["id"], "value": 30, "name": "新名"}},
                              operator_token))["couponUpdate"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_STATE", ["value"])]
    assert (await Coupon.get(id=pk(coupon["id"]))).name == "满100减20"
    ended = (await gql.data(END, {"i": {"id": coupon["id"]}}, operator_token))["couponEnd"]
    assert ended["coupon"]["status"] == "ENDED" and ended["errors"] == []
    query = "query($s: CouponStatus) { staffCoupons(status: $s) { totalCount edges { node { id } } } }"
    for status, count in (("ACTIVE", 0), ("ENDED", 1), (None, 1)):
        assert (await gql.data(query, {"s": status}, finance_token))["staffCoupons"]["totalCount"] == count
    mine = (await gql.data(MINE, {"s": "AVAILABLE"}, customer_token))["coupons"]
    assert mine["totalCount"] == 1  # ending stops claims; copies already claimed stay usable


async def test_invalid_input_names_its_fields_and_writes_nothing(gql, operator_token):
    bad = coupon_input(value=0, validDays=None, productIds=[gid("Product", 999_999)], categoryIds=[gid("Sku", 1)])
    refused = (await gql.data(CREATE, {"i": bad}, operator_token))["couponCreate"]
    assert refused["coupon"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["categoryIds", "0"])]
    bad = coupon_input(value=0, validDays=None)
    fields = [(e["code"], e["field"]) for e in (await gql.data(CREATE, {"i": bad}, operator_token))["couponCreate"]
              ["errors"]]
    assert fields == [("INVALID", ["value"]), ("INVALID", ["validUntil"])]
    assert not await Coupon.exists()


@pytest.mark.parametrize("who", ["finance", "customer", "anonymous"])
async def test_only_owners_and_operators_manage_coupons(gql, finance_token, customer_token, who):
    token = {"finance": finance_token, "customer": customer_token, "anonymous": None}[who]
    body = await gql(CREATE, {"i": coupon_input()}, token)
    assert error_codes(body) == ["UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"]
    assert not await Coupon.exists()


async def test_only_customers_claim_and_read_their_coupons(gql, owner_token, operator_token, customer_token,
                                                         other_customer_token):
    coupon = await create(gql, operator_token)
    assert error_codes(await gql(CLAIM, {"i": {"couponId": coupon["id"]}})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(CLAIM, {"i": {"couponId": coupon["id"]}}, owner_token)) == ["FORBIDDEN"]
    assert error_codes(await gql(MINE, {})) == ["UNAUTHENTICATED"]
    assert not await CustomerCoupon.exists()
    copy = await claimed(gql, customer_token, coupon["id"])
    node = "query($id: ID!) { node(id: $id) { ... on CustomerCoupon { code } } }"
    assert (await gql.data(node, {"id": copy["id"]}, customer_token))["node"] == {"code": copy["code"]}
    assert (await gql.data(node, {"id": copy["id"]}, other_customer_token))["node"] is None
    assert (await gql.data(node, {"id": copy["id"]}))["node"] is None
    assert (await gql.data(MINE, {"s": None}, other_customer_token))["coupons"]["totalCount"] == 0


COPIES_PAGE = """query($first: Int!) { coupons(first: $first) { edges { node { code status
  coupon { name minSpend { amount } products { id } } } } } }"""
ORDERS_PAGE = """query($first: Int!) { orders(first: $first) { edges { node { number
  discounts { source amount { amount } } } } } }"""


async def test_pages_of_coupons_and_order_discounts_cost_the_same_for_2_and_8(
    shop, gql, operator_token, customer_token, make_product
):
    product = await make_product()
    sku = await shop.sku(price=20000, stock=50)
    for i in range(8):
        scope = {"productIds": [gid("Product", product.id)]} if i % 2 else {}
        await claimed(gql, customer_token, (await create(gql, operator_token, name=f"券{i}", **scope))["id"])
    codes = [e["node"]["code"] for e in (await gql.data(COPIES_PAGE, {"first": 8}, customer_token))["coupons"]
             ["edges"] if not e["node"]["coupon"]["products"]]
    for code in [*codes, *[None] * 4]:  # 4 orders with a coupon, 4 without
        await shop.place(customer_token, (sku, 1), couponCode=code)
    # copies page + each distinct coupon + their products; orders page + their promotions: one statement each
    for query, root in ((COPIES_PAGE, "coupons"), (ORDERS_PAGE, "orders")):
        with count_queries() as small:
            assert len((await gql.data(query, {"first": 2}, customer_token))[root]["edges"]) == 2
        with count_queries() as large:
            assert len((await gql.data(query, {"first": 8}, customer_token))[root]["edges"]) == 8
        assert len(small) == len(large) <= 3, large
