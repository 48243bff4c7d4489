"""Request-body rules of the JSAPI order (wechat.md §2.1), refund (§6.1) and merchant transfer (§7.1) endpoints."""

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


OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{1,32}")
OPENID = re.compile(r"[0-9A-Za-z_-]{1,128}")
MIN_TRANSFER = 10
"""0.1 yuan: WeChat Pay refuses smaller transfers."""
NAME_REQUIRED_FROM = 200_000
"""From 2,000 yuan the payee's real name (user_name, encrypted) is required."""
MAX_TRANSFER = 2_000_000
"""The simulated merchant's per-bill limit (20,000 yuan; a real merchant sets its own in the merchant platform)."""
SCENE_REPORTS = {
    "1000": frozenset({"活动名称", "奖励说明"}),  # 现金营销
    "1005": frozenset({"岗位类型", "报酬说明"}),  # 佣金报酬
}
"""The scenes granted to the simulated merchant and the report lines each requires."""


@dataclass(frozen=True)
class TransferRequest:
    appid: str
    out_bill_no: str
    openid: str
    amount: int
    remark: str
    scene_id: str
    notify_url: str | None
    user_name: str | None
    """Still encrypted."""
    fingerprint: str


def _report_infos(scene_id: str, value: Any) -> None:
    field = "transfer_scene_report_infos"
    if not isinstance(value, list) or not value:
        raise param_error(field, value, f"is required for transfer_scene_id {scene_id}")
    kinds: list[str] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"info_type", "info_content"}:
            raise param_error(field, value, "each entry is {info_type, info_content}")
        kinds.append(_check_string(f"{field}.info_type", item["info_type"], 15))
        _check_string(f"{field}.info_content", item["info_content"], 32)
    if len(kinds) != len(set(kinds)) or set(kinds) != SCENE_REPORTS[scene_id]:
        expected = "、".join(sorted(SCENE_REPORTS[scene_id]))
        raise param_error(field, value, f"scene {scene_id} reports exactly: {expected}")


def validate_transfer(data: dict[str, Any], *, appid: str, allow_http_notify: bool) -> TransferRequest:
    body_appid = _required(data, "appid", max_len=32)
    if body_appid != appid:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid is not bound to this mchid")
    out_bill_no = data.get("out_bill_no")
    if not isinstance(out_bill_no, str) or not OUT_BILL_NO.fullmatch(out_bill_no):
        raise param_error("out_bill_no", out_bill_no, "must be 1-32 letters and digits")
    scene_id = data.get("transfer_scene_id")
    if not isinstance(scene_id, str) or not scene_id.isdigit():
        raise param_error("transfer_scene_id", scene_id, "must be a scene id string such as 1005")
    if scene_id not in SCENE_REPORTS:
        raise ApiError(403, "NO_AUTH", f"转账场景 {scene_id} 未开通")
    openid = data.get("openid")
    if not isinstance(openid, str) or not OPENID.fullmatch(openid):
        raise param_error("openid", openid, "must be the payee's openid under this appid")
    amount = data.get("transfer_amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise param_error("transfer_amount", amount, "must be an integer number of fen")
    if amount < MIN_TRANSFER:
        raise param_error("transfer_amount", amount, "转账金额不能低于 0.1 元")
    if amount > MAX_TRANSFER:
        raise ApiError(400, "INVALID_REQUEST", "转账金额超过单笔限额")
    user_name = data.get("user_name")
    if user_name is not None:
        user_name = _check_string("user_name", user_name, 2048)
    if amount >= NAME_REQUIRED_FROM and user_name is None:
        raise param_error("user_name", None, "is required from 2000 yuan on")
    remark = _required(data, "transfer_remark", max_len=32)
    notify_url = data.get("notify_url")
    if notify_url is not None:
        notify_url = check_notify_url("notify_url", notify_url, allow_http=allow_http_notify)
    _optional(data, "user_recv_perception", max_len=32)
    _report_infos(scene_id, data.get("transfer_scene_report_infos"))
    return TransferRequest(
        appid=body_appid,
        out_bill_no=out_bill_no,
        openid=openid,
        amount=amount,
        remark=remark,
        scene_id=scene_id,
        notify_url=notify_url,
        user_name=user_name,
        fingerprint=fingerprint({k: v for k, v in data.items() if k != "user_name"}),  # OAEP: new ciphertext each time
    )
