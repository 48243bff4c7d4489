"""Notification dispatcher: encrypt, sign, POST, retry on the wechat.md §4.5 schedule, log every attempt."""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from payments.simulator.faults import NotificationFaults
from payments.simulator.models import rfc3339
from payments.simulator.signing import SIGNTEST_PREFIX, Signer, dumps, random_nonce

RETRY_SCHEDULE: tuple[float, ...] = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip
STALE_BY = 600
DELIVERY_TIMEOUT = 5.0
log = logging.getLogger(__name__)


@dataclass
class Attempt:
    notification_id: str
    event_type: str
    attempt: int
    copy: int
    at: float
    status_code: int | None
    error: str | None
    faults: list[str]
    delivered: bool


@dataclass
class Notification:
    id: str
    event_type: str
    summary: str
    original_type: str
    url: str | None
    resource: dict[str, Any]
    create_time: str
    faults: NotificationFaults
    refs: dict[str, str]
    status: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)

    def to_log(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_type": self.event_type,
            "url": self.url,
            "status": self.status,
            "faults": self.faults.active(),
            **self.refs,
            "attempts": [asdict(a) for a in self.attempts],
        }


def _corrupt_amount(resource: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    amount = changed.get("amount", {})
    keys = ("refund", "payer_refund") if "refund" in amount else ("total", "payer_total")
    for key in keys:
        if key in amount:
            amount[key] += 1
    if "transfer_amount" in changed:
        changed["transfer_amount"] += 1
    return changed


def _tamper(ciphertext: str) -> str:
    raw = bytearray(base64.b64decode(ciphertext))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


class Notifier:
    def __init__(
        self,
        signer: Signer,
        *,
        wall_clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None,
        retry_speedup: float,
        schedule: tuple[float, ...] = RETRY_SCHEDULE,
    ) -> None:
        if retry_speedup <= 0:
            raise ValueError("retry_speedup must be positive")
        self._signer = signer
        self._wall = wall_clock
        self._transport = transport
        self._speedup = retry_speedup
        self._schedule = schedule
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: list[Notification] = []
        self.notifications: list[Notification] = []
        self.attempts: list[Attempt] = []

    def enqueue(
        self,
        *,
        event_type: str,
        summary: str,
        original_type: str,
        url: str | None,
        resource: dict[str, Any],
        create_time: float,
        faults: NotificationFaults,
        refs: dict[str, str],
    ) -> Notification:
        note = Notification(
            id=str(uuid.uuid4()),
            event_type=event_type,
            summary=summary,
            original_type=original_type,
            url=url,
            resource=resource,
            create_time=rfc3339(create_time),
            faults=faults,
            refs=refs,
        )
        self.notifications.append(note)
        if url is None:
            note.status = "no_notify_url"
        elif faults.drop:
            note.status = "dropped"
        elif faults.out_of_order:
            note.status = "held"
            self._held.append(note)
        else:
            self._spawn(self._deliver(note))
        return note

    def release_held(self) -> int:
        held, self._held = self._held, []
        for note in held:
            note.status = "pending"
            self._spawn(self._deliver(note))
        return len(held)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until no delivery is in flight or waiting for a retry (held notifications are not waited for)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace: float = 2.0) -> None:
        """Cancel deliveries in flight and give them `grace` seconds to end (closing never hangs on one)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=DELIVERY_TIMEOUT)
        return self._client

    async def _deliver(self, note: Notification) -> None:
        try:
            if note.faults.delay:
                await asyncio.sleep(note.faults.delay)
            waits = (0.0, *self._schedule)
            for index, wait in enumerate(waits):
                if wait:
                    await asyncio.sleep(wait / self._speedup)
                attempt = index + 1
                copies = note.faults.duplicate if attempt == 1 else 1
                results = await asyncio.gather(*(self._post(note, attempt, n + 1) for n in range(copies)))
                if attempt == 1:
                    self.release_held()
                if any(results):
                    note.status = "delivered"
                    return
                note.status = "retrying"
            note.status = "failed"
        except asyncio.CancelledError:
            note.status = "cancelled"
            raise
        except Exception:
            log.exception("notification %s crashed", note.id)
            note.status = "crashed"

    def _envelope(self, note: Notification, corruptions: frozenset[str]) -> bytes:
        resource = _corrupt_amount(note.resource) if "wrong_amount" in corruptions else note.resource
        wrong_key = random_nonce(32) if "wrong_apiv3_key" in corruptions else None
        encrypted = self._signer.encrypt_resource(resource, note.original_type, apiv3_key=wrong_key)
        if "tampered_ciphertext" in corruptions:
            encrypted["ciphertext"] = _tamper(encrypted["ciphertext"])
        return dumps(
            {
                "id": note.id,
                "create_time": note.create_time,
                "resource_type": "encrypt-resource",
                "event_type": note.event_type,
                "summary": note.summary,
                "resource": encrypted,
            }
        )

    def _headers(self, body: bytes, corruptions: frozenset[str]) -> dict[str, str]:
        timestamp = int(self._wall()) - (STALE_BY if "stale_timestamp" in corruptions else 0)
        serial = "PUB_KEY_ID_" + "0" * 32 if "unknown_serial" in corruptions else None
        headers = self._signer.signed_headers(body, timestamp, serial=serial)
        if "signtest" in corruptions:
            headers["Wechatpay-Signature"] = SIGNTEST_PREFIX + base64.b64encode(random_nonce(48).encode()).decode()
        headers["Content-Type"] = "application/json"
        return headers

    async def _post(self, note: Notification, attempt: int, copy_no: int) -> bool:
        corruptions = note.faults.corruptions(attempt)
        body = self._envelope(note, corruptions)
        headers = self._headers(body, corruptions)
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http().post(str(note.url), content=body, headers=headers)
            status = response.status_code
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status in (200, 204)
        record = Attempt(
            notification_id=note.id,
            event_type=note.event_type,
            attempt=attempt,
            copy=copy_no,
            at=self._wall(),
            status_code=status,
            error=error,
            faults=sorted(corruptions),
            delivered=delivered,
        )
        note.attempts.append(record)
        self.attempts.append(record)
        return delivered
