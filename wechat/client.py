"""Async client for WeChat's mini-program server API (api.weixin.qq.com).

Only code2Session lives here for now. The client never logs and never puts the app secret or a
session_key into an exception, a repr or a chained traceback.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
SYSTEM_BUSY = -1
_MAX_ERRMSG_CHARS = 200

_sleep = asyncio.sleep


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def __str__(self) -> str:
        return f"WeChat API error {self.errcode}: {self.errmsg}"


class WeChatClient:
    def __init__(
        self,
        appid: str,
        secret: str,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.AsyncClient | None = None,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._appid = appid
        self._secret = secret
        self._api_base = api_base.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._retries = retries
        self._backoff = backoff

    async def code2session(self, code: str) -> WeChatSession:
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        return _session_from(await self._get_with_retries("/sns/jscode2session", params))

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _get_with_retries(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._get_once(path, params)
            except WeChatApiError as exc:
                if exc.errcode != SYSTEM_BUSY or attempt >= self._retries:
                    raise
            await _sleep(self._backoff * 2**attempt)
            attempt += 1

    async def _get_once(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.get(self._api_base + path, params=params)
        except httpx.TimeoutException as exc:
            raise WeChatApiError(SYSTEM_BUSY, f"timed out talking to WeChat ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise WeChatApiError(SYSTEM_BUSY, f"network error talking to WeChat ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise WeChatApiError(SYSTEM_BUSY, f"WeChat answered HTTP {response.status_code}")
        payload = _parse_json_object(response.content)
        errcode = _errcode(payload)
        if errcode != 0:
            raise WeChatApiError(errcode, self._scrub(str(payload.get("errmsg", ""))))
        return payload

    def _scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
        return text[:_MAX_ERRMSG_CHARS]


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WeChatApiError(SYSTEM_BUSY, "WeChat answered with invalid JSON") from None
    if not isinstance(payload, dict):
        raise WeChatApiError(SYSTEM_BUSY, "WeChat answered with JSON that is not an object")
    return payload


def _errcode(payload: dict[str, Any]) -> int:
    value = payload.get("errcode", 0)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WeChatApiError(SYSTEM_BUSY, "WeChat answered with a non-numeric errcode") from None


def _session_from(payload: dict[str, Any]) -> WeChatSession:
    openid = payload.get("openid")
    session_key = payload.get("session_key")
    if not isinstance(openid, str) or not openid:
        raise WeChatApiError(SYSTEM_BUSY, "WeChat reply has no openid")
    if not isinstance(session_key, str) or not session_key:
        raise WeChatApiError(SYSTEM_BUSY, "WeChat reply has no session_key")
    unionid = payload.get("unionid")
    return WeChatSession(openid, unionid if isinstance(unionid, str) and unionid else None, session_key)
