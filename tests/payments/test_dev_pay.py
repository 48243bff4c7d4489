"""`pond pay` and `pond refund-complete`: a developer pays a pending prepay the way the mini-program's
wx.requestPayment would, and finishes a refund the way WeChat Pay would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from domain.orders.models import OrderStatus, Payment, Refund, RefundStatus
from domain.orders.refunds import refund_directly
from payments.dev_pay import DevPayError, DevPayRefused, DevServer, complete_refund, simulate_payment
from payments.keys import generate_keys, save_keys
from server.cli import dev_server
from server.settings import Settings
from tests.conftest import TEST_SECRET
from tests.fixtures.orders_paid import reload
from tests.test_cli import pond

BASE = "http://pond.test"


def dev_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, secret_key=TEST_SECRET, **overrides)


@pytest.fixture
def settings(app: Starlette, tmp_path: Path) -> DevServer:
    """A developer's settings: the data dir holds the running server's simulator keys."""
    settings = dev_settings(tmp_path)
    save_keys(app.state.runtime.simulators.wechatpay_keys, settings.wechatpay_simulator_dir)
    return dev_server(settings)


async def test_pond_pay_pays_the_pending_prepay_and_the_notification_marks_the_order_paid(pay_flow, settings):
    sku = await pay_flow.sku(stock=3)
    order, _params = await pay_flow.place((sku, 1))

    answer = await simulate_payment(settings, order.number, "SUCCESS", BASE, http=pay_flow.http)

    queued = [note.id for note in pay_flow.sim.notifier.notifications]
    assert answer == f"paid: notification {queued[-1]} queued for order {order.number}"
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.PAID
    assert (await Payment.get(order_id=order.id)).status.value == "SUCCEEDED"


@pytest.mark.parametrize(("outcome", "said"), [("CANCEL", "cancelled"), ("PAYERROR", "payment failed (PAYERROR)")])
async def test_a_cancelled_or_failed_payment_leaves_the_order_waiting(pay_flow, settings, outcome, said):
    sku = await pay_flow.sku()
    order, _params = await pay_flow.place((sku, 1))
    answer = await simulate_payment(settings, order.number, outcome, BASE, http=pay_flow.http)
    assert answer == f"{said}: order {order.number} stays unpaid"
    await pay_flow.drain()
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT


async def test_an_unknown_order_is_named(pay_flow, settings):
    with pytest.raises(DevPayError, match="^no order P0000000000000000$") as raised:
        await simulate_payment(settings, "P0000000000000000", "SUCCESS", BASE, http=pay_flow.http)
    assert raised.value.exit_code == 1


async def test_a_paid_order_is_not_paid_twice(pay_flow, settings):
    sku = await pay_flow.sku()
    order, _params = await pay_flow.place((sku, 1))
    await simulate_payment(settings, order.number, "SUCCESS", BASE, http=pay_flow.http)
    await pay_flow.drain()
    notifications = len(pay_flow.sim.notifier.notifications)
    with pytest.raises(DevPayError, match=f"^order {order.number} is PAID, not waiting for payment$"):
        await simulate_payment(settings, order.number, "SUCCESS", BASE, http=pay_flow.http)
    assert len(pay_flow.sim.notifier.notifications) == notifications


async def test_an_order_without_a_prepay_asks_for_order_pay(pay_flow, settings):
    sku = await pay_flow.sku()
    order, _params = await pay_flow.place((sku, 1))
    await Payment.filter(order_id=order.id).update(prepay_id=None)
    with pytest.raises(DevPayError, match="has no prepay yet: call orderPay first"):
        await simulate_payment(settings, order.number, "SUCCESS", BASE, http=pay_flow.http)


async def test_keys_other_than_the_servers_are_refused_by_the_simulator(pay_flow, tmp_path):
    other = dev_settings(tmp_path)
    save_keys(generate_keys(), other.wechatpay_simulator_dir)
    sku = await pay_flow.sku()
    order, _params = await pay_flow.place((sku, 1))
    with pytest.raises(DevPayError, match="SIGN_ERROR .*POND_DATA_DIR"):
        await simulate_payment(dev_server(other), order.number, "SUCCESS", BASE, http=pay_flow.http)
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT


MERCHANT = {
    "wechatpay_mchid": "1900000001",
    "wechatpay_cert_serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "wechatpay_private_key_path": "/etc/pond/apiclient_key.pem",
    "wechatpay_apiv3_key": "a" * 32,
    "wechatpay_public_key_path": "/etc/pond/wechatpay_public_key.pem",
    "wechatpay_public_key_id": "PUB_KEY_ID_0114232134912410000000000000",
    "wechat_appid": "wx8888888888888888",
    "wechat_secret": "s" * 32,
}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"env": "production", "wechat_appid": "wx0123456789abcdef", "wechat_secret": "s",
          "public_url": "https://shop.example.com", **MERCHANT}, "production"),
        (MERCHANT, "real merchant keys"),
    ],
)
async def test_production_and_real_merchant_keys_are_refused(tmp_path, overrides, reason):
    server = dev_server(dev_settings(tmp_path, **overrides))
    with pytest.raises(DevPayRefused, match=reason) as raised:
        await simulate_payment(server, "P0000000000000000", "SUCCESS", BASE)
    assert raised.value.exit_code == 2
    with pytest.raises(DevPayRefused, match=f"pond refund-complete .*{reason}"):
        await complete_refund(server, "P0000000000000000", "SUCCESS", BASE)


def test_pond_pay_with_a_bad_order_number_says_so_in_one_line(tmp_path):
    unmigrated = pond(tmp_path, "pay", "P0000000000000000")
    assert unmigrated.returncode == 1
    assert unmigrated.stderr.startswith("pond: cannot read orders from POND_DATABASE_URL")

    assert pond(tmp_path, "migrate").returncode == 0
    result = pond(tmp_path, "pay", "P0000000000000000", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr == "pond: no order P0000000000000000\n"


async def processing_refund(pay_flow):
    sku = await pay_flow.sku()
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    return await refund_directly(pay_flow.deps, await reload(order), None, "缺货", "staff:1")


@pytest.mark.parametrize("by", ["order number", "refund number"])
async def test_pond_refund_complete_finishes_the_refund_and_the_notification_settles_it(pay_flow, settings, by):
    refund = await processing_refund(pay_flow)
    order = await refund.order
    number = order.number if by == "order number" else refund.out_refund_no

    answer = await complete_refund(settings, number, "SUCCESS", BASE, http=pay_flow.http)

    note = pay_flow.sim.notifier.notifications[-1]
    assert answer == f"refund {refund.out_refund_no} SUCCESS: notification {note.id} queued"
    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.REFUNDED


async def test_pond_refund_complete_can_close_a_refund_and_then_refuses_to_finish_it_again(pay_flow, settings):
    refund = await processing_refund(pay_flow)
    await complete_refund(settings, refund.out_refund_no, "CLOSED", BASE, http=pay_flow.http)
    await pay_flow.drain()
    assert (await Refund.get(id=refund.id)).status == RefundStatus.FAILED
    with pytest.raises(DevPayError, match=f"^refund {refund.out_refund_no} is FAILED, not waiting for WeChat Pay$"):
        await complete_refund(settings, refund.out_refund_no, "SUCCESS", BASE, http=pay_flow.http)


async def test_pond_refund_complete_names_what_it_cannot_find(pay_flow, settings):
    with pytest.raises(DevPayError, match="^no refund or order P0000000000000000$"):
        await complete_refund(settings, "P0000000000000000", "SUCCESS", BASE, http=pay_flow.http)
    sku = await pay_flow.sku()
    order, _params = await pay_flow.place((sku, 1))
    with pytest.raises(DevPayError, match=f"^order {order.number} has no refund$"):
        await complete_refund(settings, order.number, "SUCCESS", BASE, http=pay_flow.http)


def test_pond_refund_complete_with_a_bad_number_says_so_in_one_line(tmp_path):
    assert pond(tmp_path, "migrate").returncode == 0
    result = pond(tmp_path, "refund-complete", "P0000000000000000", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1, result.stderr
    assert (result.stdout, result.stderr) == ("", "pond: no refund or order P0000000000000000\n")
