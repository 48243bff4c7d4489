"""Test control plane under ``/__sim`` (wechat.md §9.4). Unsigned, local use only."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from payments.simulator.faults import FaultConfigError
from payments.simulator.models import ApiError
from payments.simulator.state import SimulatorState

ControlHandler = Callable[[Request, SimulatorState, dict[str, Any]], Any]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def control(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: SimulatorState = request.app.state.simulator
        raw = await request.body()
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "PARAM_ERROR", "body is not valid JSON")
        if not isinstance(data, dict):
            return _error(400, "PARAM_ERROR", "body must be a JSON object")
        try:
            result = handler(request, sim, data)
        except ApiError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        except FaultConfigError as exc:
            return _error(400, "PARAM_ERROR", str(exc))
        return JSONResponse(result)

    return endpoint


def _pay(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    transaction, note = sim.simulate_payment(data)
    return {"transaction": transaction.to_api(), "notification_id": note.id if note else None}


def _finish_refund(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    refund, note = sim.finish_refund(request.path_params["out_refund_no"], data.get("status"))
    return {"refund": refund.to_api(), "notification_id": note.id}


def _confirm_transfer(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """The user confirms receipt in wx.requestMerchantTransfer (``{"package_info"}`` optional, checked if given)."""
    transfer, note = sim.settle_transfer(request.path_params["out_bill_no"], data, confirmed=True)
    return {"transfer": transfer.to_api(), "notification_id": note.id}


def _reject_transfer(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """The bill fails before reaching the user (``{"fail_reason"}``, default PAYEE_ACCOUNT_ABNORMAL)."""
    transfer, note = sim.settle_transfer(request.path_params["out_bill_no"], data, confirmed=False)
    return {"transfer": transfer.to_api(), "notification_id": note.id}


def _refunds_auto(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """``{"after": seconds}``: new refunds succeed by themselves that long after; ``{"after": null}``: held."""
    if request.method == "POST":
        if "after" not in data:
            raise ApiError(400, "PARAM_ERROR", "after is required (seconds, or null to hold new refunds)")
        after = data["after"]
        if after is not None and (isinstance(after, bool) or not isinstance(after, int | float) or after < 0):
            raise ApiError(400, "PARAM_ERROR", "after must be a non-negative number or null")
        sim.refund_seconds = None if after is None else float(after)
    return {"after": sim.refund_seconds}


def _advance_clock(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    seconds = data.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ApiError(400, "PARAM_ERROR", "seconds must be a non-negative number")
    return {"now": sim.advance_clock(seconds), "offset": sim.offset}


def _clock(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    return {"now": sim.now(), "wall": sim.wall(), "offset": sim.offset}


def _notifications(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    notifier = sim.notifier
    return {
        "pending": notifier.pending,
        "notifications": [note.to_log() for note in notifier.notifications],
        "attempts": [asdict(attempt) for attempt in notifier.attempts],
    }


def _release(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    return {"released": sim.notifier.release_held()}


def _set_faults(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    return sim.faults.configure(data)


def _get_faults(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    return sim.faults.snapshot()


def _clear_faults(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    sim.faults.clear()
    return sim.faults.snapshot()


def _state(request: Request, sim: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    return sim.snapshot()


def control_routes() -> list[Route]:
    return [
        Route("/__sim/pay", control(_pay), methods=["POST"]),
        Route("/__sim/refund/{out_refund_no}/finish", control(_finish_refund), methods=["POST"]),
        Route("/__sim/transfer/{out_bill_no}/confirm", control(_confirm_transfer), methods=["POST"]),
        Route("/__sim/transfer/{out_bill_no}/reject", control(_reject_transfer), methods=["POST"]),
        Route("/__sim/refunds/auto", control(_refunds_auto), methods=["GET", "POST"]),
        Route("/__sim/clock/advance", control(_advance_clock), methods=["POST"]),
        Route("/__sim/clock", control(_clock), methods=["GET"]),
        Route("/__sim/notifications", control(_notifications), methods=["GET"]),
        Route("/__sim/notifications/release", control(_release), methods=["POST"]),
        Route("/__sim/faults", control(_set_faults), methods=["POST"]),
        Route("/__sim/faults", control(_get_faults), methods=["GET"]),
        Route("/__sim/faults", control(_clear_faults), methods=["DELETE"]),
        Route("/__sim/state", control(_state), methods=["GET"]),
    ]
