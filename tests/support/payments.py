"""What every order test needs from the app's embedded WeChat Pay simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from domain.catalog.models import Sku
from domain.orders.deps import OrderDeps
from payments.simulator import SimulatorState
from tests.fixtures.cart import MakeSku

SIM = "/__sim/wechatpay"


@dataclass
class SimulatedStore:
    app: Starlette
    http: httpx.AsyncClient
    make_sku: MakeSku

    @property
    def deps(self) -> OrderDeps:
        return self.app.state.runtime.services.orders

    @property
    def sim(self) -> SimulatorState:
        return self.app.state.runtime.simulators.wechatpay.state.simulator

    async def sku(self, price: int = 1990, stock: int = 5) -> Sku:
        """A buyable SKU whose stock counter agrees with the database (SKU ids repeat across tests)."""
        sku = await self.make_sku(price=price, stock=stock)
        await self.deps.inventory.resync([sku.id])
        return sku

    async def confirm(
        self, package: str, pay_sign: str, time_stamp: str, nonce_str: str, outcome: str = "SUCCESS"
    ) -> httpx.Response:
        """The buyer confirms wx.requestPayment; the simulator queues WeChat Pay's notification."""
        body = {
            "prepay_id": package.removeprefix("prepay_id="),
            "outcome": outcome,
            "paySign": pay_sign,
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
        }
        return await self.http.post(f"{SIM}/__sim/pay", json=body)

    async def faults(self, **spec: Any) -> None:
        """Plan the simulator's next faults (`POST /__sim/faults`, see payments/simulator/faults.py)."""
        response = await self.http.post(f"{SIM}/__sim/faults", json=spec)
        assert response.status_code == 200, response.text

    async def refunds_finish_after(self, seconds: float | None) -> float | None:
        """New refunds succeed by themselves `seconds` after they are asked for (None: held until finished by hand,
        as tests that drive refunds step by step need); the setting it replaced."""
        before = (await self.http.get(f"{SIM}/__sim/refunds/auto")).json()["after"]
        response = await self.http.post(f"{SIM}/__sim/refunds/auto", json={"after": seconds})
        assert response.status_code == 200, response.text
        return before
