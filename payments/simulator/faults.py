"""Fault plans set through ``POST /__sim/faults`` (wechat.md §9.4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

API_ERRORS = {"SYSTEM_ERROR": 500, "FREQUENCY_LIMITED": 429, "NOT_ENOUGH": 403, "INVALID_REQUEST": 400}
ENDPOINTS = frozenset(
    {"jsapi", "query", "close", "refund", "query_refund", "transfer", "query_transfer", "cancel_transfer"}
)
REFUND_OUTCOMES = frozenset({"HOLD", "SUCCESS", "CLOSED", "ABNORMAL"})
"""How the simulator finishes a new refund by itself: HOLD keeps it PROCESSING until /__sim/refund/{no}/finish."""
CORRUPTIONS = (
    "signtest",
    "stale_timestamp",
    "unknown_serial",
    "tampered_ciphertext",
    "wrong_apiv3_key",
    "wrong_amount",
)


class FaultConfigError(ValueError):
    pass


@dataclass(frozen=True)
class NotificationFaults:
    """How the simulator misbehaves for one notification.

    ``duplicate``: copies sent concurrently on the first attempt. ``delay``: seconds to wait before the first attempt
    (not divided by the retry speed-up). ``drop``: never sent. ``out_of_order``: held until the next notification has
    been sent. The corruptions in ``CORRUPTIONS`` hit the first attempt only, unless ``every_attempt`` is set, so the
    clean retry that follows shows the receiver recovering.
    """

    duplicate: int = 1
    delay: float = 0.0
    drop: bool = False
    out_of_order: bool = False
    signtest: bool = False
    stale_timestamp: bool = False
    unknown_serial: bool = False
    tampered_ciphertext: bool = False
    wrong_apiv3_key: bool = False
    wrong_amount: bool = False
    every_attempt: bool = False

    def active(self) -> list[str]:
        names = [f.name for f in fields(self) if f.type == "bool" and getattr(self, f.name)]
        if self.duplicate > 1:
            names.append(f"duplicate={self.duplicate}")
        if self.delay:
            names.append(f"delay={self.delay}")
        return names

    def corruptions(self, attempt: int) -> frozenset[str]:
        if attempt > 1 and not self.every_attempt:
            return frozenset()
        return frozenset(name for name in CORRUPTIONS if getattr(self, name))


@dataclass(frozen=True)
class ApiFault:
    """``endpoint``: only calls to that endpoint (see ENDPOINTS) take this fault; None: the next call of any."""

    code: str
    status: int
    after_commit: bool = False
    endpoint: str | None = None


@dataclass(frozen=True)
class ApiStall:
    """``stall``: the call is carried out, then answered ``seconds`` late (``endpoint`` as for ApiFault)."""

    seconds: float
    endpoint: str | None = None


NOTIFICATION_KEYS = frozenset(f.name for f in fields(NotificationFaults))
API_KEYS = frozenset({"api_error", "after_commit", "endpoint", "stall"})
REFUND_KEYS = frozenset({"refund"})


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FaultConfigError("count must be a positive integer")
    return value


def _notification_faults(spec: dict[str, Any]) -> NotificationFaults:
    values: dict[str, Any] = {}
    for f in fields(NotificationFaults):
        if f.name not in spec:
            continue
        value = spec[f.name]
        if f.type == "bool":
            if not isinstance(value, bool):
                raise FaultConfigError(f"{f.name} must be a boolean")
        elif f.name == "duplicate":
            value = _count(value)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FaultConfigError(f"{f.name} must be a non-negative number")
        values[f.name] = value
    return NotificationFaults(**values)


class FaultBook:
    """FIFO queues of fault plans; each plan covers the next ``count`` notifications, API calls (of one ``endpoint``
    if it names one) or new refunds (``refund``: how the simulator ends them by itself, see REFUND_OUTCOMES)."""

    def __init__(self) -> None:
        self._notifications: list[list[Any]] = []
        self._api: list[list[Any]] = []
        self._refunds: list[list[Any]] = []
        self._stalls: list[list[Any]] = []

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        unknown = set(spec) - NOTIFICATION_KEYS - API_KEYS - REFUND_KEYS - {"count"}
        if unknown:
            raise FaultConfigError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        count = _count(spec.get("count", 1))
        api_fault = None
        if "api_error" in spec:
            code = spec["api_error"]
            if code not in API_ERRORS:
                raise FaultConfigError(f"api_error must be one of {', '.join(API_ERRORS)}")
            endpoint = spec.get("endpoint")
            if endpoint is not None and endpoint not in ENDPOINTS:
                raise FaultConfigError(f"endpoint must be one of {', '.join(sorted(ENDPOINTS))}")
            api_fault = ApiFault(code, API_ERRORS[code], bool(spec.get("after_commit", False)), endpoint)
        elif "after_commit" in spec or ("endpoint" in spec and "stall" not in spec):
            raise FaultConfigError("endpoint and after_commit go with api_error (endpoint also with stall)")
        stall = None
        if "stall" in spec:
            stall = spec["stall"]
            if isinstance(stall, bool) or not isinstance(stall, int | float) or not 0 < stall <= 600:
                raise FaultConfigError("stall must be a number of seconds in (0, 600]")
            endpoint = spec.get("endpoint")
            if endpoint is not None and endpoint not in ENDPOINTS:
                raise FaultConfigError(f"endpoint must be one of {', '.join(sorted(ENDPOINTS))}")
            stall = ApiStall(float(stall), endpoint)
        notification_spec = {k: v for k, v in spec.items() if k in NOTIFICATION_KEYS}
        faults = _notification_faults(notification_spec) if notification_spec else None
        refund_outcome = spec.get("refund")
        if refund_outcome is not None and refund_outcome not in REFUND_OUTCOMES:
            raise FaultConfigError(f"refund must be one of {', '.join(sorted(REFUND_OUTCOMES))}")
        if api_fault is None and faults is None and refund_outcome is None and stall is None:
            raise FaultConfigError("no fault given")
        if stall is not None:
            self._stalls.append([stall, count])
        if refund_outcome is not None:
            self._refunds.append([refund_outcome, count])
        if api_fault:
            self._api.append([api_fault, count])
        if faults:
            self._notifications.append([faults, count])
        return self.snapshot()

    @staticmethod
    def _take(queue: list[list[Any]], fits: Any = None) -> Any:
        for plan in queue:
            if fits is None or fits(plan[0]):
                plan[1] -= 1
                if plan[1] == 0:
                    queue.remove(plan)
                return plan[0]
        return None

    def next_notification(self) -> NotificationFaults:
        return self._take(self._notifications) or NotificationFaults()

    def next_api_error(self, endpoint: str | None = None) -> ApiFault | None:
        return self._take(self._api, lambda fault: fault.endpoint in (None, endpoint))

    def next_stall(self, endpoint: str | None = None) -> float:
        """Seconds the next API call (of `endpoint`) waits, its work done, before it answers: a caller with a
        shorter timeout gives up on a call that took effect."""
        stall = self._take(self._stalls, lambda planned: planned.endpoint in (None, endpoint))
        return 0.0 if stall is None else float(stall.seconds)

    def next_refund_outcome(self) -> str | None:
        """The planned end of the next refund created, if a plan says."""
        return self._take(self._refunds)

    def clear(self) -> None:
        self._notifications.clear()
        self._api.clear()
        self._refunds.clear()
        self._stalls.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "notifications": [{**asdict(f), "remaining": n} for f, n in self._notifications],
            "api": [{**asdict(f), "remaining": n} for f, n in self._api],
            "refunds": [{"refund": outcome, "remaining": n} for outcome, n in self._refunds],
            "stalls": [{**asdict(s), "remaining": n} for s, n in self._stalls],
        }
