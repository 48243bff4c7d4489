"""The WeChat client's stable token and wxacode.getUnlimited against the simulator."""

from __future__ import annotations

import httpx
import pytest

from wechat.client import WeChatApiError, WeChatClient
from wechat.simulator import create_wechat_simulator, png_text

APPID, SECRET = "wx-test-app", "test-secret"


def client_for(sim, secret: str = SECRET) -> WeChatClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://wechat-sim")
    return WeChatClient(APPID, secret, "http://wechat-sim", http=http)


async def test_the_token_is_fetched_once_and_a_refused_one_again():
    sim = create_wechat_simulator(APPID, SECRET)
    client = client_for(sim)
    token = await client.access_token()
    assert await client.access_token() == token
    png = await client.wxacode_unlimited("abc123", "pages/product/index")
    assert png_text(png) == {"scene": "abc123", "page": "pages/product/index"}
    other = client_for(sim)
    await other.access_token()
    forced = await other._post_json("/cgi-bin/stable_token", None, {  # someone forces a refresh: ours stops working
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": True})
    assert forced["access_token"] != token
    assert png_text(await client.wxacode_unlimited("abc123", "pages/index/index"))["page"] == "pages/index/index"
    assert sim.state.wxacode_calls == 2


@pytest.mark.parametrize(("scene", "page", "errcode"), [
    ("x" * 33, "pages/index/index", 40129), ("中文", "pages/index/index", 40129), ("", "pages/index/index", 40129),
    ("ok", "/pages/index/index", 41030), ("ok", "pages/index/index?a=1", 41030),
])
async def test_bad_scenes_and_pages_are_refused(scene, page, errcode):
    client = client_for(create_wechat_simulator(APPID, SECRET))
    with pytest.raises(WeChatApiError) as raised:
        await client.wxacode_unlimited(scene, page)
    assert raised.value.errcode == errcode


async def test_wrong_credentials_get_no_token():
    client = client_for(create_wechat_simulator(APPID, SECRET), secret="wrong")
    with pytest.raises(WeChatApiError) as raised:
        await client.access_token()
    assert raised.value.errcode == 40125
