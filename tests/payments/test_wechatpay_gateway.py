from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.routing import Mount

from payments.keys import SimulatorKeys
from payments.simulator import create_wechatpay_simulator
from payments.wechatpay import WeChatPayConfig, WeChatPayError, WeChatPayGateway
from tests.payments.paysim_support import GATEWAY_URL, OPENID, PayEnv, new_order_no


def _other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_request_payment_params_sign_appid_timestamp_nonce_and_package_with_the_merchant_key(env: PayEnv) -> None:
    _, prepay_id = await env.prepay()
    params = env.gateway.request_payment_params(prepay_id)

    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={prepay_id}" and params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 5 and len(params["nonceStr"]) <= 32
    message = f"{env.keys.appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    public = serialization.load_pem_public_key(env.keys.merchant_public_key_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())


async def test_query_returns_the_order_and_none_for_an_unknown_number(env: PayEnv) -> None:
    out_trade_no, _ = await env.prepay(total_fen=500)

    order = await env.gateway.query(out_trade_no)
    assert order is not None
    assert order["trade_state"] == "NOTPAY" and order["amount"]["total"] == 500
    assert order["mchid"] == env.keys.mchid and order["appid"] == env.keys.appid
    assert await env.gateway.query(new_order_no()) is None


async def test_a_wrong_merchant_key_is_refused_with_sign_error(env: PayEnv, sim_keys: SimulatorKeys) -> None:
    config = WeChatPayConfig.from_simulator_keys(
        dataclasses.replace(sim_keys, merchant_private_key_pem=_pem_private(_other_rsa_key())),
        notify_url="http://127.0.0.1/n",
        refund_notify_url="http://127.0.0.1/r",
        gateway=GATEWAY_URL,
    )
    async with WeChatPayGateway(config, transport=httpx.ASGITransport(app=env.app)) as intruder:
        with pytest.raises(WeChatPayError) as caught:
            await intruder.prepay(
                out_trade_no=new_order_no(), description="x", total_fen=1, openid=OPENID, time_expire=_soon()
            )
    assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")


async def test_a_reply_signed_with_an_unexpected_platform_key_is_not_trusted(sim_keys: SimulatorKeys) -> None:
    sim_app = create_wechatpay_simulator(sim_keys)
    config = WeChatPayConfig.from_simulator_keys(
        dataclasses.replace(sim_keys, platform_public_key_pem=_pem_public(_other_rsa_key())),
        notify_url="http://127.0.0.1/n",
        refund_notify_url="http://127.0.0.1/r",
        gateway=GATEWAY_URL,
    )
    async with WeChatPayGateway(config, transport=httpx.ASGITransport(app=sim_app)) as gateway:
        assert await gateway.query(new_order_no()) is None
        with pytest.raises(WeChatPayError) as caught:
            await gateway.prepay(
                out_trade_no=new_order_no(), description="x", total_fen=1, openid=OPENID, time_expire=_soon()
            )
    assert (caught.value.status, caught.value.code) == (0, "INVALID_RESPONSE_SIGNATURE")


async def test_a_request_timestamp_more_than_300_seconds_off_is_refused(sim_keys: SimulatorKeys) -> None:
    sim_app = create_wechatpay_simulator(sim_keys, clock=lambda: time.time() + 301)
    config = WeChatPayConfig.from_simulator_keys(
        sim_keys, notify_url="http://127.0.0.1/n", refund_notify_url="http://127.0.0.1/r", gateway=GATEWAY_URL
    )
    async with WeChatPayGateway(config, transport=httpx.ASGITransport(app=sim_app)) as gateway:
        with pytest.raises(WeChatPayError) as caught:
            await gateway.query(new_order_no())
    assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")
    assert "300" in caught.value.message


async def test_injected_system_error_surfaces_as_a_500_and_the_retry_with_the_same_number_succeeds(env: PayEnv) -> None:
    await env.faults(api_error="SYSTEM_ERROR", count=1)
    out_trade_no = new_order_no()

    with pytest.raises(WeChatPayError) as caught:
        await env.prepay(out_trade_no=out_trade_no)
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (500, "SYSTEM_ERROR", True)
    assert await env.gateway.query(out_trade_no) is None

    _, prepay_id = await env.prepay(out_trade_no=out_trade_no)
    assert prepay_id.startswith("wx")


async def test_frequency_limited_surfaces_as_a_429_for_the_next_n_calls(env: PayEnv) -> None:
    await env.faults(api_error="FREQUENCY_LIMITED", count=2)
    for _ in range(2):
        with pytest.raises(WeChatPayError) as caught:
            await env.gateway.query(new_order_no())
        assert (caught.value.status, caught.value.code) == (429, "FREQUENCY_LIMITED")
    assert await env.gateway.query(new_order_no()) is None


