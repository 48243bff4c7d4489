from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import wechat.client as client_module
from wechat.client import WeChatApiError, WeChatClient, WeChatSession
from wechat.simulator import create_wechat_simulator

APPID = "wx0123456789abcdef"
SECRET = "TOP-SECRET-d41d8cd98f00b204e980"
API_BASE = "https://api.weixin.test"
OK_REPLY = {"session_key": "tiihtNczf5v6AKRyjwEUhQ==", "openid": "oUser123", "unionid": "oUnion456"}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply


def json_reply(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "text/plain"})


def client_for(handler: Handler, *, retries: int = 2) -> WeChatClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WeChatClient(APPID, SECRET, api_base=API_BASE, http=http, retries=retries, backoff=0)


async def raised(client: WeChatClient, code: str = "alice#1") -> WeChatApiError:
    with pytest.raises(WeChatApiError) as caught:
        await client.code2session(code)
    return caught.value


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "_sleep", fake_sleep)
    return recorded


async def test_code2session_sends_the_documented_request() -> None:
    recorder = Recorder(json_reply(OK_REPLY))
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = WeChatClient(APPID, SECRET, api_base=API_BASE + "/", http=http)

    session = await client.code2session("alice#1 &=?")

    (request,) = recorder.requests
    assert request.method == "GET"
    assert f"{request.url.scheme}://{request.url.host}{request.url.path}" == API_BASE + "/sns/jscode2session"
    assert dict(request.url.params) == {
        "appid": APPID,
        "secret": SECRET,
        "js_code": "alice#1 &=?",
        "grant_type": "authorization_code",
    }
    assert session == WeChatSession(openid="oUser123", unionid="oUnion456", session_key="tiihtNczf5v6AKRyjwEUhQ==")


@pytest.mark.parametrize("extra", [{}, {"errcode": 0, "errmsg": "ok"}, {"errcode": "0"}])
async def test_missing_or_zero_errcode_means_success(extra: dict[str, Any]) -> None:
    session = await client_for(Recorder(json_reply(OK_REPLY | extra))).code2session("alice")

    assert session.openid == "oUser123"


@pytest.mark.parametrize("unionid", [None, ""])
async def test_absent_unionid_becomes_none(unionid: str | None) -> None:
    body = {"openid": "oUser123", "session_key": "k" * 24}
    if unionid is not None:
        body["unionid"] = unionid

    assert (await client_for(Recorder(json_reply(body))).code2session("alice")).unionid is None


async def test_busy_is_retried_with_exponential_backoff_then_raises(sleeps: list[float]) -> None:
    recorder = Recorder(json_reply({"errcode": -1, "errmsg": "system error"}))
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    client = WeChatClient(APPID, SECRET, api_base=API_BASE, http=http, retries=3, backoff=0.2)

    error = await raised(client)

    assert (error.errcode, error.errmsg) == (-1, "system error")
    assert len(recorder.requests) == 4
    assert sleeps == pytest.approx([0.2, 0.4, 0.8])


async def test_busy_then_success_returns_the_session(sleeps: list[float]) -> None:
    recorder = Recorder(json_reply({"errcode": -1, "errmsg": "system error"}), json_reply(OK_REPLY))

    session = await client_for(recorder).code2session("alice")

    assert session.openid == "oUser123"
    assert len(recorder.requests) == 2


async def test_zero_retries_means_a_single_attempt(sleeps: list[float]) -> None:
    recorder = Recorder(json_reply({"errcode": -1, "errmsg": "system error"}))

    assert (await raised(client_for(recorder, retries=0))).errcode == -1
    assert len(recorder.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("errcode", [40029, 40163, 40226, 45011, 40013, 40125])
async def test_non_busy_errors_raise_at_once_without_retry(errcode: int, sleeps: list[float]) -> None:
    recorder = Recorder(json_reply({"errcode": errcode, "errmsg": f"error {errcode}, rid: 1-2-3"}))

    error = await raised(client_for(recorder))

    assert (error.errcode, error.errmsg) == (errcode, f"error {errcode}, rid: 1-2-3")
    assert len(recorder.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(502, json=OK_REPLY),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, content=b""),
        httpx.Response(200, content=b"\xff\xfe\x00"),
        json_reply(["openid", "oUser123"]),
        json_reply({"errcode": "abc", "errmsg": "?"}),
    ],
)
async def test_client_raises_on_http_500_and_bad_json(reply: httpx.Response, sleeps: list[float]) -> None:
    recorder = Recorder(reply)

    error = await raised(client_for(recorder))

    assert error.errcode == -1
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("connection refused"), httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("eof")],
)
async def test_network_errors_and_timeouts_are_retried_then_raise(exc: Exception, sleeps: list[float]) -> None:
    recorder = Recorder(exc)

    error = await raised(client_for(recorder))

    assert error.errcode == -1
    assert type(exc).__name__ in error.errmsg
    assert len(recorder.requests) == 3


