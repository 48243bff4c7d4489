"""Pond's WeChat Pay gateway over wechatpayv3's async client (public-key mode); the only wechatpayv3 importer."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3.async_ import AsyncWeChatPay, WeChatPayType
from wechatpayv3.async_.type import RequestType

from wechat.http import network_client

if TYPE_CHECKING:
    from payments.keys import SimulatorKeys

DEFAULT_GATEWAY = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
MAX_NOTIFICATION_SKEW = 300
_DROPPED_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""What a reused connection the other side had closed looks like (not timeouts, not refused connections)."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
_MERCHANT_NO = re.compile(r"[0-9A-Za-z_-]{6,32}")
_REFUND_NO = re.compile(r"[0-9A-Za-z_-]{1,64}")
_BILL_NO = re.compile(r"[0-9A-Za-z]{1,32}")
MAX_TRANSFER_WITHOUT_NAME = 200_000 - 1
"""WeChat Pay wants the payee's real name (encrypted) from 2,000 yuan on; Pond does not collect it (wechat.md §7.1)."""
TRANSFER_NOTIFICATION = "MCHTRANSFER.BILL.FINISHED"
_CST = dt.timezone(dt.timedelta(hours=8))
_REQUIRED_HEADERS = (
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
    "wechatpay-signature-type",
)
_SDK_VERIFY_FAILURES = ("failed to verify the signature", "wechatpayv3 does not support this algorithm")


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    cert_serial_no: str
    private_key_pem: str
    apiv3_key: str
    public_key_pem: str
    public_key_id: str
    notify_url: str
    refund_notify_url: str
    gateway: str = DEFAULT_GATEWAY
    read_timeout: float = READ_TIMEOUT
    """Seconds to wait for an answer; past it the call fails as unreachable (its outcome unknown)."""
    transfer_notify_url: str = ""
    """Where MCHTRANSFER.BILL.FINISHED goes unless a transfer names its own."""

    def __repr__(self) -> str:
        return f"WeChatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, gateway={self.gateway!r})"

    @classmethod
    def from_simulator_keys(
        cls, keys: SimulatorKeys, *, notify_url: str, refund_notify_url: str, gateway: str,
        read_timeout: float = READ_TIMEOUT, transfer_notify_url: str = "",
    ) -> WeChatPayConfig:
        return cls(
            mchid=keys.mchid,
            appid=keys.appid,
            cert_serial_no=keys.merchant_cert_serial,
            private_key_pem=keys.merchant_private_key_pem,
            apiv3_key=keys.apiv3_key,
            public_key_pem=keys.platform_public_key_pem,
            public_key_id=keys.public_key_id,
            notify_url=notify_url,
            refund_notify_url=refund_notify_url,
            gateway=gateway,
            read_timeout=read_timeout,
            transfer_notify_url=transfer_notify_url,
        )


class WeChatPayError(Exception):
    """A failed API call. ``status`` 0 means no usable HTTP answer (``NETWORK`` or ``INVALID_RESPONSE_SIGNATURE``)."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"WeChat Pay {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.status in (0, 429) or self.status >= 500


class NotificationRejected(Exception):
    """A notification that must be answered with 4xx/5xx. ``reason`` is a short stable code for logs and metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def rfc3339(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("time_expire must be timezone-aware")
    return moment.astimezone(_CST).isoformat(timespec="seconds")


def _error_from(status: int, body: str | bytes) -> WeChatPayError:
    try:
        payload = json.loads(body)
    except (ValueError, TypeError):
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("code"), str):
        return WeChatPayError(status, payload["code"], str(payload.get("message", "")), payload.get("detail"))
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return WeChatPayError(status, f"HTTP_{status}", text[:200])


def _check_bill_no(out_bill_no: str) -> None:
    if not _BILL_NO.fullmatch(out_bill_no):
        raise ValueError("out_bill_no must be 1-32 letters and digits")


