from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from wechat.client import WeChatApiError, WeChatClient, WeChatSession
from wechat.simulator import create_wechat_simulator

APPID = "wx0123456789abcdef"
SECRET = "sim-secret-0123456789abcdef0123"
BASE_URL = "http://wechat-sim"


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def expected_id(material: str) -> str:
    return "o" + base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()).decode()[:27]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Starlette:
    return create_wechat_simulator(APPID, SECRET, clock=clock)


@pytest.fixture
async def http(sim: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=BASE_URL) as client:
        yield client


def make_client(http: httpx.AsyncClient, *, appid: str = APPID, secret: str = SECRET) -> WeChatClient:
    return WeChatClient(appid, secret, api_base=BASE_URL, http=http, retries=2, backoff=0)


@pytest.fixture
def wechat(http: httpx.AsyncClient) -> WeChatClient:
    return make_client(http)


async def mint(http: httpx.AsyncClient, user: str) -> str:
    response = await http.post("/__sim/wx/login", json={"user": user})
    assert response.status_code == 200
    return response.json()["code"]


async def errcode_for(wechat: WeChatClient, code: str) -> int:
    with pytest.raises(WeChatApiError) as caught:
        await wechat.code2session(code)
    return caught.value.errcode


async def raw_call(http: httpx.AsyncClient, **overrides: str | None) -> httpx.Response:
    params: dict[str, str | None] = {
        "appid": APPID, "secret": SECRET, "js_code": "alice", "grant_type": "authorization_code"
    }
    params.update(overrides)
    return await http.get("/sns/jscode2session", params={k: v for k, v in params.items() if v is not None})


async def test_minted_code_logs_in_with_deterministic_ids_and_fresh_session_key(
    http: httpx.AsyncClient, wechat: WeChatClient
) -> None:
    session = await wechat.code2session(await mint(http, "alice"))

    assert session.openid == expected_id(f"{APPID}:alice")
    assert len(session.openid) == 28
    assert session.unionid == expected_id("unionid:alice")
    assert len(session.session_key) == 24
    assert len(base64.b64decode(session.session_key, validate=True)) == 16


async def test_same_user_gets_same_openid_across_codes(http: httpx.AsyncClient, wechat: WeChatClient) -> None:
    first = await wechat.code2session(await mint(http, "alice"))
    second = await wechat.code2session("alice#typed-by-hand")
    other = await wechat.code2session("bob")

    assert (first.openid, first.unionid) == (second.openid, second.unionid)
    assert first.session_key != second.session_key
    assert other.openid != first.openid
    assert other.unionid != first.unionid


async def test_openid_depends_on_appid_but_unionid_does_not(clock: FakeClock) -> None:
    other_app = create_wechat_simulator("wxfedcba9876543210", SECRET, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other_app), base_url=BASE_URL) as http:
        session = await make_client(http, appid="wxfedcba9876543210").code2session("alice")

    assert session.openid == expected_id("wxfedcba9876543210:alice")
    assert session.openid != expected_id(f"{APPID}:alice")
    assert session.unionid == expected_id("unionid:alice")


async def test_success_reply_has_no_errcode_and_is_http_200(http: httpx.AsyncClient) -> None:
    response = await raw_call(http, js_code="carol#1")

    assert response.status_code == 200
    assert set(response.json()) == {"openid", "session_key", "unionid"}


async def test_error_reply_is_http_200_with_errcode_and_errmsg(http: httpx.AsyncClient) -> None:
    response = await raw_call(http, js_code="not a code")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"errcode", "errmsg"}
    assert body["errcode"] == 40029
    assert body["errmsg"].startswith("invalid code")


@pytest.mark.parametrize(
    "code",
    ["#abc", "al ice", "al!ce", "ali ce#x", "a" * 41, "a" * 41 + "#x", "名字", "alice\n", " alice"],
)
async def test_malformed_code_is_40029(wechat: WeChatClient, code: str) -> None:
    assert await errcode_for(wechat, code) == 40029


@pytest.mark.parametrize("suffix", ["", "#", "#anything at all: 名字 #again", "#two\nlines"])
async def test_longest_allowed_user_and_any_suffix_are_accepted(wechat: WeChatClient, suffix: str) -> None:
    user = "A-z_9" * 8
    session = await wechat.code2session(user + suffix)

    assert session.openid == expected_id(f"{APPID}:{user}")


async def test_missing_code_is_41008(http: httpx.AsyncClient) -> None:
    assert (await raw_call(http, js_code="")).json()["errcode"] == 41008
    assert (await raw_call(http, js_code=None)).json()["errcode"] == 41008


async def test_reused_code_is_40163(http: httpx.AsyncClient, wechat: WeChatClient) -> None:
    minted = await mint(http, "alice")
    await wechat.code2session(minted)
    await wechat.code2session("alice#7")

    assert await errcode_for(wechat, minted) == 40163
    assert await errcode_for(wechat, "alice#7") == 40163
    assert (await wechat.code2session("alice#8")).openid == expected_id(f"{APPID}:alice")


