from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from payments.wechatpay import WeChatPayError
from tests.payments.paysim_support import NOTIFY_URL, OPENID, PayEnv, in_hours, new_order_no

JSAPI = "/v3/pay/transactions/jsapi"


def _order(env: PayEnv, **override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": env.keys.appid,
        "mchid": env.keys.mchid,
        "description": "Pond test order",
        "out_trade_no": new_order_no(),
        "notify_url": NOTIFY_URL,
        "amount": {"total": 100, "currency": "CNY"},
        "payer": {"openid": OPENID},
    }
    body.update(override)
    return body


def _assert_platform_signed(env: PayEnv, response: Any) -> None:
    headers = response.headers
    assert headers["Wechatpay-Serial"] == env.keys.public_key_id
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert headers["Request-ID"]
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + response.content + b"\n"
    public = serialization.load_pem_public_key(env.keys.platform_public_key_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    signature = base64.b64decode(headers["Wechatpay-Signature"])
    public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


async def test_every_2xx_reply_including_204_is_signed_with_the_platform_key(env: PayEnv) -> None:
    order = _order(env)
    created = await env.raw_v3("POST", JSAPI, order)
    assert created.status_code == 200 and created.headers["Content-Type"].startswith("application/json")
    _assert_platform_signed(env, created)

    closed = await env.raw_v3(
        "POST", f"/v3/pay/transactions/out-trade-no/{order['out_trade_no']}/close", {"mchid": env.keys.mchid}
    )
    assert closed.status_code == 204 and closed.content == b"" and "Content-Type" not in closed.headers
    _assert_platform_signed(env, closed)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("unsigned", "Authorization"),
        ("tampered body", "signature"),
        ("stale timestamp", "300"),
    ],
)
async def test_requests_that_fail_authentication_get_401_sign_error(env: PayEnv, how: str, expected: str) -> None:
    order = _order(env)
    if how == "unsigned":
        response = await env.control.post(JSAPI, json=order)
    elif how == "tampered body":
        response = await env.raw_v3("POST", JSAPI, order, sign_body=b'{"amount":{"total":1}}')
    else:
        response = await env.raw_v3("POST", JSAPI, order, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["code"] == "SIGN_ERROR" and expected in response.json()["message"]


async def test_the_signed_path_includes_the_query_string(env: PayEnv) -> None:
    out_trade_no, _ = await env.prepay()
    path = f"/v3/pay/transactions/out-trade-no/{out_trade_no}"

    good = await env.raw_v3("GET", f"{path}?mchid={env.keys.mchid}")
    assert good.status_code == 200 and good.json()["out_trade_no"] == out_trade_no

    auth = (await env.raw_v3("GET", path)).request.headers["Authorization"]
    forged = await env.control.get(f"{path}?mchid={env.keys.mchid}", headers={"Authorization": auth})
    assert forged.status_code == 401


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"out_trade_no": "short"}, 400, "PARAM_ERROR"),
        ({"out_trade_no": "has space 123"}, 400, "PARAM_ERROR"),
        ({"description": "x" * 128}, 400, "PARAM_ERROR"),
        ({"amount": {"total": 0}}, 400, "PARAM_ERROR"),
        ({"amount": {"total": 1.5}}, 400, "PARAM_ERROR"),
        ({"amount": {"total": 100, "currency": "USD"}}, 400, "PARAM_ERROR"),
        ({"notify_url": "http://pond.example.com/notify"}, 400, "PARAM_ERROR"),
        ({"notify_url": "https://pond.example.com/notify?order=1"}, 400, "PARAM_ERROR"),
        ({"payer": {}}, 400, "PARAM_ERROR"),
        ({"time_expire": "2030-01-01 10:00:00"}, 400, "PARAM_ERROR"),
        ({"attach": "a" * 129}, 400, "PARAM_ERROR"),
        ({"appid": "wxsomeoneelse"}, 400, "APPID_MCHID_NOT_MATCH"),
    ],
)
async def test_jsapi_order_rules_are_enforced(env: PayEnv, override: dict[str, Any], status: int, code: str) -> None:
    response = await env.raw_v3("POST", JSAPI, _order(env, **override))
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_https_and_local_http_notify_urls_are_accepted(env: PayEnv) -> None:
    for url in ("https://pond.example.com/wechatpay/notify", "http://localhost:8000/notify", NOTIFY_URL):
        response = await env.raw_v3("POST", JSAPI, _order(env, notify_url=url))
        assert response.status_code == 200, response.text


async def test_the_same_number_and_body_returns_the_same_prepay_id(env: PayEnv) -> None:
    order = _order(env, time_expire="2099-01-01T00:00:00+08:00")
    first = await env.raw_v3("POST", JSAPI, order)
    second = await env.raw_v3("POST", JSAPI, order)
    assert first.json()["prepay_id"] == second.json()["prepay_id"]


async def test_the_same_number_with_a_different_body_is_out_trade_no_used(env: PayEnv) -> None:
    order = _order(env)
    assert (await env.raw_v3("POST", JSAPI, order)).status_code == 200
    response = await env.raw_v3("POST", JSAPI, {**order, "amount": {"total": 101, "currency": "CNY"}})
    assert (response.status_code, response.json()["code"]) == (403, "OUT_TRADE_NO_USED")


