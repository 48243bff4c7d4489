"""In-process stand-in for api.weixin.qq.com's code2Session (``GET /sns/jscode2session``).

Build it with ``create_wechat_simulator(appid, secret)`` and talk to it over
``httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://wechat-sim")``,
or serve it with uvicorn. State lives in memory, per app object.

Login codes (what ``wx.login()`` would hand the mini-program):

* A code is ``<user>`` or ``<user>#<anything>``, where ``<user>`` matches ``[A-Za-z0-9_-]{1,40}``
  (for example ``alice``, ``alice#1``, ``alice#2024-06-01T10:00``). Anything else → 40029 "invalid code".
  A missing or empty ``js_code`` → 41008 "missing code".
* The user decides the identity: the openid is the same for every code of one user in one appid,
  ``"o" + urlsafe_b64(sha256(f"{appid}:{user}"))[:27]`` (28 chars). The unionid is
  ``"o" + urlsafe_b64(sha256(f"unionid:{user}"))[:27]``: the same for one user across every simulated appid,
  as if all of them were bound to one Open Platform account. Each successful call returns a fresh random
  ``session_key`` (16 random bytes, standard base64, 24 chars).
* Every exact code string works once; using it again → 40163 "code been used". So in the mini-program
  simulator, make ``wx.login`` return a new string each time (``alice#1``, ``alice#2``, ...) or mint codes.
* ``POST /__sim/wx/login`` with ``{"user": "alice"}`` mints ``{"code": "alice#<random>"}``. A minted code expires
  300 s (simulator clock) after it was minted → 40029. Hand-written codes never expire.
* Users whose name starts with ``risky`` → 40226 (high-risk user, login blocked).
  The user ``busy`` → -1 (system busy) on every call; the code is not consumed.
* More than 100 calls for one user within 60 s → 45011 (rate limit).
* Config errors: missing appid → 41002, wrong appid → 40013, missing secret → 41004, wrong secret → 40125,
  ``grant_type`` other than ``authorization_code`` → 40002.

Replies are always HTTP 200 with a JSON body served as ``text/plain`` (as WeChat does [UNVERIFIED]).
Success: ``{"session_key", "openid", "unionid"}`` with no ``errcode`` key. Error:
``{"errcode": N, "errmsg": "<message>, rid: <request id>"}``. Match on ``errcode``, never on ``errmsg``.

Checks run in this order: credentials, code syntax, minted-code expiry, reuse, rate limit, busy, risky.

Access token and mini-program codes:

* ``POST /cgi-bin/stable_token`` with JSON ``{grant_type: client_credential, appid, secret, force_refresh}``:
  ``{"access_token", "expires_in": 7200}``, the same token until it expires (``force_refresh`` mints a new one and
  the old one stops working). Bad credentials as above (40013, 40125, 40002).
* ``POST /wxa/getwxacodeunlimit?access_token=…`` with a JSON body: a bad token → 40001; a scene missing, over 32
  characters or outside WeChat's character set → 40129; a page with a leading ``/`` or a query → 41030. Success is a
  small real PNG (``image/png``) whose tEXt chunks ``scene`` and ``page`` carry what was asked, so tests can read
  them back (``png_text``). ``app.state.wxacode_calls`` counts the successful calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CODE_TTL_SECONDS = 300.0
RATE_LIMIT_CALLS = 100
RATE_LIMIT_WINDOW_SECONDS = 60.0
BUSY_USER = "busy"
RISKY_USER_PREFIX = "risky"

_USER_PATTERN = r"[A-Za-z0-9_-]{1,40}"
_USER_RE = re.compile(_USER_PATTERN)
_CODE_RE = re.compile(rf"({_USER_PATTERN})(?:#.*)?", re.DOTALL)

_ERRMSG = {
    -1: "system error",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
}

Reply = dict[str, Any]


def openid_for(appid: str, user: str) -> str:
    return _derive_id(f"{appid}:{user}")


def unionid_for(user: str) -> str:
    return _derive_id(f"unionid:{user}")


def _derive_id(material: str) -> str:
    digest = hashlib.sha256(material.encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def _error(errcode: int) -> Reply:
    rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
    return {"errcode": errcode, "errmsg": f"{_ERRMSG[errcode]}, rid: {rid}"}


def _success(appid: str, user: str) -> Reply:
    return {
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "openid": openid_for(appid, user),
        "unionid": unionid_for(user),
    }


@dataclass
class _LoginState:
    appid: str
    clock: Callable[[], float]
    lock: threading.Lock = field(default_factory=threading.Lock)
    minted_at: dict[str, float] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    calls: dict[str, deque[float]] = field(default_factory=dict)

    def mint(self, user: str) -> str:
        code = f"{user}#{secrets.token_urlsafe(18)}"
        with self.lock:
            self.minted_at[code] = self.clock()
        return code

    def redeem(self, code: str) -> Reply:
        match = _CODE_RE.fullmatch(code)
        if match is None:
            return _error(40029)
        user = match.group(1)
        with self.lock:
            errcode = self._refusal(code, user, self.clock())
            if errcode is None:
                self.used.add(code)
        return _success(self.appid, user) if errcode is None else _error(errcode)

    def _refusal(self, code: str, user: str, now: float) -> int | None:
        minted_at = self.minted_at.get(code)
        if minted_at is not None and now - minted_at > CODE_TTL_SECONDS:
            return 40029
        if code in self.used:
            return 40163
        if not self._take_rate_slot(user, now):
            return 45011
        if user == BUSY_USER:
            return -1
        if user.startswith(RISKY_USER_PREFIX):
            return 40226
        return None

    def _take_rate_slot(self, user: str, now: float) -> bool:
        window = self.calls.setdefault(user, deque())
        while window and window[0] <= now - RATE_LIMIT_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= RATE_LIMIT_CALLS:
            return False
        window.append(now)
        return True


def _credential_error(query: Mapping[str, str], appid: str, secret: str) -> int | None:
    given_appid = query.get("appid", "")
    given_secret = query.get("secret", "")
    if not given_appid:
        return 41002
    if not hmac.compare_digest(given_appid.encode(), appid.encode()):
        return 40013
    if not given_secret:
        return 41004
    if not hmac.compare_digest(given_secret.encode(), secret.encode()):
        return 40125
    if query.get("grant_type") != "authorization_code":
        return 40002
    if not query.get("js_code"):
        return 41008
    return None


def _wechat_reply(body: Reply) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status_code=200, media_type="text/plain")


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _read_user(request: Request) -> str | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    user = body.get("user") if isinstance(body, dict) else None
    return user if isinstance(user, str) and _USER_RE.fullmatch(user) else None


TOKEN_SECONDS = 7200
SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")


@dataclass
class _TokenState:
    clock: Callable[[], float]
    token: str = ""
    expires_at: float = 0.0

    def stable(self, force_refresh: bool) -> Reply:
        now = self.clock()
        if force_refresh or not self.token or now >= self.expires_at:
            self.token = secrets.token_urlsafe(96)
            self.expires_at = now + TOKEN_SECONDS
        return {"access_token": self.token, "expires_in": int(self.expires_at - now)}

    def valid(self, token: str | None) -> bool:
        return bool(token) and token == self.token and self.clock() < self.expires_at


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def code_png(scene: str, page: str, size: int = 21) -> bytes:
    """A small grey-scale PNG: a pattern drawn from the scene's hash (not a scannable code), and the scene and page
    in tEXt chunks."""
    bits = int.from_bytes(hashlib.sha256(scene.encode()).digest() * 2, "big")
    rows = b"".join(b"\x00" + bytes(0 if bits >> ((y * size + x) % 512) & 1 else 255 for x in range(size))
                    for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"tEXt", b"scene\x00" + scene.encode())
            + _chunk(b"tEXt", b"page\x00" + page.encode()) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def png_text(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG (what code_png wrote)."""
    found, at = {}, 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, data = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        if kind == b"tEXt":
            key, _, value = data.partition(b"\x00")
            found[key.decode()] = value.decode()
        at += 12 + length
    return found


