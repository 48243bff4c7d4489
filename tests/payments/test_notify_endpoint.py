"""Pond's WeChat Pay notify endpoints end to end: checkout, the simulator pays, signed callback, DB state."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

import payments.notify as notify
from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.inventory.models import Reservation, ReservationState
from domain.orders import lifecycle, payment
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from domain.orders.refunds import refund_directly
from payments.notify import PAYMENT_PATH, REFUND_PATH
from tests.fixtures.orders_paid import PayFlow, ledger, notification_rows, reload, stock

CORRUPTIONS = [
    ("signtest", "signature_probe"),
    ("stale_timestamp", "stale_timestamp"),
    ("unknown_serial", "unknown_serial"),
    ("tampered_ciphertext", "decrypt_failed"),
    ("wrong_apiv3_key", "decrypt_failed"),
]
ATTEMPTS = 16  # the first delivery and the 15 retries of wechat.md §4.5


async def trade_of(order: Order) -> Payment:
    return await Payment.get(order_id=order.id)


async def assert_untouched(flow: PayFlow, order: Order, sku_state: tuple[int, int], sku: Sku) -> None:
    """Still waiting for its money: pending, stock held not taken, no money and no notification recorded."""
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT
    assert (await trade_of(order)).status == PaymentStatus.PENDING
    assert await ledger(order) == []
    assert await notification_rows() == []
    assert await stock(sku) == sku_state


async def test_a_paid_order_is_settled_once_from_the_notification(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 2))
    assert await stock(sku) == (5, 2)

    note_id = await pay_flow.paid(params)

    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID and order.paid_at is not None
    assert trade.status == PaymentStatus.SUCCEEDED and trade.transaction_id
    assert await ledger(order) == [("payment", 3980, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == [(note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "paid")]
    assert await stock(sku) == (3, 0)
    assert pay_flow.attempts(note_id) == [(1, 1, 204)]
    assert await Reservation.filter(order_id=order.id).values_list("state", flat=True) == [ReservationState.COMMITTED]


async def test_three_concurrent_copies_pay_once(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(duplicate=3)

    note_id = await pay_flow.paid(params)

    attempts = pay_flow.attempts(note_id)
    assert sorted(copy for _, copy, _ in attempts) == [1, 2, 3] and {a for a, _, _ in attempts} == {1}
    assert all(status in (200, 204) for _, _, status in attempts)
    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID
    assert await ledger(order) == [("payment", 1990, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == [(note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "paid")]
    assert await stock(sku) == (4, 0)


@pytest.mark.parametrize(("fault", "reason"), CORRUPTIONS)
async def test_a_bad_first_delivery_is_refused_and_the_clean_retry_pays(
    pay_flow: PayFlow, fault: str, reason: str
) -> None:
    sku = await pay_flow.sku(stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(**{fault: True})

    with capture_logs() as logs:
        note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == [(1, 1, 401), (2, 1, 204)]
    [rejected] = [e for e in logs if e["event"] == "wechatpay notification rejected"]
    assert rejected["log_level"] == "warning" and rejected["reason"] == reason and "exc_info" not in rejected
    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID
    assert await ledger(order) == [("payment", 1990, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == [(note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "paid")]
    assert await stock(sku) == (4, 0)


@pytest.mark.parametrize(("fault", "reason"), CORRUPTIONS)
async def test_a_notification_that_never_verifies_changes_nothing(pay_flow: PayFlow, fault: str, reason: str) -> None:
    sku = await pay_flow.sku(stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(**{fault: True, "every_attempt": True})

    note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == [(n, 1, 401) for n in range(1, ATTEMPTS + 1)]
    await assert_untouched(pay_flow, order, (5, 1), sku)


async def test_the_401_answer_names_the_reason(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku()
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(stale_timestamp=True, every_attempt=True)
    await pay_flow.paid(params)

    captured = pay_flow.captured.requests[-1]
    response = await pay_flow.http.post(captured.path, content=captured.body, headers=captured.headers)
    assert response.status_code == 401
    assert response.json() == {"code": "FAIL", "message": "stale_timestamp"}
    await assert_untouched(pay_flow, order, (5, 1), sku)


async def test_a_wrong_amount_is_refused_and_the_order_stays_pending(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(wrong_amount=True, every_attempt=True)

    with capture_logs() as logs:
        note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == [(n, 1, 400) for n in range(1, ATTEMPTS + 1)]
    mismatches = [e for e in logs if e["event"] == "wechatpay payment amount mismatch"]
    assert len(mismatches) == ATTEMPTS and {e["log_level"] for e in mismatches} == {"error"}
    assert mismatches[0]["paid"] == 1991
    await assert_untouched(pay_flow, order, (5, 1), sku)

    captured = pay_flow.captured.requests[-1]
    response = await pay_flow.http.post(captured.path, content=captured.body, headers=captured.headers)
    assert response.status_code == 400 and response.json() == {"code": "FAIL", "message": "amount mismatch"}


async def test_a_wrong_amount_then_the_true_one_pays_once(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(wrong_amount=True)

    note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == [(1, 1, 400), (2, 1, 204)]
    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID
    assert await ledger(order) == [("payment", 1990, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == [(note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "paid")]


async def test_a_crash_answers_500_and_the_retry_pays(pay_flow: PayFlow, monkeypatch: pytest.MonkeyPatch) -> None:
    sku = await pay_flow.sku(stock=5)
    order, params = await pay_flow.place((sku, 1))
    calls = {"n": 0}

    async def flaky(*args: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return await payment.settle_payment(*args)

    monkeypatch.setattr(notify, "settle_payment", flaky)
    note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == [(1, 1, 500), (2, 1, 204)]
    assert (await reload(order)).status == OrderStatus.PAID
    assert len(await ledger(order)) == 1 and len(await notification_rows()) == 1
    assert await stock(sku) == (4, 0)


async def test_forged_posts_change_nothing(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, _params = await pay_flow.place((sku, 1))
    trade = await trade_of(order)
    sim = pay_flow.sim
    forged = json.dumps(
        {
            "id": "EV-forged-0001",
            "event_type": "TRANSACTION.SUCCESS",
            "resource_type": "encrypt-resource",
            "resource": {
                "mchid": sim.keys.mchid,
                "appid": sim.keys.appid,
                "out_trade_no": trade.out_trade_no,
                "transaction_id": "4200000000000000000000000001",
                "trade_state": "SUCCESS",
                "amount": {"total": 1990},
            },
        }
    ).encode()
    now = str(int(time.time()))
    bad_signature = {
        "Wechatpay-Timestamp": now,
        "Wechatpay-Nonce": secrets.token_hex(16),
        "Wechatpay-Signature": base64.b64encode(secrets.token_bytes(256)).decode(),
        "Wechatpay-Serial": sim.keys.public_key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    headers, genuine_body = pay_flow.signed({"mchid": sim.keys.mchid, "out_trade_no": trade.out_trade_no})
    cases = [
        ({}, forged, "missing_headers"),
        (bad_signature, forged, "bad_signature"),
        ({**bad_signature, "Wechatpay-Signature": "not base64!"}, forged, "bad_signature"),
        ({**bad_signature, "Wechatpay-Signature-Type": "HMAC-SHA256"}, forged, "unsupported_signature_type"),
        ({**bad_signature, "Wechatpay-Timestamp": "soon"}, forged, "bad_timestamp"),
        (headers, forged, "bad_signature"),  # a genuine signature over another body
        (headers, genuine_body.replace(b'"summary":"test"', b'"summary":"tset"'), "bad_signature"),
    ]
    for path in (PAYMENT_PATH, REFUND_PATH):
        for case_headers, body, reason in cases:
            response = await pay_flow.http.post(path, content=body, headers=case_headers)
            assert response.status_code == 401, (reason, response.text)
            assert response.json() == {"code": "FAIL", "message": reason}
    await assert_untouched(pay_flow, order, (5, 1), sku)


async def test_an_oversized_body_is_refused_unread(pay_flow: PayFlow) -> None:
    huge = b"{" + b" " * (notify.MAX_BODY + 1) + b"}"
    response = await pay_flow.http.post(PAYMENT_PATH, content=huge)
    assert response.status_code == 413 and response.json()["code"] == "FAIL"

    async def chunks():  # no Content-Length: the cap applies while streaming
        for _ in range(5):
            yield b" " * (notify.MAX_BODY // 4)

    response = await pay_flow.http.post(REFUND_PATH, content=chunks())
    assert response.status_code == 413
    assert await notification_rows() == []


async def test_a_replayed_request_is_acknowledged_and_changes_nothing(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    note_id = await pay_flow.paid(params)
    [captured] = [r for r in pay_flow.captured.requests if note_id.encode() in r.body]
    rows = await notification_rows()

    for _ in range(2):
        response = await pay_flow.http.post(captured.path, content=captured.body, headers=captured.headers)
        assert response.status_code == 200 and response.content == b""

    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID
    assert await ledger(order) == [("payment", 1990, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == rows and len(rows) == 1
    assert await stock(sku) == (4, 0)


async def test_a_new_notification_for_a_settled_trade_changes_nothing(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    trade = await trade_of(order)
    resource = pay_flow.sim.transactions[trade.out_trade_no].to_api()
    headers, body = pay_flow.signed(resource, notification_id="EV-second-copy")

    response = await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)

    assert response.status_code == 204
    assert len(await ledger(order)) == 1 and (await reload(order)).status == OrderStatus.PAID
    assert (await notification_rows())[-1] == ("EV-second-copy", "TRANSACTION.SUCCESS", trade.out_trade_no, "duplicate")
    assert await stock(sku) == (4, 0)


async def test_another_merchants_notification_is_refused(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, _params = await pay_flow.place((sku, 1))
    trade = await trade_of(order)
    keys = pay_flow.sim.keys
    base = {
        "mchid": keys.mchid,
        "appid": keys.appid,
        "out_trade_no": trade.out_trade_no,
        "transaction_id": "4200000000000000000000000002",
        "trade_state": "SUCCESS",
        "amount": {"total": 1990, "payer_total": 1990, "currency": "CNY"},
    }
    for changed, message in (
        ({"mchid": "1900000999"}, "mchid mismatch"),
        ({"appid": "wxsomeoneelse"}, "appid mismatch"),
    ):
        headers, body = pay_flow.signed({**base, **changed})
        response = await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)
        assert response.status_code == 400 and response.json() == {"code": "FAIL", "message": message}
    await assert_untouched(pay_flow, order, (5, 1), sku)

    headers, body = pay_flow.signed(base)  # the same resource, ours: accepted
    assert (await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)).status_code == 204
    assert (await reload(order)).status == OrderStatus.PAID


async def test_an_unknown_trade_is_404_and_not_recorded(pay_flow: PayFlow) -> None:
    keys = pay_flow.sim.keys
    resource = {
        "mchid": keys.mchid,
        "appid": keys.appid,
        "out_trade_no": "P0000000000000000_1",
        "transaction_id": "4200000000000000000000000003",
        "trade_state": "SUCCESS",
        "amount": {"total": 100},
    }
    headers, body = pay_flow.signed(resource)
    response = await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)
    assert response.status_code == 404 and response.json() == {"code": "FAIL", "message": "unknown out_trade_no"}
    assert await notification_rows() == []


async def test_other_events_are_acknowledged_and_recorded(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, _params = await pay_flow.place((sku, 1))
    trade = await trade_of(order)
    keys = pay_flow.sim.keys
    resource = {"mchid": keys.mchid, "appid": keys.appid, "out_trade_no": trade.out_trade_no, "trade_state": "CLOSED"}
    headers, body = pay_flow.signed(resource, event_type="TRANSACTION.CLOSED", notification_id="EV-closed")
    assert (await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)).status_code == 204
    headers, body = pay_flow.signed(
        {**resource, "trade_state": "PAYERROR"}, notification_id="EV-odd"
    )  # TRANSACTION.SUCCESS that is not a success
    assert (await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)).status_code == 204

    assert await notification_rows() == [
        ("EV-closed", "TRANSACTION.CLOSED", trade.out_trade_no, "ignored"),
        ("EV-odd", "TRANSACTION.SUCCESS", trade.out_trade_no, "ignored:PAYERROR"),
    ]
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT
    assert await ledger(order) == [] and await stock(sku) == (5, 1)


async def test_a_dropped_notification_is_settled_by_reconciliation(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 2))
    await pay_flow.faults(drop=True)

    note_id = await pay_flow.paid(params)

    assert pay_flow.attempts(note_id) == []
    assert [n.status for n in pay_flow.sim.notifier.notifications if n.id == note_id] == ["dropped"]
    await assert_untouched(pay_flow, order, (5, 2), sku)

    later = pay_flow.deps.clock() + timedelta(minutes=5)
    assert await lifecycle.reconcile_due(pay_flow.deps, now=later) == 1
    assert await lifecycle.reconcile_due(pay_flow.deps, now=later) == 0

    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID
    assert trade.status == PaymentStatus.SUCCEEDED
    assert trade.transaction_id == pay_flow.sim.transactions[trade.out_trade_no].transaction_id
    assert await ledger(order) == [("payment", 3980, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == []
    assert await stock(sku) == (3, 0)


async def test_reconciliation_settles_what_a_wrong_amount_notification_could_not(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(wrong_amount=True, every_attempt=True)
    await pay_flow.paid(params)
    await assert_untouched(pay_flow, order, (5, 1), sku)

    assert await lifecycle.reconcile_due(pay_flow.deps, now=pay_flow.deps.clock() + timedelta(minutes=5)) == 1
    assert (await reload(order)).status == OrderStatus.PAID
    assert [amount for _, amount, _ in await ledger(order)] == [1990]


async def test_a_late_payment_revives_a_cancelled_order_while_stock_lasts(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 2))
    await payment.cancel(pay_flow.deps, order, "customer")
    assert (await reload(order)).status == OrderStatus.CANCELLED and await stock(sku) == (5, 0)

    note_id = await pay_flow.paid(params)

    trade = await trade_of(order)
    assert (await reload(order)).status == OrderStatus.PAID and order.paid_at is not None
    assert await ledger(order) == [("payment", 3980, f"pay:{trade.out_trade_no}")]
    assert await notification_rows() == [(note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "revived")]
    assert await stock(sku) == (3, 0)
    assert await Refund.filter(order_id=order.id).count() == 0


async def test_a_late_payment_for_sold_stock_is_refunded(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=2)
    order, params = await pay_flow.place((sku, 2))
    await payment.cancel(pay_flow.deps, order, "expired")
    other_buyer = await Customer.create(openid="o-pay-other", nickname="other")
    other, other_params = await pay_flow.place((sku, 2), buyer=other_buyer)
    await pay_flow.paid(other_params)
    assert (await reload(other)).status == OrderStatus.PAID and await stock(sku) == (0, 0)

    note_id = await pay_flow.paid(params)

    trade = await trade_of(order)
    [refund] = await Refund.filter(order_id=order.id)
    assert (await reload(order)).status == OrderStatus.REFUNDING
    assert order.status_before_refund == OrderStatus.CANCELLED
    assert refund.status == RefundStatus.PROCESSING and refund.amount == 3980 and refund.refund_id
    assert await ledger(order) == [("payment", 3980, f"pay:{trade.out_trade_no}")]
    assert (await notification_rows())[-1] == (note_id, "TRANSACTION.SUCCESS", trade.out_trade_no, "refund")
    assert pay_flow.sim.refunds[refund.out_refund_no].status == "PROCESSING"

    refund_note = await pay_flow.finish_refund(refund.out_refund_no, "SUCCESS")
    await pay_flow.drain()

    assert pay_flow.attempts(refund_note) == [(1, 1, 204)]
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.REFUNDED and order.refunded_total == 3980
    assert await ledger(order) == [
        ("payment", 3980, f"pay:{trade.out_trade_no}"),
        ("refund", -3980, f"refund:{refund.out_refund_no}"),
    ]
    assert (await notification_rows())[-1] == (refund_note, "REFUND.SUCCESS", refund.out_refund_no, "refunded")
    assert await stock(sku) == (0, 0) and (await reload(other)).status == OrderStatus.PAID


async def test_a_late_payment_takes_back_no_stock_when_one_line_is_sold_out(pay_flow: PayFlow) -> None:
    plenty = await pay_flow.sku(price=1000, stock=5)
    scarce = await pay_flow.sku(price=2000, stock=1)
    order, params = await pay_flow.place((plenty, 1), (scarce, 1))
    await payment.cancel(pay_flow.deps, order, "expired")
    other, other_params = await pay_flow.place(
        (scarce, 1), buyer=await Customer.create(openid="o-pay-other", nickname="other")
    )
    await pay_flow.paid(other_params)

    await pay_flow.paid(params)

    assert (await reload(order)).status == OrderStatus.REFUNDING
    assert await stock(plenty) == (5, 0), "a refunded order must not keep the units it could retake"
    assert await stock(scarce) == (0, 0)
    states = await Reservation.filter(order_id=order.id).values_list("state", flat=True)
    assert set(states) == {ReservationState.RELEASED}


async def test_a_refund_notification_before_the_payment_one(pay_flow: PayFlow) -> None:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.faults(out_of_order=True)
    pay_note = await pay_flow.paid(params)
    assert pay_flow.attempts(pay_note) == []
    assert (await reload(order)).status == OrderStatus.PENDING_PAYMENT

    # The app hears of the payment by querying (the client reported success), then staff refund at once.
    trade = await trade_of(order)
    assert await payment.reconcile(pay_flow.deps, trade.out_trade_no) == "paid"
    refund = await refund_directly(pay_flow.deps, await reload(order), None, "out of stock", "staff:1")
    refund_note = await pay_flow.finish_refund(refund.out_refund_no, "SUCCESS")
    await pay_flow.drain()

    delivered = [
        a.notification_id for a in pay_flow.sim.notifier.attempts if a.notification_id in {pay_note, refund_note}
    ]
    assert delivered == [refund_note, pay_note]
    assert await notification_rows() == [
        (refund_note, "REFUND.SUCCESS", refund.out_refund_no, "refunded"),
        (pay_note, "TRANSACTION.SUCCESS", trade.out_trade_no, "duplicate"),
    ]
    assert (await reload(order)).status == OrderStatus.REFUNDED
    assert await ledger(order) == [
        ("payment", 1990, f"pay:{trade.out_trade_no}"),
        ("refund", -1990, f"refund:{refund.out_refund_no}"),
    ]
    assert await stock(sku) == (4, 0)


async def paid_and_refunding(pay_flow: PayFlow) -> tuple[Order, Refund]:
    sku = await pay_flow.sku(price=1990, stock=5)
    order, params = await pay_flow.place((sku, 1))
    await pay_flow.paid(params)
    refund = await refund_directly(pay_flow.deps, await reload(order), 990, "damaged", "staff:1")
    assert refund.status == RefundStatus.PROCESSING and (await reload(order)).status == OrderStatus.REFUNDING
    return order, refund


async def test_refund_duplicates_refund_once(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    await pay_flow.faults(duplicate=3)
    note_id = await pay_flow.finish_refund(refund.out_refund_no)
    await pay_flow.drain()

    assert sorted(copy for _, copy, _ in pay_flow.attempts(note_id)) == [1, 2, 3]
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.refund_id
    assert (await reload(order)).status == OrderStatus.PAID and order.refunded_total == 990
    assert [(kind, amount) for kind, amount, _ in await ledger(order)] == [("payment", 1990), ("refund", -990)]
    assert (await notification_rows())[-1] == (note_id, "REFUND.SUCCESS", refund.out_refund_no, "refunded")


async def test_an_abnormal_refund_joins_the_failed_queue_and_a_late_success_still_settles_it(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    abnormal = await pay_flow.finish_refund(refund.out_refund_no, "ABNORMAL")
    await pay_flow.drain()
    await refund.refresh_from_db()
    assert (refund.status, refund.failure_code, refund.next_attempt_at) == (RefundStatus.FAILED, "ABNORMAL", None)
    assert (await reload(order)).status == OrderStatus.PAID
    assert (await notification_rows())[-1] == (abnormal, "REFUND.ABNORMAL", refund.out_refund_no, "abnormal")

    success = await pay_flow.finish_refund(refund.out_refund_no, "SUCCESS")
    await pay_flow.drain()
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and (await reload(order)).status == OrderStatus.PAID
    assert (await notification_rows())[-1] == (success, "REFUND.SUCCESS", refund.out_refund_no, "refunded")


async def test_a_closed_refund_puts_the_order_back(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    await pay_flow.finish_refund(refund.out_refund_no, "CLOSED")
    await pay_flow.drain()
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and (await reload(order)).status == OrderStatus.PAID
    assert [kind for kind, _, _ in await ledger(order)] == ["payment"]


async def test_a_stale_refund_state_never_overwrites_a_final_one(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    await pay_flow.finish_refund(refund.out_refund_no, "SUCCESS")
    await pay_flow.drain()
    await refund.refresh_from_db()
    resource = pay_flow.sim.refunds[refund.out_refund_no].to_notification()
    for event in ("REFUND.CLOSED", "REFUND.ABNORMAL"):
        headers, body = pay_flow.signed(
            {**resource, "refund_status": event.removeprefix("REFUND.")}, event_type=event, original_type="refund"
        )
        assert (await pay_flow.http.post(REFUND_PATH, content=body, headers=headers)).status_code == 204

    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (await reload(order)).status == OrderStatus.PAID and order.refunded_total == 990
    assert [(kind, amount) for kind, amount, _ in await ledger(order)] == [("payment", 1990), ("refund", -990)]


async def test_a_refund_event_sent_to_the_payment_url_is_still_a_refund(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    resource = {
        **pay_flow.sim.refunds[refund.out_refund_no].to_notification(),
        "refund_status": "SUCCESS",
    }
    headers, body = pay_flow.signed(resource, event_type="REFUND.SUCCESS", original_type="refund")
    assert (await pay_flow.http.post(PAYMENT_PATH, content=body, headers=headers)).status_code == 204
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and (await reload(order)).refunded_total == 990


async def test_refund_notifications_are_checked_like_payments(pay_flow: PayFlow) -> None:
    order, refund = await paid_and_refunding(pay_flow)
    resource = {**pay_flow.sim.refunds[refund.out_refund_no].to_notification(), "refund_status": "SUCCESS"}
    for changed, status in (({"mchid": "1900000999"}, 400), ({"out_refund_no": "P000000000000000R9"}, 404)):
        headers, body = pay_flow.signed({**resource, **changed}, event_type="REFUND.SUCCESS", original_type="refund")
        response = await pay_flow.http.post(REFUND_PATH, content=body, headers=headers)
        assert response.status_code == status and response.json()["code"] == "FAIL"
    await refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING and (await reload(order)).status == OrderStatus.REFUNDING
    assert [kind for kind, _, _ in await ledger(order)] == ["payment"]
    assert [row[1] for row in await notification_rows()] == ["TRANSACTION.SUCCESS"]