async def test_concurrent_uses_of_one_code_succeed_exactly_once(wechat: WeChatClient) -> None:
    results = await asyncio.gather(*(wechat.code2session("dave#race") for _ in range(20)), return_exceptions=True)

    assert sum(isinstance(result, WeChatSession) for result in results) == 1
    assert sorted({result.errcode for result in results if isinstance(result, WeChatApiError)}) == [40163]


async def test_minted_code_expires_after_five_minutes(
    http: httpx.AsyncClient, wechat: WeChatClient, clock: FakeClock
) -> None:
    on_time, late = await mint(http, "alice"), await mint(http, "alice")
    clock.advance(300)
    await wechat.code2session(on_time)
    clock.advance(1)

    assert await errcode_for(wechat, late) == 40029


async def test_hand_written_code_does_not_expire(wechat: WeChatClient, clock: FakeClock) -> None:
    clock.advance(10 * 24 * 3600)

    assert (await wechat.code2session("erin#old")).openid == expected_id(f"{APPID}:erin")


async def test_wrong_appid_is_40013(http: httpx.AsyncClient) -> None:
    assert await errcode_for(make_client(http, appid="wx_not_this_app"), "alice") == 40013


async def test_wrong_secret_is_40125_and_does_not_burn_the_code(http: httpx.AsyncClient, wechat: WeChatClient) -> None:
    code = await mint(http, "alice")

    assert await errcode_for(make_client(http, secret="wrong-secret"), code) == 40125
    assert (await wechat.code2session(code)).openid == expected_id(f"{APPID}:alice")


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"appid": None}, 41002),
        ({"secret": None}, 41004),
        ({"grant_type": "client_credential"}, 40002),
        ({"grant_type": None}, 40002),
    ],
)
async def test_missing_credentials_and_bad_grant_type_are_rejected(
    http: httpx.AsyncClient, overrides: dict[str, str | None], errcode: int
) -> None:
    response = await raw_call(http, **overrides)

    assert response.status_code == 200
    assert response.json()["errcode"] == errcode


@pytest.mark.parametrize("user", ["risky", "risky_bob", "risky-2"])
async def test_risky_user_is_40226(wechat: WeChatClient, user: str) -> None:
    assert await errcode_for(wechat, f"{user}#1") == 40226


async def test_user_merely_containing_risky_logs_in(wechat: WeChatClient) -> None:
    assert (await wechat.code2session("notrisky")).openid == expected_id(f"{APPID}:notrisky")


async def test_busy_user_is_minus_one_on_every_call(http: httpx.AsyncClient) -> None:
    replies = [(await raw_call(http, js_code="busy#same")).json() for _ in range(3)]

    assert [reply["errcode"] for reply in replies] == [-1, -1, -1]


class CountingTransport(httpx.ASGITransport):
    calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await super().handle_async_request(request)


async def test_busy_is_retried_then_raises(sim: Starlette) -> None:
    transport = CountingTransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        assert await errcode_for(make_client(http), "busy#1") == -1

    assert transport.calls == 3


async def test_rate_limit_45011(wechat: WeChatClient, clock: FakeClock) -> None:
    first_call_at = clock.now
    for i in range(100):
        await wechat.code2session(f"frank#{i}")
        clock.advance(0.5)

    assert await errcode_for(wechat, "frank#100") == 45011
    assert (await wechat.code2session("grace#1")).openid == expected_id(f"{APPID}:grace")
    clock.advance(9.5)
    assert await errcode_for(wechat, "frank#101") == 45011
    clock.advance(0.5)
    assert clock.now == first_call_at + 60
    assert (await wechat.code2session("frank#101")).openid == expected_id(f"{APPID}:frank")
    assert await errcode_for(wechat, "frank#102") == 45011


async def test_rate_limited_call_does_not_burn_the_code(wechat: WeChatClient, clock: FakeClock) -> None:
    for i in range(100):
        await wechat.code2session(f"heidi#{i}")

    assert await errcode_for(wechat, "heidi#later") == 45011
    clock.advance(60)
    assert (await wechat.code2session("heidi#later")).openid == expected_id(f"{APPID}:heidi")


async def test_minted_codes_are_unique_and_start_with_user(http: httpx.AsyncClient) -> None:
    codes = {await mint(http, "ivan") for _ in range(50)}

    assert len(codes) == 50
    assert all(code.startswith("ivan#") and len(code) > len("ivan#") for code in codes)


@pytest.mark.parametrize(
    "body",
    [b'{"user": "bad user"}', b'{"user": ""}', b'{"user": 5}', b"{}", b'["alice"]', b"not json", b""],
)
async def test_sim_login_rejects_bad_user_with_400(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post("/__sim/wx/login", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert "error" in response.json()


async def test_simulators_do_not_share_state(clock: FakeClock) -> None:
    first, second = (create_wechat_simulator(APPID, SECRET, clock=clock) for _ in range(2))
    for app in (first, second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
            assert (await make_client(http).code2session("judy")).openid == expected_id(f"{APPID}:judy")
