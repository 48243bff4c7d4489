"""Local WeChat Pay API v3 simulator for payments, refunds and merchant transfers (wechat.md §9.3, §9.4).

In-process (tests, embedded dev server)::

    sim_app = create_wechatpay_simulator(keys, notify_transport=httpx.ASGITransport(app=pond_app))
    gateway = WeChatPayGateway(config, transport=httpx.ASGITransport(app=sim_app))
    ...
    await sim_app.state.simulator.drain()      # wait for queued notifications

As a service: ``python -m payments.simulator --port 8091 --keys-dir .wechatpay-sim`` and point
``WeChatPayConfig.gateway`` at it. Control plane: ``POST /__sim/pay``, ``POST /__sim/refund/{no}/finish``,
``GET|POST /__sim/refunds/auto``, ``POST /__sim/transfer/{out_bill_no}/confirm|reject``,
``POST /__sim/clock/advance``, ``GET /__sim/clock``, ``GET /__sim/notifications``,
``POST /__sim/notifications/release``, ``GET|POST|DELETE /__sim/faults``, ``GET /__sim/state``.
"""

from __future__ import annotations

from payments.simulator.app import create_wechatpay_simulator
from payments.simulator.faults import NotificationFaults
from payments.simulator.state import SimulatorState

__all__ = ["NotificationFaults", "SimulatorState", "create_wechatpay_simulator"]