async def test_a_prepay_id_expires_after_two_hours_and_reordering_issues_a_new_one(env: PayEnv) -> None:
    time_expire = in_hours(5)
    out_trade_no, old = await env.prepay(time_expire=time_expire)
    assert (await env.prepay(out_trade_no=out_trade_no, time_expire=time_expire))[1] == old
    await env.control.post("/__sim/clock/advance", json={"seconds": 2 * 3600 + 1})

    refused = await env.pay(old)
    assert (refused.status_code, refused.json()["code"]) == (400, "PREPAY_EXPIRED")
    _, new = await env.prepay(out_trade_no=out_trade_no, time_expire=time_expire)
    assert new != old
    assert (await env.pay(new)).status_code == 200


async def test_an_order_past_time_expire_cannot_be_paid(env: PayEnv) -> None:
    _, prepay_id = await env.prepay(hours=0.5)
    await env.control.post("/__sim/clock/advance", json={"seconds": 3600})
    response = await env.pay(prepay_id)
    assert (response.status_code, response.json()["code"]) == (400, "ORDER_EXPIRED")


async def test_sim_pay_rejects_a_tampered_pay_sign(env: PayEnv) -> None:
    out_trade_no, prepay_id = await env.prepay()
    params = env.gateway.request_payment_params(prepay_id)

    forged = await env.pay(prepay_id, nonceStr=params["nonceStr"][::-1], paySign=params["paySign"])
    assert (forged.status_code, forged.json()["code"]) == (401, "SIGN_ERROR")
    garbage = await env.pay(prepay_id, paySign="not-base64!")
    assert garbage.status_code == 401
    order = await env.gateway.query(out_trade_no)
    assert order is not None and order["trade_state"] == "NOTPAY"


async def test_a_paid_order_can_be_queried_by_either_number_and_not_ordered_again(env: PayEnv) -> None:
    out_trade_no, prepay_id = await env.prepay(total_fen=2500)
    assert (await env.pay(prepay_id)).status_code == 200

    order = await env.gateway.query(out_trade_no)
    assert order is not None
    assert order["trade_state"] == "SUCCESS" and order["attach"] == "cart:42"
    assert order["amount"]["payer_total"] == 2500 and order["payer"] == {"openid": OPENID}
    by_id = await env.raw_v3("GET", f"/v3/pay/transactions/id/{order['transaction_id']}?mchid={env.keys.mchid}")
    assert by_id.json()["out_trade_no"] == out_trade_no

    with pytest.raises(WeChatPayError) as caught:
        await env.prepay(total_fen=2500, out_trade_no=out_trade_no)
    assert (caught.value.status, caught.value.code) == (400, "ORDERPAID")
    with pytest.raises(WeChatPayError) as caught:
        await env.gateway.close(out_trade_no)
    assert caught.value.code == "ORDERPAID"
    assert (await env.pay(prepay_id)).json()["code"] == "ORDERPAID"


async def test_close_then_prepay_again_is_order_closed(env: PayEnv) -> None:
    out_trade_no, prepay_id = await env.prepay()
    await env.gateway.close(out_trade_no)
    await env.gateway.close(out_trade_no)

    with pytest.raises(WeChatPayError) as caught:
        await env.prepay(out_trade_no=out_trade_no)
    assert (caught.value.status, caught.value.code) == (400, "ORDER_CLOSED")
    assert (await env.pay(prepay_id)).json()["code"] == "ORDER_CLOSED"
    order = await env.gateway.query(out_trade_no)
    assert order is not None and order["trade_state"] == "CLOSED"


async def test_closing_an_unknown_number_is_a_no_op(env: PayEnv) -> None:
    await env.gateway.close(new_order_no())


async def test_payerror_and_cancel_move_the_order_without_a_notification(env: PayEnv) -> None:
    out_trade_no, prepay_id = await env.prepay()

    cancelled = await env.pay(prepay_id, outcome="CANCEL")
    assert cancelled.json()["transaction"]["trade_state"] == "NOTPAY"
    failed = await env.pay(prepay_id, outcome="PAYERROR")
    assert failed.json()["transaction"]["trade_state"] == "PAYERROR"
    await env.drain()
    assert (await env.notifications())["notifications"] == []

    assert (await env.pay(prepay_id)).json()["transaction"]["trade_state"] == "SUCCESS"


async def test_sim_endpoints_reject_bad_control_input(env: PayEnv) -> None:
    assert (await env.control.post("/__sim/pay", json={"prepay_id": "wx-unknown"})).status_code == 404
    assert (await env.control.post("/__sim/faults", json={"teleport": True})).status_code == 400
    assert (await env.control.post("/__sim/faults", json={"api_error": "NOPE"})).status_code == 400
    assert (await env.control.post("/__sim/clock/advance", json={"seconds": -1})).status_code == 400
    assert (await env.control.post("/__sim/refund/R-unknown/finish", json={"status": "SUCCESS"})).status_code == 404
