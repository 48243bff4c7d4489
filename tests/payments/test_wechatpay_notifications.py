from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from payments.wechatpay import NotificationRejected
from tests.payments.paysim_support import OPENID, PayEnv

EnvFactory = Callable[..., Awaitable[PayEnv]]


async def test_a_paid_order_delivers_a_verified_decrypted_transaction_success_notification(env: PayEnv) -> None:
    out_trade_no, prepay_id = await env.prepay(total_fen=4321)
    response = await env.pay(prepay_id)
    assert response.status_code == 200, response.text
    await env.drain()

    [note] = env.receiver.accepted
    assert note["event_type"] == "TRANSACTION.SUCCESS" and note["resource_type"] == "encrypt-resource"
    assert note["id"] == response.json()["notification_id"]
    resource = note["resource"]
    assert resource["out_trade_no"] == out_trade_no and resource["trade_state"] == "SUCCESS"
    assert resource["amount"]["total"] == 4321 and resource["amount"]["payer_total"] == 4321
    assert resource["mchid"] == env.keys.mchid and resource["appid"] == env.keys.appid
    assert resource["payer"] == {"openid": OPENID} and resource["transaction_id"].startswith("4200")
    log = await env.notifications()
    [entry] = log["notifications"]
    assert entry["status"] == "delivered" and entry["out_trade_no"] == out_trade_no
    assert [(a["attempt"], a["status_code"]) for a in entry["attempts"]] == [(1, 204)]


async def test_duplicates_arrive_concurrently_with_the_same_notification_id(env: PayEnv) -> None:
    await env.faults(duplicate=3)
    await env.paid_order()
    await env.drain()

    ids = {note["id"] for note in env.receiver.accepted}
    assert len(env.receiver.accepted) == 3 and len(ids) == 1
    attempts = (await env.notifications())["attempts"]
    assert sorted(a["copy"] for a in attempts) == [1, 2, 3] and {a["attempt"] for a in attempts} == {1}


async def test_out_of_order_delivery_sends_the_refund_before_the_payment(env: PayEnv) -> None:
    await env.faults(out_of_order=True)
    out_trade_no = await env.paid_order(total_fen=1000)
    await env.drain()
    assert env.receiver.accepted == []

    await env.gateway.refund(
        out_refund_no="R" + out_trade_no, out_trade_no=out_trade_no, refund_fen=1000, total_fen=1000
    )
    finish = await env.control.post(f"/__sim/refund/R{out_trade_no}/finish", json={"status": "SUCCESS"})
    assert finish.status_code == 200
    await env.drain()

    assert [n["event_type"] for n in env.receiver.accepted] == ["REFUND.SUCCESS", "TRANSACTION.SUCCESS"]


async def test_a_held_notification_can_be_released_by_hand(env: PayEnv) -> None:
    await env.faults(out_of_order=True)
    await env.paid_order()
    await env.drain()
    assert (await env.notifications())["notifications"][0]["status"] == "held"

    assert (await env.control.post("/__sim/notifications/release")).json() == {"released": 1}
    await env.drain()
    assert len(env.receiver.accepted) == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("signtest", "signature_probe"),
        ("stale_timestamp", "stale_timestamp"),
        ("unknown_serial", "unknown_serial"),
        ("tampered_ciphertext", "decrypt_failed"),
        ("wrong_apiv3_key", "decrypt_failed"),
    ],
)
async def test_a_corrupted_delivery_is_rejected_and_the_clean_retry_is_accepted(
    env: PayEnv, fault: str, reason: str
) -> None:
    await env.faults(**{fault: True})
    out_trade_no = await env.paid_order()
    await env.drain()

    assert env.receiver.rejected == [reason]
    [note] = env.receiver.accepted
    assert note["resource"]["out_trade_no"] == out_trade_no
    [entry] = (await env.notifications())["notifications"]
    assert [(a["attempt"], a["status_code"], a["faults"]) for a in entry["attempts"]] == [
        (1, 401, [fault]),
        (2, 204, []),
    ]


