"""`raw_sql.new`: the instance `Model(**values)` builds, for the flash batch's orders, lines and reservations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.models import Model

from domain import raw_sql
from domain.inventory.models import Reservation, ReservationState
from domain.orders.models import Order, OrderKind, OrderLine, OrderStatus

pytestmark = pytest.mark.usefixtures("db")

CASES: list[tuple[type[Model], dict[str, Any]]] = [
    (Order, {"number": "F1", "customer_id": 1, "kind": OrderKind.FLASH_SALE, "subtotal": 990, "discount_total": 0,
             "payable": 990, "delivery": {"address": {"city": "杭州"}}, "pickup_point_id": None, "remark": "",
             "idempotency_key": "tap-1", "expires_at": datetime(2026, 12, 5, 12, 0, tzinfo=UTC)}),
    (Order, {"number": "F2", "customer_id": 2, "subtotal": 1, "payable": 1, "delivery": {},
             "expires_at": datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "kind": "GROUP_BUY"}),
    (OrderLine, {"sku_id": 3, "product_id": 4, "title": "龙井", "specs": ["250g"], "image": "", "unit_price": 990,
                 "quantity": 1, "discount": 0, "line_total": 990, "price_source": None, "price_source_id": None}),
    (OrderLine, {"sku_id": 3, "product_id": 4, "title": "龙井", "unit_price": 990, "quantity": 2, "line_total": 1980}),
    (Reservation, {"sku_id": 3, "quantity": 1, "flash_item_id": 5}),
]


@pytest.mark.parametrize(("model", "values"), CASES)
async def test_it_builds_the_instance_the_orm_builds(model: type[Model], values: dict[str, Any]) -> None:
    built, by_orm = raw_sql.new(model, **values), model(**values)

    assert type(built) is model
    assert built.__dict__ == by_orm.__dict__
    assert not built._saved_in_db and built.pk is None


async def test_defaults_are_its_own_and_values_are_the_fields_python_values() -> None:
    first, second = raw_sql.new(OrderLine, **CASES[3][1]), raw_sql.new(OrderLine, **CASES[3][1])
    specs: list[Any] = first.specs
    specs.append("changed")
    assert second.specs == []  # a mutable default is made anew for each instance, as the ORM does
    order = raw_sql.new(Order, **CASES[1][1])
    assert order.kind is OrderKind.GROUP_BUY and order.status is OrderStatus.PENDING_PAYMENT
    assert raw_sql.new(Reservation, **CASES[4][1]).state is ReservationState.HELD


async def test_it_refuses_what_the_orm_refuses() -> None:
    with pytest.raises(ValueError, match="non nullable"):
        raw_sql.new(Order, **{**CASES[0][1], "expires_at": None})
    with pytest.raises(TypeError, match="pass its id"):
        raw_sql.new(Reservation, order=object(), sku_id=3, quantity=1)