async def test_transient_http_failure_then_success_returns_the_session(sleeps: list[float]) -> None:
    recorder = Recorder(httpx.Response(503), httpx.ConnectTimeout("slow"), json_reply(OK_REPLY))

    assert (await client_for(recorder).code2session("alice")).unionid == "oUnion456"
    assert len(recorder.requests) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"session_key": "k" * 24, "unionid": "oUnion456"},
        {"openid": "", "session_key": "k" * 24},
        {"openid": "oUser123"},
        {"errcode": 0, "errmsg": "ok"},
    ],
)
async def test_reply_without_openid_or_session_key_is_an_error_and_not_retried(
    body: dict[str, Any], sleeps: list[float]
) -> None:
    recorder = Recorder(json_reply(body))

    assert (await raised(client_for(recorder))).errcode == -1
    assert len(recorder.requests) == 1


def secret_leaking_transport_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.url}", request=request)


def secret_echoing_reply(request: httpx.Request) -> httpx.Response:
    return json_reply({"errcode": 40125, "errmsg": f"invalid appsecret {request.url.params['secret']}, rid: 1"})


@pytest.mark.parametrize(
    "handler",
    [
        secret_leaking_transport_error,
        secret_echoing_reply,
        lambda request: httpx.Response(500, text=str(request.url)),
        lambda request: httpx.Response(200, text=str(request.url)),
    ],
)
async def test_client_never_puts_secret_in_error_text(handler: Handler, sleeps: list[float]) -> None:
    error = await raised(client_for(handler))
    rendered = [str(error), repr(error), error.errmsg, "".join(traceback.format_exception(error))]

    assert all(SECRET not in text for text in rendered)
    assert error.errcode in (-1, 40125)


def test_error_keeps_errcode_and_errmsg() -> None:
    error = WeChatApiError(40029, "invalid code")

    assert (error.errcode, error.errmsg) == (40029, "invalid code")
    assert str(error) == "WeChat API error 40029: invalid code"


def test_session_repr_hides_session_key() -> None:
    session = WeChatSession(openid="oUser123", unionid=None, session_key="tiihtNczf5v6AKRyjwEUhQ==")

    assert "tiihtNczf5v6AKRyjwEUhQ==" not in repr(session)
    assert "oUser123" in repr(session)


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="retries"):
        WeChatClient(APPID, SECRET, retries=-1)


async def test_aclose_closes_only_a_client_it_created() -> None:
    shared = httpx.AsyncClient()
    borrowed = WeChatClient(APPID, SECRET, http=shared)
    owned = WeChatClient(APPID, SECRET)

    await borrowed.aclose()
    await owned.aclose()

    assert shared.is_closed is False
    assert owned._http.is_closed is True
    await shared.aclose()


async def test_own_client_uses_connect_3s_read_5s_timeout() -> None:
    client = WeChatClient(APPID, SECRET)
    timeout = client._http.timeout
    await client.aclose()

    assert (timeout.connect, timeout.read) == (3.0, 5.0)


async def test_client_logs_in_against_the_simulator_over_asgi() -> None:
    sim = create_wechat_simulator(APPID, SECRET)
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat-sim") as http:
        client = WeChatClient(APPID, SECRET, api_base="http://wechat-sim", http=http)
        code = (await http.post("/__sim/wx/login", json={"user": "alice"})).json()["code"]

        session = await client.code2session(code)
        reused = await raised(client, code)

    assert session.openid.startswith("o") and len(session.openid) == 28
    assert reused.errcode == 40163