async def test_a_fault_on_every_attempt_keeps_failing_until_the_schedule_ends(make_env: EnvFactory) -> None:
    env = await make_env(retry_speedup=10_000_000)
    await env.faults(signtest=True, every_attempt=True)
    await env.paid_order()
    await env.drain()

    [entry] = (await env.notifications())["notifications"]
    assert entry["status"] == "failed" and len(entry["attempts"]) == 16
    assert env.receiver.rejected == ["signature_probe"] * 16 and env.receiver.accepted == []


async def test_a_wrong_amount_is_delivered_intact_for_the_domain_to_refuse(env: PayEnv) -> None:
    await env.faults(wrong_amount=True)
    await env.paid_order(total_fen=1500)
    await env.drain()

    [note] = env.receiver.accepted
    assert note["resource"]["amount"]["total"] == 1501


async def test_a_receiver_error_is_retried_on_the_sped_up_schedule(make_env: EnvFactory) -> None:
    env = await make_env(retry_speedup=1000)
    env.receiver.fail_next = 3
    await env.paid_order()
    await env.drain()

    [entry] = (await env.notifications())["notifications"]
    attempts = entry["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 500, 204] and entry["status"] == "delivered"
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.014 and gaps[1] >= 0.014 and gaps[2] >= 0.029
    assert len(env.receiver.accepted) == 1


async def test_a_dropped_notification_is_never_sent_but_the_query_shows_the_payment(env: PayEnv) -> None:
    await env.faults(drop=True)
    out_trade_no = await env.paid_order()
    await env.drain()

    assert env.receiver.accepted == [] and (await env.notifications())["notifications"][0]["status"] == "dropped"
    order = await env.gateway.query(out_trade_no)
    assert order is not None and order["trade_state"] == "SUCCESS"


async def test_a_delayed_notification_arrives_after_the_delay(env: PayEnv) -> None:
    await env.faults(delay=0.2)
    started = time.monotonic()
    await env.paid_order()
    await asyncio.sleep(0.05)
    assert env.receiver.accepted == []
    await env.drain()
    assert len(env.receiver.accepted) == 1 and time.monotonic() - started >= 0.2


async def test_fault_plans_apply_to_the_next_count_notifications_only(env: PayEnv) -> None:
    await env.faults(drop=True, count=2)
    for _ in range(3):
        await env.paid_order()
    await env.drain()
    statuses = [n["status"] for n in (await env.notifications())["notifications"]]
    assert statuses == ["dropped", "dropped", "delivered"]


def _signed_delivery(env: PayEnv) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": "x", "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource"}).encode()
    headers = env.sim.signer.signed_headers(body, int(time.time()))
    return headers, body


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, b: ({}, b), "missing_headers"),
        (lambda h, b: ({**h, "Wechatpay-Signature-Type": "SM2"}, b), "unsupported_signature_type"),
        (lambda h, b: ({**h, "Wechatpay-Timestamp": "soon"}, b), "bad_timestamp"),
        (lambda h, b: ({**h, "Wechatpay-Signature": "%%%"}, b), "bad_signature"),
        (lambda h, b: (h, b + b" "), "bad_signature"),
        (lambda h, b: ({k.upper(): v for k, v in h.items()}, b), "unsupported_resource"),
    ],
)
async def test_parse_notification_rejects_bad_input_with_a_reason(env: PayEnv, mutate: Any, reason: str) -> None:
    headers, body = mutate(*_signed_delivery(env))
    with pytest.raises(NotificationRejected) as caught:
        env.gateway.parse_notification(headers, body)
    assert caught.value.reason == reason


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"[]", b"null", b'{"id": 1}', base64.b64encode(b"x" * 64)])
async def test_parse_notification_never_raises_anything_but_notification_rejected(env: PayEnv, body: bytes) -> None:
    headers = env.sim.signer.signed_headers(body, int(time.time()))
    with pytest.raises(NotificationRejected):
        env.gateway.parse_notification(headers, body)


async def test_parse_notification_uses_the_given_clock(env: PayEnv) -> None:
    headers, body = _signed_delivery(env)
    with pytest.raises(NotificationRejected) as caught:
        env.gateway.parse_notification(headers, body, now=time.time() + 300)
    assert caught.value.reason == "stale_timestamp"
