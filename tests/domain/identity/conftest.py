from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from server.wechat_sessions import WeChatClientSessions
from wechat.client import WeChatClient
from wechat.simulator import create_wechat_simulator

APPID = "wx00identitytests0"
SECRET = "identity-tests-secret-0123456789"


@pytest_asyncio.fixture
async def wechat_sessions() -> AsyncIterator[WeChatClientSessions]:
    sim = create_wechat_simulator(APPID, SECRET)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://wechat-sim")
    client = WeChatClient(APPID, SECRET, api_base="http://wechat-sim", http=http, backoff=0)
    yield WeChatClientSessions(client)
    await http.aclose()