async def test_a_reply_lost_after_commit_is_safe_to_retry_with_the_same_body(env: PayEnv) -> None:
    await env.faults(api_error="SYSTEM_ERROR", after_commit=True)
    out_trade_no = new_order_no()
    expire = _soon()
    order: dict[str, Any] = {
        "out_trade_no": out_trade_no,
        "description": "d",
        "total_fen": 100,
        "openid": OPENID,
        "time_expire": expire,
    }

    with pytest.raises(WeChatPayError):
        await env.gateway.prepay(**order)
    created = await env.gateway.query(out_trade_no)
    assert created is not None and created["trade_state"] == "NOTPAY"
    assert await env.gateway.prepay(**order) == await env.gateway.prepay(**order)


@pytest.mark.parametrize("failure", [
    httpx.ConnectError("connection refused"),  # an unreachable gateway
    httpx.ReadError("connection reset by peer"),  # a connection dropped on both tries
])
async def test_an_unreachable_gateway_or_a_connection_dropped_twice_is_a_network_error(
    sim_keys: SimulatorKeys, failure: httpx.TransportError
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        failure.request = request
        raise failure

    config = WeChatPayConfig.from_simulator_keys(
        sim_keys, notify_url="http://127.0.0.1/n", refund_notify_url="http://127.0.0.1/r", gateway=GATEWAY_URL
    )
    async with WeChatPayGateway(config, transport=httpx.MockTransport(fail)) as gateway:
        with pytest.raises(WeChatPayError) as caught:
            await gateway.close(new_order_no())
    assert (caught.value.status, caught.value.code) == (0, "NETWORK")


async def test_local_argument_checks_happen_before_any_call(env: PayEnv) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await env.gateway.prepay(
            out_trade_no=new_order_no(), description="d", total_fen=1, openid=OPENID, time_expire=dt.datetime.now()
        )
    with pytest.raises(ValueError, match="out_trade_no"):
        await env.gateway.prepay(
            out_trade_no="bad|no*1", description="d", total_fen=1, openid=OPENID, time_expire=_soon()
        )
    with pytest.raises(ValueError, match="total_fen"):
        await env.gateway.prepay(
            out_trade_no=new_order_no(), description="d", total_fen=0, openid=OPENID, time_expire=_soon()
        )


async def test_calls_before_start_are_a_programming_error(sim_keys: SimulatorKeys) -> None:
    config = WeChatPayConfig.from_simulator_keys(
        sim_keys, notify_url="http://127.0.0.1/n", refund_notify_url="http://127.0.0.1/r", gateway=GATEWAY_URL
    )
    with pytest.raises(RuntimeError, match="not started"):
        await WeChatPayGateway(config).query(new_order_no())


def _soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)


async def test_the_simulator_can_be_mounted_under_a_prefix_of_another_app(sim_keys: SimulatorKeys) -> None:
    host = Starlette(routes=[Mount("/wechatpay-sim", app=create_wechatpay_simulator(sim_keys))])
    config = WeChatPayConfig.from_simulator_keys(
        sim_keys,
        notify_url="http://127.0.0.1/n",
        refund_notify_url="http://127.0.0.1/r",
        gateway="http://pond.local/wechatpay-sim",
    )
    async with WeChatPayGateway(config, transport=httpx.ASGITransport(app=host)) as gateway:
        out_trade_no = new_order_no()
        await gateway.prepay(
            out_trade_no=out_trade_no, description="d", total_fen=1, openid=OPENID, time_expire=_soon()
        )
        order = await gateway.query(out_trade_no)
    assert order is not None and order["trade_state"] == "NOTPAY"


async def test_a_connection_dropped_as_it_is_reused_is_asked_once_more(sim_keys: SimulatorKeys) -> None:
    """A kept-alive connection the gateway closes just as Pond reuses it: the call goes out again, signed anew."""
    inner = httpx.ASGITransport(app=create_wechatpay_simulator(sim_keys))
    sent: list[str] = []

    class DropsEveryOther(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.headers["Authorization"])
            if len(sent) % 2:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            return await inner.handle_async_request(request)

    config = WeChatPayConfig.from_simulator_keys(
        sim_keys, notify_url="http://127.0.0.1/n", refund_notify_url="http://127.0.0.1/r", gateway=GATEWAY_URL
    )
    async with WeChatPayGateway(config, transport=DropsEveryOther()) as gateway:
        out_trade_no = new_order_no()
        prepay_id = await gateway.prepay(
            out_trade_no=out_trade_no, description="x", total_fen=1, openid=OPENID, time_expire=_soon()
        )
        assert prepay_id and len(sent) == 2 and sent[0] != sent[1]  # a new signature (nonce) the second time
        found = await gateway.query(out_trade_no)
        assert found is not None and found["trade_state"] == "NOTPAY" and len(sent) == 4

