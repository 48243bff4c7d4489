"""Async client for WeChat's mini-program server API (api.weixin.qq.com).

code2Session, the stable access token (cached in the process, refreshed by one caller when under five minutes
are left) and wxacode.getUnlimited (mini-program code images). The client never logs and never puts the app secret or a
session_key into an exception, a repr or a chained traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from wechat.http import network_client

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
SYSTEM_BUSY = -1
TOKEN_REJECTED = frozenset({40001, 42001, 40014})
TOKEN_REFRESH_MARGIN = 300.0
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
        self._http = http if http is not None else network_client(DEFAULT_TIMEOUT)
        self._retries = retries
        self._backoff = backoff
        self._token: tuple[str, float] | None = None  # (access token, monotonic time it must be refreshed by)
        self._token_lock = asyncio.Lock()

    async def code2session(self, code: str) -> WeChatSession:
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        return _session_from(await self._get_with_retries("/sns/jscode2session", params))

    async def access_token(self, *, stale: str | None = None) -> str:
        """The stable access token (``/cgi-bin/stable_token``, normal mode). One caller refreshes at a time; `stale`
        is a token a downstream API just refused, fetched again (normal mode is idempotent)."""
        async with self._token_lock:
            token = self._token
            if token is not None and token[0] != stale and time.monotonic() < token[1]:
                return token[0]
            body = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret,
                    "force_refresh": False}
            payload = await self._post_json("/cgi-bin/stable_token", None, body)
            access_token, expires_in = payload.get("access_token"), payload.get("expires_in")
            if not isinstance(access_token, str) or not access_token or not isinstance(expires_in, int):
                raise WeChatApiError(SYSTEM_BUSY, "WeChat reply has no access_token")
            self._token = (access_token, time.monotonic() + max(expires_in - TOKEN_REFRESH_MARGIN, 0))
            return access_token

    async def wxacode_unlimited(self, scene: str, page: str) -> bytes:
        """A mini-program code image (PNG) opening `page` with `scene` (wxacode.getUnlimited). A refused token is
        fetched again and the call retried once."""
        body = {"scene": scene, "page": page, "check_path": False}
        token = await self.access_token()
        try:
            return await self._post_image("/wxa/getwxacodeunlimit", token, body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_REJECTED:
                raise
        return await self._post_image("/wxa/getwxacodeunlimit", await self.access_token(stale=token), body)

    async def _post(self, path: str, token: str | None, body: dict[str, Any]) -> httpx.Response:
        params = {"access_token": token} if token else None
        try:
            response = await self._http.post(self._api_base + path, params=params, json=body)
        except httpx.TimeoutException as exc:
            raise WeChatApiError(SYSTEM_BUSY, f"timed out talking to WeChat ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise WeChatApiError(SYSTEM_BUSY, f"network error talking to WeChat ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise WeChatApiError(SYSTEM_BUSY, f"WeChat answered HTTP {response.status_code}")
        return response

    async def _post_json(self, path: str, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
        payload = _parse_json_object((await self._post(path, token, body)).content)
        errcode = _errcode(payload)
        if errcode != 0:
            raise WeChatApiError(errcode, self._scrub(str(payload.get("errmsg", ""))))
        return payload

    async def _post_image(self, path: str, token: str, body: dict[str, Any]) -> bytes:
        """WeChat answers an image on success and JSON on failure: branch on the content type."""
        response = await self._post(path, token, body)
        if response.headers.get("content-type", "").startswith("image/"):
            return response.content
        payload = _parse_json_object(response.content)
        raise WeChatApiError(_errcode(payload) or SYSTEM_BUSY, self._scrub(str(payload.get("errmsg", ""))))

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
