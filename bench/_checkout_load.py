"""The client half of bench/checkout.py: customers logging in, checking out and paying through the simulator.

The WeChat Pay simulator's control API is reached through a client of its own (`sim`), whose base URL is the
standalone simulator (`http://127.0.0.1:<its port>`) or the one mounted in Pond (`…/__sim/wechatpay`, see
`simulator_base_url`); the paths below are relative to it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench._checkout_server import TIMER_HEADER, TIMINGS_PATH
from bench._harness import HOST, BenchError, request

EMBEDDED_SIMULATOR = "/__sim/wechatpay"  # where Pond mounts its embedded WeChat Pay simulator
SIM_PAY = "/__sim/pay"
SIM_NOTIFICATIONS = "/__sim/notifications"
NOTIFY_METRIC = re.compile(
    r'^pond_http_request_duration_seconds_count\{[^}]*path="/payments/wechat/notify"[^}]*\} (\S+)$', re.MULTILINE
)


LOGIN = "mutation Login($code: String!) { login(input: {code: $code}) { token errors { code message } } }"
CHECKOUT = """mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) {
    order { id number status payable { amount } }
    payment { timeStamp nonceStr package signType paySign }
    errors { code message }
  }
}"""
ADDRESS = {"name": "压测", "phone": "13800138000", "province": "上海市", "city": "上海市", "district": "浦东新区",
           "detail": "世纪大道 1 号"}


@dataclass
class Tally:
    checkout_ms: list[float] = field(default_factory=list)
    pay_ms: list[float] = field(default_factory=list)
    paid: int = 0
    sold_out: int = 0
    free: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    in_flight: list[int] = field(default_factory=list)  # open loop (--rate): customers in flight at each start


async def in_parallel(items: Iterable[Any], concurrency: int, work: Callable[[Any], Awaitable[None]]) -> None:
    """`concurrency` workers taking items from one shared iterator: never more than that many requests in flight."""
    shared = iter(items)

    async def worker() -> None:
        for item in shared:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def graphql(client: Any, operation: str, query: str, variables: dict[str, Any],
                  token: str | None = None) -> tuple[dict[str, Any], float]:
    """The `data` of a 200 answer without top-level errors, and the request's latency in ms."""
    headers = {TIMER_HEADER: operation}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = {"query": query, "variables": variables, "operationName": operation}
    start = time.perf_counter()
    reply = await client.post("/graphql", json=body, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    if reply.status_code != 200:
        raise BenchError(f"{operation}: HTTP {reply.status_code}: {reply.text[:300]}")
    answer = reply.json()
    if answer.get("errors"):
        raise BenchError(f"{operation}: {answer['errors']}")
    return answer["data"], elapsed


async def log_in(client: Any, users: Sequence[str], concurrency: int) -> dict[str, str]:
    tokens: dict[str, str] = {}

    async def one(user: str) -> None:
        data, _ = await graphql(client, "Login", LOGIN, {"code": f"{user}#1"})
        payload = data["login"]
        if payload["errors"] or not payload["token"]:
            raise BenchError(f"login {user}: {payload['errors']}")
        tokens[user] = payload["token"]

    await in_parallel(users, concurrency, one)
    return tokens


def simulator_base_url(pond_port: int, pay_port: int | None) -> str:
    """The WeChat Pay simulator's base URL: its own process on `pay_port`, else the one embedded in Pond."""
    return f"http://{HOST}:{pay_port}" if pay_port is not None else f"http://{HOST}:{pond_port}{EMBEDDED_SIMULATOR}"


async def buy_and_pay(client: Any, sim: Any, token: str, sku: str, key: str, tally: Tally) -> None:
    """One customer: `checkout` for one unit, then pay through the simulator (`sim`) if there is something to pay."""
    variables = {"input": {"delivery": {"address": ADDRESS}, "lines": [{"skuId": sku, "quantity": 1}],
                           "idempotencyKey": key}}
    await place_and_pay(client, sim, token, ("Checkout", CHECKOUT, "checkout"), variables, tally)


async def place_and_pay(client: Any, sim: Any, token: str, mutation: tuple[str, str, str],
                        variables: dict[str, Any], tally: Tally) -> dict[str, Any] | None:
    """One customer places an order through `mutation` (operation name, document, payload field; its payload has
    `order`, `payment` and `errors`), then pays through the simulator (`sim`) if there is something to pay. Returns
    the payload of a placed order.

    A request that fails (an error answer, or a connection dropped: httpx's TransportError) is counted, not raised."""
    import httpx

    operation, document, field_name = mutation
    label = operation.lower()
    try:
        data, elapsed = await graphql(client, operation, document, variables, token)
    except (BenchError, httpx.TransportError) as exc:
        tally.failures[f"{label}: {type(exc).__name__}: {str(exc)[:120]}"] += 1
        return None
    tally.checkout_ms.append(elapsed)
    payload: dict[str, Any] = data[field_name]
    if payload["errors"]:
        code = payload["errors"][0]["code"]
        if code == "SOLD_OUT":
            tally.sold_out += 1
        else:
            tally.failures[f"{label}: {code} {payload['errors'][0]['message'][:80]}"] += 1
        return None
    payment = payload["payment"]
    if payment is None:
        tally.free += 1
        return payload
    pay = {"prepay_id": payment["package"].removeprefix("prepay_id="), "outcome": "SUCCESS",
           "paySign": payment["paySign"], "timeStamp": payment["timeStamp"], "nonceStr": payment["nonceStr"]}
    start = time.perf_counter()
    try:
        reply = await sim.post(SIM_PAY, json=pay)
    except httpx.TransportError as exc:
        tally.failures[f"pay: {type(exc).__name__}: {str(exc)[:120]}"] += 1
        return payload
    tally.pay_ms.append((time.perf_counter() - start) * 1000)
    if reply.status_code != 200 or not reply.json().get("notification_id"):
        tally.failures[f"pay: HTTP {reply.status_code} {reply.text[:120]}"] += 1
        return payload
    tally.paid += 1
    return payload


async def shop(client: Any, sim: Any, tokens: dict[str, str], sku: str, concurrency: int,
               label: str, rate: float | None = None) -> tuple[Tally, float]:
    """Every customer buys and pays: `concurrency` at a time (a closed loop: the next starts when one ends), or,
    with `rate`, one starting every 1/rate seconds whatever is still in flight (an open loop: arrivals do not wait
    for answers, as real customers don't). `Tally.in_flight` samples how many were in flight at each start."""
    tally = Tally()

    async def one(user: str) -> None:
        await buy_and_pay(client, sim, tokens[user], sku, f"{label}-{user}", tally)

    start = time.perf_counter()
    if rate is None:
        await in_parallel(list(tokens), concurrency, one)
        return tally, time.perf_counter() - start
    running: set[asyncio.Task[None]] = set()
    for index, user in enumerate(tokens):
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        tally.in_flight.append(len(running))
        task = asyncio.create_task(one(user))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    return tally, time.perf_counter() - start


@dataclass(frozen=True)
class Delivery:
    notifications: int
    delivered: int
    first_attempt: int
    pending: int
    seconds: float
    attempts: int  # HTTP deliveries the simulator tried, retries and duplicates included


async def wait_for_notifications(sim: Any, expected: int, patience: float) -> Delivery:
    """Poll the simulator's log until nothing is in flight and `expected` notifications exist (or time runs out)."""
    start = time.perf_counter()
    while True:
        log = (await sim.get(SIM_NOTIFICATIONS)).json()
        notes = log["notifications"]
        done = log["pending"] == 0 and len(notes) >= expected
        if done or time.perf_counter() - start > patience:
            delivered = sum(note["status"] == "delivered" for note in notes)
            first = sum(bool(note["attempts"]) and note["attempts"][0]["delivered"] for note in notes)
            return Delivery(len(notes), delivered, first, log["pending"], time.perf_counter() - start,
                            len(log["attempts"]))
        await asyncio.sleep(0.05)


async def server_timings(client: Any) -> dict[str, list[float]]:
    """Seconds per request, per timer, since the previous call (empty for a --plain server)."""
    reply = await client.get(TIMINGS_PATH)
    return reply.json() if reply.status_code == 200 else {}


def metrics_notify_count(port: int) -> float | None:
    found = NOTIFY_METRIC.search(request(port, "GET", "/metrics").body.decode())
    return float(found.group(1)) if found else None
