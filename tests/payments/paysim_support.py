"""Helpers for the WeChat Pay tests: the merchant's notify receiver, a test environment and raw request signing."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from payments.keys import SimulatorKeys
from payments.simulator import SimulatorState
from payments.wechatpay import NotificationRejected, WeChatPayGateway

GATEWAY_URL = "http://wechatpay.sim"
NOTIFY_URL = "http://127.0.0.1/wechatpay/notify"
REFUND_NOTIFY_URL = "http://127.0.0.1/wechatpay/refund-notify"
TRANSFER_NOTIFY_URL = "http://127.0.0.1/wechatpay/transfer-notify"
OPENID = "oPondTestUser_0001"
DEFAULT_SPEEDUP = 100_000.0


def new_order_no() -> str:
    return "T" + uuid.uuid4().hex[:20]


def in_hours(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


@dataclass
class Receiver:
    """The merchant's notify endpoint: accepts what ``parse_notification`` accepts, like Pond's real handler."""

    gateway: WeChatPayGateway | None = None
    fail_next: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        assert self.gateway is not None
        body = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"code": "FAIL", "message": "busy"}, status_code=500)
        try:
            envelope = self.gateway.parse_notification(request.headers, body)
        except NotificationRejected as exc:
            self.rejected.append(exc.reason)
            return JSONResponse({"code": "FAIL", "message": exc.reason}, status_code=401)
        self.accepted.append(envelope)
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/wechatpay/notify", self.handle, methods=["POST"]),
                Route("/wechatpay/refund-notify", self.handle, methods=["POST"]),
                Route("/wechatpay/transfer-notify", self.handle, methods=["POST"]),
            ]
        )


@functools.cache
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def authorization(keys: SimulatorKeys, method: str, target: str, body: bytes, *, timestamp: int | None = None) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    message = f"{method}\n{target}\n{ts}\n{nonce}\n".encode() + body + b"\n"
    key = _private_key(keys.merchant_private_key_pem)
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{keys.mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{ts}",serial_no="{keys.merchant_cert_serial}"'
    )


@dataclass
class PayEnv:
    keys: SimulatorKeys
    app: Starlette
    sim: SimulatorState
    gateway: WeChatPayGateway
    receiver: Receiver
    control: httpx.AsyncClient

    async def prepay(
        self,
        total_fen: int = 1990,
        *,
        out_trade_no: str | None = None,
        time_expire: dt.datetime | None = None,
        hours: float = 1.0,
    ) -> tuple[str, str]:
        out_trade_no = out_trade_no or new_order_no()
        prepay_id = await self.gateway.prepay(
            out_trade_no=out_trade_no,
            description="Pond test order",
            total_fen=total_fen,
            openid=OPENID,
            time_expire=time_expire or in_hours(hours),
            attach="cart:42",
        )
        return out_trade_no, prepay_id

    async def pay(self, prepay_id: str, outcome: str = "SUCCESS", **override: str) -> httpx.Response:
        params = self.gateway.request_payment_params(prepay_id)
        body = {"prepay_id": prepay_id, "outcome": outcome, **params, **override}
        return await self.control.post("/__sim/pay", json=body)

    async def paid_order(self, total_fen: int = 1990) -> str:
        out_trade_no, prepay_id = await self.prepay(total_fen)
        response = await self.pay(prepay_id)
        assert response.status_code == 200, response.text
        return out_trade_no

    async def faults(self, **spec: Any) -> None:
        response = await self.control.post("/__sim/faults", json=spec)
        assert response.status_code == 200, response.text

    async def drain(self, seconds: float = 10.0) -> None:
        async with asyncio.timeout(seconds):
            await self.sim.drain()

    async def notifications(self) -> dict[str, Any]:
        return (await self.control.get("/__sim/notifications")).json()

    async def raw_v3(
        self,
        method: str,
        target: str,
        payload: Any = None,
        *,
        timestamp: int | None = None,
        sign_body: bytes | None = None,
    ) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        auth = authorization(self.keys, method, target, body if sign_body is None else sign_body, timestamp=timestamp)
        headers = {"Authorization": auth, "Content-Type": "application/json", "Accept": "application/json"}
        return await self.control.request(method, target, content=body, headers=headers)
