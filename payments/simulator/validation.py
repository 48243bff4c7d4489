"""Request-body rules of the JSAPI order (wechat.md §2.1) and refund (§6.1) endpoints."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from payments.simulator.models import ApiError

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class JsapiOrder:
    appid: str
    mchid: str
    description: str
    out_trade_no: str
    notify_url: str
    total: int
    currency: str
    openid: str
    attach: str | None
    time_expire: float | None
    fingerprint: str


@dataclass(frozen=True)
class RefundRequest:
    out_refund_no: str
    out_trade_no: str | None
    transaction_id: str | None
    refund: int
    total: int
    currency: str
    reason: str | None
    notify_url: str | None


def param_error(field: str, value: Any, issue: str) -> ApiError:
    return ApiError(
        400,
        "PARAM_ERROR",
        f"{field}: {issue}",
        {"field": field, "value": value, "issue": issue, "location": "body"},
    )


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "PARAM_ERROR", "request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "PARAM_ERROR", "request body must be a JSON object")
    return data


def fingerprint(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _check_string(field: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise param_error(field, value, "must be a non-empty string")
    if len(value) > max_len:
        raise param_error(field, value, f"must be at most {max_len} characters")
    return value


def _optional(data: dict[str, Any], field: str, *, max_len: int) -> str | None:
    value = data.get(field)
    return None if value is None else _check_string(field, value, max_len)


def _required(data: dict[str, Any], field: str, *, max_len: int) -> str:
    value = data.get(field)
    if value is None:
        raise param_error(field, value, "is required")
    return _check_string(field, value, max_len)


def _fen(amount: dict[str, Any], field: str) -> int:
    value = amount.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise param_error(f"amount.{field}", value, "must be a positive integer number of fen")
    return value


def _amount(data: dict[str, Any]) -> dict[str, Any]:
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise param_error("amount", amount, "is required and must be an object")
    currency = amount.get("currency", "CNY")
    if currency != "CNY":
        raise param_error("amount.currency", currency, "only CNY is supported")
    return amount


def check_notify_url(field: str, url: Any, *, allow_http: bool) -> str:
    if not isinstance(url, str) or not url or len(url) > 255:
        raise param_error(field, url, "must be a URL of at most 255 characters")
    parts = urlsplit(url)
    local_http = allow_http and parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if parts.scheme != "https" and not local_http:
        raise param_error(field, url, "must be an https URL")
    if not parts.netloc or parts.query or parts.fragment or "?" in url:
        raise param_error(field, url, "must be an absolute URL without a query string")
    return url


def parse_rfc3339(field: str, value: Any) -> float:
    if not isinstance(value, str) or "T" not in value:
        raise param_error(field, value, "must be an RFC3339 date-time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise param_error(field, value, "must be an RFC3339 date-time") from exc
    if parsed.tzinfo is None:
        raise param_error(field, value, "must carry a UTC offset")
    return parsed.timestamp()


def validate_jsapi(data: dict[str, Any], *, mchid: str, appid: str, allow_http_notify: bool) -> JsapiOrder:
    body_appid = _required(data, "appid", max_len=32)
    body_mchid = _required(data, "mchid", max_len=32)
    if body_mchid != mchid:
        raise ApiError(400, "MCH_NOT_EXISTS", "mchid does not match the signing merchant")
    if body_appid != appid:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid is not bound to this mchid")
    description = _required(data, "description", max_len=127)
    out_trade_no = data.get("out_trade_no")
    if not isinstance(out_trade_no, str) or not OUT_TRADE_NO.fullmatch(out_trade_no):
        raise param_error("out_trade_no", out_trade_no, "must be 6-32 characters of 0-9 a-z A-Z _ - | *")
    notify_url = check_notify_url("notify_url", data.get("notify_url"), allow_http=allow_http_notify)
    amount = _amount(data)
    payer = data.get("payer")
    if not isinstance(payer, dict):
        raise param_error("payer", payer, "is required and must be an object")
    openid = _required(payer, "openid", max_len=128)
    time_expire = data.get("time_expire")
    return JsapiOrder(
        appid=body_appid,
        mchid=body_mchid,
        description=description,
        out_trade_no=out_trade_no,
        notify_url=notify_url,
        total=_fen(amount, "total"),
        currency="CNY",
        openid=openid,
        attach=_optional(data, "attach", max_len=128),
        time_expire=None if time_expire is None else parse_rfc3339("time_expire", time_expire),
        fingerprint=fingerprint(data),
    )


def validate_refund(data: dict[str, Any], *, allow_http_notify: bool) -> RefundRequest:
    out_refund_no = data.get("out_refund_no")
    if not isinstance(out_refund_no, str) or not OUT_REFUND_NO.fullmatch(out_refund_no):
        raise param_error("out_refund_no", out_refund_no, "must be 1-64 characters of 0-9 a-z A-Z _ - | * @")
    out_trade_no = _optional(data, "out_trade_no", max_len=32)
    transaction_id = _optional(data, "transaction_id", max_len=32)
    if not (out_trade_no or transaction_id):
        raise param_error("out_trade_no", None, "one of transaction_id or out_trade_no is required")
    notify_url = data.get("notify_url")
    if notify_url is not None:
        notify_url = check_notify_url("notify_url", notify_url, allow_http=allow_http_notify)
    amount = _amount(data)
    return RefundRequest(
        out_refund_no=out_refund_no,
        out_trade_no=out_trade_no,
        transaction_id=transaction_id,
        refund=_fen(amount, "refund"),
        total=_fen(amount, "total"),
        currency="CNY",
        reason=_optional(data, "reason", max_len=80),
        notify_url=notify_url,
    )
