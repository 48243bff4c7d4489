from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio

from payments.keys import SimulatorKeys, generate_keys
from payments.simulator import create_wechatpay_simulator
from payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from tests.payments.paysim_support import (
    DEFAULT_SPEEDUP,
    GATEWAY_URL,
    NOTIFY_URL,
    REFUND_NOTIFY_URL,
    TRANSFER_NOTIFY_URL,
    PayEnv,
    Receiver,
)


@pytest.fixture(scope="session")
def sim_keys() -> SimulatorKeys:
    return generate_keys()


EnvFactory = Callable[..., Awaitable[PayEnv]]


@pytest_asyncio.fixture
async def make_env(sim_keys: SimulatorKeys) -> AsyncIterator[EnvFactory]:
    opened: list[PayEnv] = []

    async def factory(*, retry_speedup: float = DEFAULT_SPEEDUP, clock: Callable[[], float] = time.time) -> PayEnv:
        receiver = Receiver()
        sim_app = create_wechatpay_simulator(
            sim_keys,
            notify_transport=httpx.ASGITransport(app=receiver.app()),
            clock=clock,
            retry_speedup=retry_speedup,
        )
        config = WeChatPayConfig.from_simulator_keys(
            sim_keys, notify_url=NOTIFY_URL, refund_notify_url=REFUND_NOTIFY_URL, gateway=GATEWAY_URL,
            transfer_notify_url=TRANSFER_NOTIFY_URL,
        )
        gateway = WeChatPayGateway(config, transport=httpx.ASGITransport(app=sim_app))
        await gateway.start()
        receiver.gateway = gateway
        control = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=GATEWAY_URL)
        env = PayEnv(sim_keys, sim_app, sim_app.state.simulator, gateway, receiver, control)
        opened.append(env)
        return env

    yield factory
    for env in opened:
        await env.sim.aclose()
        await env.control.aclose()
        await env.gateway.aclose()


@pytest_asyncio.fixture
async def env(make_env: EnvFactory) -> PayEnv:
    return await make_env()