class WeChatPayGateway:
    """Use as ``async with WeChatPayGateway(config) as gw:`` (or ``await gw.start()`` ... ``await gw.aclose()``).

    ``transport`` replaces the network (`wechat.http`), e.g. ``httpx.ASGITransport(app=simulator)`` to talk to an
    in-process simulator.
    ``request_payment_params`` and ``parse_notification`` need no started client.
    """

    def __init__(self, config: WeChatPayConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._started = False
        try:
            self._wxpay = AsyncWeChatPay(
                wechatpay_type=WeChatPayType.MINIPROG,
                mchid=config.mchid,
                private_key=config.private_key_pem,
                cert_serial_no=config.cert_serial_no,
                appid=config.appid,
                apiv3_key=config.apiv3_key,
                notify_url=config.notify_url,
                public_key=config.public_key_pem,
                public_key_id=config.public_key_id,
                timeout=(CONNECT_TIMEOUT, config.read_timeout),
            )
        except Exception as exc:
            raise ValueError(f"invalid WeChat Pay key material: {exc}") from exc
        self._wxpay._core._gate_way = config.gateway.rstrip("/")
        platform_key = serialization.load_pem_public_key(config.public_key_pem.encode("ascii"))
        if not isinstance(platform_key, rsa.RSAPublicKey):
            raise ValueError("public_key_pem must be an RSA public key")
        self._platform_key = platform_key
        self._aead = AESGCM(config.apiv3_key.encode("utf-8"))

    async def start(self) -> None:
        if self._started:
            return
        await self._wxpay.__aenter__()
        await self._wxpay._core._client.aclose()  # the SDK's own client: replaced by one over `wechat.http`'s pool
        timeout = httpx.Timeout(self.config.read_timeout, connect=CONNECT_TIMEOUT)
        self._wxpay._core._client = (network_client(timeout) if self._transport is None
                                     else httpx.AsyncClient(transport=self._transport, timeout=timeout))
        self._started = True

    async def aclose(self) -> None:
        if self._started:
            self._started = False
            await self._wxpay.__aexit__(None, None, None)

    async def __aenter__(self) -> WeChatPayGateway:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _call(self, method: str | Callable[..., Awaitable[Any]], **kwargs: Any) -> tuple[int, str | bytes]:
        """``method``: a wechatpayv3 method name, or a coroutine function of ours (`_cancel_transfer_request`)."""
        if not self._started:
            raise RuntimeError("WeChatPayGateway is not started; use `async with` or `await start()`")
        call = method if callable(method) else getattr(self._wxpay, method)
        try:
            try:
                return await call(**kwargs)
            except _DROPPED_CONNECTION:
                # A kept-alive connection the gateway closed just as it was reused. Every call Pond makes is
                # idempotent at WeChat Pay (same out_trade_no / out_refund_no / out_bill_no): asking once more,
                # signed anew, is safe.
                return await call(**kwargs)
        except httpx.HTTPError as exc:
            raise WeChatPayError(0, "NETWORK", f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise WeChatPayError(0, "INVALID_RESPONSE_SIGNATURE", f"unusable response serial: {exc}") from exc
        except Exception as exc:
            if str(exc).startswith(_SDK_VERIFY_FAILURES):
                raise WeChatPayError(0, "INVALID_RESPONSE_SIGNATURE", str(exc)) from exc
            raise

    async def _json(self, method: str | Callable[..., Awaitable[Any]], **kwargs: Any) -> dict[str, Any]:
        status, body = await self._call(method, **kwargs)
        if status != 200:
            raise _error_from(status, body)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WeChatPayError(status, "INVALID_RESPONSE", "response body is not JSON") from exc
        if not isinstance(payload, dict):
            raise WeChatPayError(status, "INVALID_RESPONSE", "response body is not a JSON object")
        return payload

    async def prepay(
        self,
        *,
        out_trade_no: str,
        description: str,
        total_fen: int,
        openid: str,
        time_expire: dt.datetime,
        attach: str | None = None,
    ) -> str:
        if not _MERCHANT_NO.fullmatch(out_trade_no):
            raise ValueError("out_trade_no must be 6-32 characters of [0-9A-Za-z_-]")
        if isinstance(total_fen, bool) or not isinstance(total_fen, int) or total_fen <= 0:
            raise ValueError("total_fen must be a positive integer")
        payload = await self._json(
            "pay",
            description=description,
            out_trade_no=out_trade_no,
            amount={"total": total_fen, "currency": "CNY"},
            payer={"openid": openid},
            time_expire=rfc3339(time_expire),
            attach=attach,
            notify_url=self.config.notify_url,
        )
        prepay_id = payload.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayError(200, "INVALID_RESPONSE", "no prepay_id in the response")
        return prepay_id

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        time_stamp = str(int(time.time()))
        nonce_str = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        return {
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": self._wxpay.sign([self.config.appid, time_stamp, nonce_str, package]),
        }

    async def query(self, out_trade_no: str) -> dict[str, Any] | None:
        if not _MERCHANT_NO.fullmatch(out_trade_no):
            raise ValueError("out_trade_no must be 6-32 characters of [0-9A-Za-z_-]")
        try:
            return await self._json("query", out_trade_no=out_trade_no)
        except WeChatPayError as exc:
            if exc.status == 404 and exc.code == "ORDER_NOT_EXIST":
                return None
            raise

    async def close(self, out_trade_no: str) -> None:
        if not _MERCHANT_NO.fullmatch(out_trade_no):
            raise ValueError("out_trade_no must be 6-32 characters of [0-9A-Za-z_-]")
        status, body = await self._call("close", out_trade_no=out_trade_no)
        if status != 204:
            raise _error_from(status, body)

    async def refund(
        self, *, out_refund_no: str, out_trade_no: str, refund_fen: int, total_fen: int, reason: str | None = None
    ) -> dict[str, Any]:
        if not _REFUND_NO.fullmatch(out_refund_no):
            raise ValueError("out_refund_no must be 1-64 characters of [0-9A-Za-z_-]")
        for name, value in (("refund_fen", refund_fen), ("total_fen", total_fen)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer")
        return await self._json(
            "refund",
            out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            out_trade_no=out_trade_no,
            reason=reason,
            notify_url=self.config.refund_notify_url,
        )

    async def query_refund(self, out_refund_no: str) -> dict[str, Any] | None:
        if not _REFUND_NO.fullmatch(out_refund_no):
            raise ValueError("out_refund_no must be 1-64 characters of [0-9A-Za-z_-]")
        try:
            return await self._json("query_refund", out_refund_no=out_refund_no)
        except WeChatPayError as exc:
            if exc.status == 404 and exc.code == "RESOURCE_NOT_EXISTS":
                return None
            raise

    async def create_transfer(
        self,
        *,
        out_bill_no: str,
        openid: str,
        amount_fen: int,
        remark: str,
        scene_id: str,
        report_infos: list[dict[str, str]],
        user_recv_perception: str | None = None,
        notify_url: str | None = None,
    ) -> dict[str, Any]:
        """A merchant transfer (wechat.md §7.1), answered WAIT_USER_CONFIRM with a ``package_info``.

        Idempotent per out_bill_no at WeChat Pay: after no answer, ask again with the same number (or query it),
        never under a new one.
        """
        _check_bill_no(out_bill_no)
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError("amount_fen must be a positive integer")
        if amount_fen > MAX_TRANSFER_WITHOUT_NAME:
            raise ValueError("an amount_fen of 2,000 yuan or more needs the payee's real name: Pond sends none")
        if not openid or not remark or not scene_id:
            raise ValueError("openid, remark and scene_id are required")
        url = notify_url or self.config.transfer_notify_url
        if not url:
            raise ValueError("a transfer needs a notify_url (wechatpayv3 would send null)")
        return await self._json(
            "mch_transfer_bills",
            out_bill_no=out_bill_no,
            transfer_scene_id=scene_id,
            openid=openid,
            transfer_amount=amount_fen,
            transfer_remark=remark,
            user_recv_perception=user_recv_perception,
            transfer_scene_report_infos=report_infos,
            notify_url=url,
        )

    async def query_transfer(self, out_bill_no: str) -> dict[str, Any] | None:
        """The bill, or None when WeChat Pay has none under this number."""
        _check_bill_no(out_bill_no)
        try:
            return await self._json("mch_transfer_bills_query", out_bill_no=out_bill_no)
        except WeChatPayError as exc:
            if exc.status == 404 and exc.code == "NOT_FOUND":
                return None
            raise

    async def cancel_transfer(self, out_bill_no: str) -> dict[str, Any]:
        _check_bill_no(out_bill_no)
        return await self._json(self._cancel_transfer_request, out_bill_no=out_bill_no)

    async def _cancel_transfer_request(self, out_bill_no: str) -> tuple[int, str | bytes]:
        """wechatpayv3's ``mch_transfer_bills_cancel`` signs an empty body but sends ``null``, which fails the
        signature check: send ``{}`` signed as sent, through the SDK's own request (signing, serial, verifying)."""
        path = f"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}/cancel"
        result: tuple[int, str | bytes] = await self._wxpay._core.request(
            path, method=RequestType.POST, data={}, sign_data="{}"
        )
        return result

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: float | None = None
    ) -> dict[str, Any]:
        """Verify and decrypt a payment/refund notification (wechat.md §3.2, §4).

        Returns the envelope (``id``, ``event_type``, ...) with ``resource`` replaced by the decrypted dict, which
        carries ``mchid`` (and ``appid`` for transactions): checking them and the amount is the caller's job.
        Raises ``NotificationRejected`` and nothing else for any bad input.
        """
        try:
            return self._parse_notification(headers, body, time.time() if now is None else now)
        except NotificationRejected:
            raise
        except Exception as exc:
            raise NotificationRejected("malformed", f"{type(exc).__name__}: {exc}") from exc

    def _parse_notification(self, headers: Mapping[str, str], body: bytes, now: float) -> dict[str, Any]:
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        missing = [name for name in _REQUIRED_HEADERS if not lowered.get(name)]
        if missing:
            raise NotificationRejected("missing_headers", ", ".join(missing))
        if lowered["wechatpay-signature-type"] != SIGNATURE_TYPE:
            raise NotificationRejected("unsupported_signature_type", lowered["wechatpay-signature-type"])
        signature = lowered["wechatpay-signature"]
        if signature.startswith(SIGNTEST_PREFIX):
            raise NotificationRejected("signature_probe", "WECHATPAY/SIGNTEST/ signature")
        timestamp = lowered["wechatpay-timestamp"]
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise NotificationRejected("bad_timestamp", timestamp[:32])
        if abs(now - int(timestamp)) >= MAX_NOTIFICATION_SKEW:
            raise NotificationRejected("stale_timestamp", f"{int(now) - int(timestamp)} s off")
        if lowered["wechatpay-serial"] != self.config.public_key_id:
            raise NotificationRejected("unknown_serial", lowered["wechatpay-serial"][:64])
        raw = bytes(body)
        message = f"{timestamp}\n{lowered['wechatpay-nonce']}\n".encode() + raw + b"\n"
        try:
            self._platform_key.verify(
                base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise NotificationRejected("bad_signature") from exc
        try:
            envelope = json.loads(raw)
        except ValueError as exc:
            raise NotificationRejected("malformed", "body is not JSON") from exc
        if not isinstance(envelope, dict) or not envelope.get("id") or not envelope.get("event_type"):
            raise NotificationRejected("malformed", "not a notification envelope")
        envelope["resource"] = self._decrypt_resource(envelope)
        return envelope

    def _decrypt_resource(self, envelope: dict[str, Any]) -> dict[str, Any]:
        resource = envelope.get("resource")
        if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise NotificationRejected("unsupported_resource", str(envelope.get("resource_type"))[:64])
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("unsupported_resource", str(resource.get("algorithm"))[:64])
        nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
        associated_data = resource.get("associated_data") or ""
        if not (isinstance(nonce, str) and nonce and isinstance(ciphertext, str) and isinstance(associated_data, str)):
            raise NotificationRejected("malformed", "resource lacks nonce/ciphertext")
        try:
            plain = self._aead.decrypt(
                nonce.encode("utf-8"), base64.b64decode(ciphertext, validate=True), associated_data.encode("utf-8")
            )
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise NotificationRejected("decrypt_failed", "AES-GCM authentication failed") from exc
        try:
            decrypted = json.loads(plain)
        except ValueError as exc:
            raise NotificationRejected("malformed", "decrypted resource is not JSON") from exc
        if not isinstance(decrypted, dict):
            raise NotificationRejected("malformed", "decrypted resource is not an object")
        return decrypted
