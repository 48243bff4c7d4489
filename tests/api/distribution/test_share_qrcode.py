"""GET /share/{code}/qrcode.png: WeChat draws the code once, through the stable access token; then it is stored."""

from __future__ import annotations

import asyncio

from domain.distribution.models import ShareCodeImage
from wechat.simulator import png_text


async def test_the_code_image_is_drawn_once_and_served_from_the_database(app, dist, http):
    await dist.turn_on()
    a = await dist.distributor()
    simulator = app.state.runtime.simulators.wechat
    before = simulator.state.wxacode_calls
    first = await http.get(f"/share/{a.share_code}/qrcode.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_text(first.content) == {"scene": a.share_code, "page": "pages/index/index"}
    again = await asyncio.gather(*[http.get(f"/share/{a.share_code}/qrcode.png") for _ in range(5)])
    assert all(response.content == first.content for response in again)
    assert simulator.state.wxacode_calls == before + 1
    assert await ShareCodeImage.all().count() == 1


async def test_an_unknown_share_has_no_image(app, http, db):
    simulator = app.state.runtime.simulators.wechat
    before = simulator.state.wxacode_calls
    for code in ["Zz9Zz9Zz9Zz9Zz9Z", "bad!code", "x" * 40]:
        assert (await http.get(f"/share/{code}/qrcode.png")).status_code == 404
    assert simulator.state.wxacode_calls == before
