"""The cart's rules, called straight on the domain: lines, limits, stock, unavailable lines and races."""

from __future__ import annotations

import asyncio

import pytest

from domain.cart import service
from domain.cart.service import MAX_LINE_QUANTITY, MAX_LINES
from domain.catalog import products
from domain.catalog.models import Sku
from domain.errors import DomainError, ErrorCode
from domain.identity.models import Customer
from tests.fixtures.cart import cart_rows


async def refused(work) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await work
    return caught.value


async def test_adding_a_sku_twice_adds_onto_its_one_line(shopper, make_sku):
    sku = await make_sku()
    await service.add_item(shopper.id, sku.id, 2)
    line = await service.add_item(shopper.id, sku.id, 3)
    assert line.quantity == 5
    assert await cart_rows() == [(shopper.id, sku.id, 5)]


async def test_update_sets_the_quantity_of_a_line(shopper, make_sku):
    sku = await make_sku()
    await service.add_item(shopper.id, sku.id, 4)
    line = await service.update_item(shopper.id, sku.id, 1)
    assert line.quantity == 1
    assert await cart_rows() == [(shopper.id, sku.id, 1)]


async def test_update_of_a_sku_not_in_the_cart_is_not_found(shopper, make_sku):
    sku = await make_sku()
    error = await refused(service.update_item(shopper.id, sku.id, 1))
    assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ["skuId"])
    assert await cart_rows() == []


async def _unknown(make_product) -> int:
    return 999_999


async def _first_sku(product_id: int) -> Sku:
    sku = await Sku.filter(product_id=product_id).order_by("id").first()
    assert sku is not None
    return sku


async def _deleted_sku(make_product) -> int:
    product = await make_product()
    sku = await _first_sku(product.id)
    await products.delete_sku(sku.id)
    return sku.id


async def _unpublished(make_product) -> int:
    product = await make_product(published=False)
    return (await _first_sku(product.id)).id


async def _deleted_product(make_product) -> int:
    product = await make_product()
    await products.delete_product(product.id)
    return (await _first_sku(product.id)).id


@pytest.mark.parametrize("sku_of", [_unknown, _deleted_sku, _unpublished, _deleted_product])
async def test_a_sku_that_is_not_on_sale_is_not_found(shopper, make_product, sku_of):
    sku_id = await sku_of(make_product)
    for work in (service.add_item(shopper.id, sku_id, 1), service.update_item(shopper.id, sku_id, 1)):
        error = await refused(work)
        assert (error.code, error.field) == (ErrorCode.NOT_FOUND, ["skuId"])
    assert await cart_rows() == []


@pytest.mark.parametrize("quantity", [0, -1, -100])
async def test_a_quantity_below_one_is_invalid(shopper, make_sku, quantity):
    sku = await make_sku()
    await service.add_item(shopper.id, sku.id, 2)
    for work in (service.add_item(shopper.id, sku.id, quantity), service.update_item(shopper.id, sku.id, quantity)):
        error = await refused(work)
        assert (error.code, error.field) == (ErrorCode.INVALID, ["quantity"])
    assert await cart_rows() == [(shopper.id, sku.id, 2)]


async def test_a_sold_out_sku_is_sold_out(shopper, make_sku):
    sku = await make_sku(stock=0)
    error = await refused(service.add_item(shopper.id, sku.id, 1))
    assert (error.code, error.field) == (ErrorCode.SOLD_OUT, ["quantity"])
    assert await cart_rows() == []


async def test_more_than_is_available_is_limit_exceeded_and_names_the_number(shopper, make_sku):
    sku = await make_sku(stock=5)
    await Sku.filter(id=sku.id).update(reserved=2)  # held by unpaid orders: 3 can be bought
    error = await refused(service.add_item(shopper.id, sku.id, 4))
    assert (error.code, error.field) == (ErrorCode.LIMIT_EXCEEDED, ["quantity"])
    assert "only 3 available" in error.message
    error = await refused(service.update_item(shopper.id, sku.id, 4))
    assert error.code == ErrorCode.LIMIT_EXCEEDED
    assert await cart_rows() == []


async def test_adding_onto_a_line_past_what_is_available_keeps_the_line(shopper, make_sku):
    sku = await make_sku(stock=5)
    await service.add_item(shopper.id, sku.id, 4)
    error = await refused(service.add_item(shopper.id, sku.id, 2))
    assert error.code == ErrorCode.LIMIT_EXCEEDED
    assert error.message == "only 5 available; 4 already in your cart"
    assert await cart_rows() == [(shopper.id, sku.id, 4)]


