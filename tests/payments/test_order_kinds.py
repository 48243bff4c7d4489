"""The seams every selling mode plugs into: a `Placement` when its order is placed, and its kind's policy when the
order is paid, cancelled or paid late. Played here by a test mode for RELAY orders; the real modes have their own
tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from domain.errors import DomainError, ErrorCode
from domain.orders import payment
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.kinds import CannotRevive, KindPolicy
from domain.orders.models import Order, OrderKind, OrderLine, OrderStatus, Refund, RefundStatus
from domain.orders.ports import PaymentParams
from domain.pricing.engine import PriceSource, Quote
from tests.fixtures.orders_paid import PayFlow, reload, stock


@dataclass
class ModeForTests:
    """A selling mode with one price per SKU and a fast gate that can refuse."""

    prices: dict[int, int]
    refuse: bool = False
    kind: OrderKind = OrderKind.RELAY
    log: list[str] = field(default_factory=list)

    def sources(self) -> Mapping[int, Sequence[PriceSource]]:
        return {sku_id: [PriceSource("TEST", 7, price)] for sku_id, price in self.prices.items()}

    async def admit(self, deps: OrderDeps, holder: str) -> None:
        if self.refuse:
            raise DomainError(ErrorCode.GROUP_FULL, "no seat left")
        self.log.append("admit")

    async def give_back(self, deps: OrderDeps, holder: str) -> None:
        self.log.append("give_back")

    async def write(self, order: Order, quote: Quote) -> None:
        self.log.append(f"write:{order.kind}:{quote.total}")


class PolicyForTests(KindPolicy):
    kind = OrderKind.RELAY
    takes_order_promotions = False

    def __init__(self) -> None:
        self.accepting = True
        self.paid: list[int] = []

    async def retake_units(self, order: Order) -> None:
        raise CannotRevive()

    async def take_payment(self, deps: OrderDeps, order: Order) -> bool:
        if self.accepting:
            self.paid.append(order.id)
        return self.accepting


@pytest.fixture
def policy(pay_flow: PayFlow, monkeypatch: pytest.MonkeyPatch) -> PolicyForTests:
    test_policy = PolicyForTests()
    monkeypatch.setitem(pay_flow.deps.policies, OrderKind.RELAY, test_policy)
    return test_policy


PARAMS: dict[int, PaymentParams] = {}


async def place(flow: PayFlow, mode: ModeForTests, quantity: int, coupon: str | None = None) -> Order:
    sku_id = next(iter(mode.prices))
    request = CheckoutRequest(customer_id=flow.buyer.id, delivery=DeliveryChoice(pickup_point_id=flow.pickup.id),
                              lines=[(sku_id, quantity)], mode=mode, coupon_code=coupon)
    placed = await checkout(flow.deps, request)
    assert placed.payment is not None
    PARAMS[placed.order.id] = placed.payment
    return placed.order


async def test_an_order_placed_through_a_mode_takes_its_price_its_kind_and_the_stock(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    mode = ModeForTests({sku.id: 1500})

    order = await place(pay_flow, mode, 2)

    assert order.kind == OrderKind.RELAY and order.payable == 3000
    [line] = await OrderLine.filter(order_id=order.id)
    assert (line.unit_price, line.price_source, line.price_source_id) == (1500, "TEST", 7)
    assert mode.log == ["admit", "write:RELAY:3000"]
    assert await stock(sku) == (5, 2)


async def test_a_mode_that_refuses_holds_nothing(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    with pytest.raises(DomainError) as refused:
        await place(pay_flow, ModeForTests({sku.id: 1500}, refuse=True), 2)
    assert refused.value.code == ErrorCode.GROUP_FULL
    assert await Order.filter(kind=OrderKind.RELAY).count() == 0
    assert await stock(sku) == (5, 0)


async def test_a_kind_without_order_promotions_refuses_a_coupon(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    mode = ModeForTests({sku.id: 1500})
    with pytest.raises(DomainError) as refused:
        await place(pay_flow, mode, 1, coupon="ANY")
    assert refused.value.code == ErrorCode.COUPON_INVALID and mode.log == []


async def test_a_payment_the_policy_no_longer_accepts_cancels_the_order_and_goes_back(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    order = await place(pay_flow, ModeForTests({sku.id: 1500}), 2)
    policy.accepting = False

    await pay_flow.paid(PARAMS[order.id])

    order = await reload(order)
    [refund] = await Refund.filter(order_id=order.id)
    assert order.status == OrderStatus.REFUNDING and order.status_before_refund == OrderStatus.CANCELLED
    assert refund.amount == 3000 and refund.status == RefundStatus.PROCESSING
    assert policy.paid == [] and await stock(sku) == (5, 0)
    await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.REFUNDED


async def test_a_late_payment_the_policy_cannot_revive_is_refunded(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    order = await place(pay_flow, ModeForTests({sku.id: 1500}), 1)
    await payment.cancel(pay_flow.deps, order, "expired")

    await pay_flow.paid(PARAMS[order.id])

    assert (await reload(order)).status == OrderStatus.REFUNDING
    assert await Refund.filter(order_id=order.id, amount=1500).count() == 1
    assert policy.paid == [] and await stock(sku) == (5, 0)


async def test_a_paid_order_tells_its_policy_once(pay_flow, policy):
    sku = await pay_flow.sku(price=1990, stock=5)
    order = await place(pay_flow, ModeForTests({sku.id: 1500}), 1)
    params = PARAMS[order.id]
    await pay_flow.paid(params)
    await payment.reconcile(pay_flow.deps, (await order.payments.all())[0].out_trade_no)
    assert policy.paid == [order.id] and (await reload(order)).status == OrderStatus.PAID
