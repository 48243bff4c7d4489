"""Orders for the sweeps: checkout through the domain to a postal address, and time moved by passing `now`."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from domain.catalog.models import Sku
from domain.columns import column
from domain.identity.models import Customer
from domain.inventory.models import Reservation
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import Address, DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, Payment
from domain.orders.payment import Placed

SIM = "/__sim/wechatpay"
ADDRESS = DeliveryChoice(
    address=Address(
        name="张三",
        phone="13800138000",
        province="广东省",
        city="深圳市",
        district="南山区",
        detail="科技园科苑路 15 号",
    )
)


@pytest.fixture
def deps(app: Starlette) -> OrderDeps:
    return app.state.runtime.services.orders


async def place(deps: OrderDeps, buyer: Customer, *lines: tuple[Sku, int]) -> Placed:
    """A pending order with a prepay, placed the way the checkout mutation places it."""
    request = CheckoutRequest(customer_id=buyer.id, delivery=ADDRESS, lines=[(sku.id, qty) for sku, qty in lines])
    placed = await checkout(deps, request)
    assert placed.payment is not None
    return placed


def after_payment_window(deps: OrderDeps) -> datetime:
    return deps.clock() + deps.payment_window + timedelta(seconds=1)


async def counter(deps: OrderDeps, *skus: Sku) -> list[int | None]:
    counts = await deps.inventory.counter.counts([sku.id for sku in skus])
    return [counts[sku.id] for sku in skus]


async def stored(sku: Sku) -> tuple[int, int]:
    """(stock, reserved) in the database."""
    await sku.refresh_from_db()
    return sku.stock, sku.reserved


async def reservation_states(order: Order) -> list[str]:
    return [r.state.value for r in await Reservation.filter(order_id=order.id).order_by("sku_id")]


async def out_trade_nos(order: Order) -> list[str]:
    return await column(Payment.filter(order_id=order.id).order_by("id"), "out_trade_no", str)


async def trade_state(http: httpx.AsyncClient, out_trade_no: str) -> str:
    """What the WeChat Pay simulator says about one trade (GET /__sim/state)."""
    response = await http.get(f"{SIM}/__sim/state")
    assert response.status_code == 200, response.text
    states = {t["out_trade_no"]: t["trade_state"] for t in response.json()["transactions"]}
    return states[out_trade_no]