async def test_a_line_holds_at_most_99_units(shopper, make_sku):
    sku = await make_sku(stock=500)
    for work in (service.add_item(shopper.id, sku.id, 100), service.update_item(shopper.id, sku.id, 100)):
        assert (await refused(work)).code == ErrorCode.LIMIT_EXCEEDED
    await service.add_item(shopper.id, sku.id, MAX_LINE_QUANTITY)
    assert (await refused(service.add_item(shopper.id, sku.id, 1))).code == ErrorCode.LIMIT_EXCEEDED
    assert await cart_rows() == [(shopper.id, sku.id, MAX_LINE_QUANTITY)]


async def _many_skus(make_product, count: int) -> list[Sku]:
    product = await make_product(skus=[{"specs": [("号", str(n))], "price": 100, "stock": 9} for n in range(count)])
    return list(await Sku.filter(product_id=product.id).order_by("id"))


async def test_a_cart_holds_at_most_50_different_skus(shopper, make_product):
    skus = await _many_skus(make_product, MAX_LINES + 1)
    for sku in skus[:MAX_LINES]:
        await service.add_item(shopper.id, sku.id, 1)
    error = await refused(service.add_item(shopper.id, skus[-1].id, 1))
    assert error.code == ErrorCode.LIMIT_EXCEEDED
    await service.add_item(shopper.id, skus[0].id, 1)  # an existing line can still grow
    assert len(await cart_rows()) == MAX_LINES


async def test_unavailable_lines_are_kept_but_reported_apart(shopper, make_product):
    kept, gone = await Sku.filter(product_id=(await make_product()).id).order_by("id")
    unpublished = (await Sku.filter(product_id=(await make_product()).id).order_by("id"))[0]
    for sku in (kept, gone, unpublished):
        await service.add_item(shopper.id, sku.id, 1)
    await products.delete_sku(gone.id)
    await products.set_published(unpublished.product_id, False)

    contents = await service.cart_contents(shopper.id)
    assert [(item.sku_id, sku.id) for item, sku in contents.lines] == [(kept.id, kept.id)]
    assert [sku.id for _, sku in contents.unavailable] == [gone.id, unpublished.id]
    assert [sku.id for _, sku in await service.cart_lines(shopper.id)] == [kept.id]
    assert len(await cart_rows()) == 3

    assert await service.remove_items(shopper.id, [gone.id]) == 1
    assert [sku.id for _, sku in (await service.cart_contents(shopper.id)).unavailable] == [unpublished.id]


async def test_remove_ignores_skus_that_are_not_in_the_cart(shopper, make_sku):
    in_cart, elsewhere = await make_sku(), await make_sku()
    await service.add_item(shopper.id, in_cart.id, 1)
    assert await service.remove_items(shopper.id, [elsewhere.id, 999_999]) == 0
    assert await service.remove_items(shopper.id, []) == 0
    assert await cart_rows() == [(shopper.id, in_cart.id, 1)]


async def test_removing_more_than_100_skus_at_once_is_invalid(shopper, make_sku):
    sku = await make_sku()
    await service.add_item(shopper.id, sku.id, 1)
    error = await refused(service.remove_items(shopper.id, [sku.id] * 101))
    assert (error.code, error.field) == (ErrorCode.INVALID, ["skuIds"])
    assert await cart_rows() == [(shopper.id, sku.id, 1)]


async def test_clear_lines_only_touches_that_customers_cart(shopper, make_sku):
    ordered, kept = await make_sku(), await make_sku()
    other = await Customer.create(openid="o-cart-other")
    for customer in (shopper, other):
        await service.add_item(customer.id, ordered.id, 1)
    await service.add_item(shopper.id, kept.id, 2)
    assert await service.clear_lines(shopper.id, [ordered.id, ordered.id]) == 1
    assert await cart_rows() == [(shopper.id, kept.id, 2), (other.id, ordered.id, 1)]


async def test_concurrent_adds_of_one_sku_end_in_one_line(shopper, make_sku):
    sku = await make_sku(stock=100)
    results = await asyncio.gather(*(service.add_item(shopper.id, sku.id, 3) for _ in range(20)))
    assert len(results) == 20
    assert await cart_rows() == [(shopper.id, sku.id, 60)]


async def test_concurrent_adds_of_different_skus_never_pass_the_line_limit(shopper, make_product):
    skus = await _many_skus(make_product, MAX_LINES + 4)
    for sku in skus[: MAX_LINES - 2]:
        await service.add_item(shopper.id, sku.id, 1)
    results = await asyncio.gather(
        *(service.add_item(shopper.id, sku.id, 1) for sku in skus[MAX_LINES - 2 :]), return_exceptions=True
    )
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(refusals) == 4 and {r.code for r in refusals} == {ErrorCode.LIMIT_EXCEEDED}
    assert len(await cart_rows()) == MAX_LINES
