"""A WeChat Pay call that answers too late: the gateway gives up after its read timeout (POND_WECHATPAY_TIMEOUT_SECONDS)
with a NETWORK error, though the call took effect at WeChat Pay; asking again with the same number is safe.

Over real HTTP (the simulator under uvicorn on a spare port): an in-process ASGI transport enforces no timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import uvicorn

from payments.keys import SimulatorKeys
from payments.simulator import create_wechatpay_simulator
from payments.wechatpay import WeChatPayConfig, WeChatPayError, WeChatPayGateway
from tests.payments.paysim_support import NOTIFY_URL, OPENID, REFUND_NOTIFY_URL, new_order_no

READ_TIMEOUT = 0.5


@pytest_asyncio.fixture
async def simulator_url(sim_keys: SimulatorKeys) -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_wechatpay_simulator(sim_keys)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn's Server offers a flag, no event
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_call_answered_past_the_read_timeout_fails_as_network_and_a_retry_finds_it_done(
        sim_keys: SimulatorKeys, simulator_url: str) -> None:
    config = WeChatPayConfig.from_simulator_keys(sim_keys, notify_url=NOTIFY_URL, refund_notify_url=REFUND_NOTIFY_URL,
                                                 gateway=simulator_url, read_timeout=READ_TIMEOUT)
    async with WeChatPayGateway(config) as gateway, httpx.AsyncClient(base_url=simulator_url) as control:
        planned = await control.post("/__sim/faults", json={"stall": 3, "endpoint": "jsapi"})
        assert planned.json()["stalls"] == [{"seconds": 3.0, "endpoint": "jsapi", "remaining": 1}]
        out_trade_no = new_order_no()
        expire = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)

        async def prepay() -> str:
            return await gateway.prepay(out_trade_no=out_trade_no, description="d", total_fen=100, openid=OPENID,
                                        time_expire=expire)

        started = time.perf_counter()
        with pytest.raises(WeChatPayError) as caught:
            await prepay()
        assert caught.value.code == "NETWORK" and "Timeout" in str(caught.value)
        assert time.perf_counter() - started < 2.5
        trade = await gateway.query(out_trade_no)
        assert trade is not None  # the stalled call took effect
        assert (await control.get("/__sim/faults")).json()["stalls"] == []
        assert await prepay()  # the same number again: the same prepay, no error


async def test_a_stall_is_refused_unless_a_positive_number_of_seconds(sim_keys: SimulatorKeys,
                                                                      simulator_url: str) -> None:
    async with httpx.AsyncClient(base_url=simulator_url) as control:
        for bad in (0, -1, True, "5", 601):
            assert (await control.post("/__sim/faults", json={"stall": bad})).status_code == 400
        assert (await control.get("/__sim/faults")).json()["stalls"] == []