def _token_reply(body: Any, appid: str, secret: str, tokens: _TokenState) -> Reply:
    if not isinstance(body, dict):
        return _error(40002)
    errcode = _credential_error({"appid": str(body.get("appid", "")), "secret": str(body.get("secret", "")),
                                 "grant_type": "authorization_code" if body.get("grant_type") == "client_credential"
                                 else "", "js_code": "-"}, appid, secret)
    return _error(errcode) if errcode is not None else tokens.stable(body.get("force_refresh") is True)


def create_wechat_simulator(appid: str, secret: str, *, clock: Callable[[], float] = time.time) -> Starlette:
    state = _LoginState(appid=appid, clock=clock)
    tokens = _TokenState(clock=clock)

    async def jscode2session(request: Request) -> Response:
        query = request.query_params
        errcode = _credential_error(query, appid, secret)
        body = _error(errcode) if errcode is not None else state.redeem(query["js_code"])
        return _wechat_reply(body)

    async def sim_login(request: Request) -> Response:
        user = await _read_user(request)
        if user is None:
            return _bad_request('send JSON {"user": "<name>"} where name matches ' + _USER_PATTERN)
        return JSONResponse({"code": state.mint(user)})

    async def stable_token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        return _wechat_reply(_token_reply(body, appid, secret, tokens))

    async def wxacode(request: Request) -> Response:
        if not tokens.valid(request.query_params.get("access_token")):
            return _wechat_reply({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _wechat_reply({"errcode": 40169, "errmsg": "invalid length for scene, or the data is not json"})
        scene, page = body.get("scene"), body.get("page", "")
        if not isinstance(scene, str) or SCENE_RE.fullmatch(scene) is None:
            return _wechat_reply({"errcode": 40129, "errmsg": "invalid scene"})
        if not isinstance(page, str) or page.startswith("/") or "?" in page:
            return _wechat_reply({"errcode": 41030, "errmsg": "invalid page"})
        app.state.wxacode_calls += 1
        return Response(code_png(scene, page), media_type="image/png")

    app = Starlette(
        routes=[
            Route("/sns/jscode2session", jscode2session, methods=["GET"]),
            Route("/__sim/wx/login", sim_login, methods=["POST"]),
            Route("/cgi-bin/stable_token", stable_token, methods=["POST"]),
            Route("/wxa/getwxacodeunlimit", wxacode, methods=["POST"]),
        ]
    )
    app.state.wxacode_calls = 0
    return app
