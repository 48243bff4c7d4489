"""The client half of bench/flash_sale.py: staff set-up, wrk with rotating customers, the burst, the raw Lua script.

wrk drives the phases whose rate is compared (the trivial mutation, buys that succeed, buys after sell-out): each
request carries the next customer's token (customers rotate, interleaved between wrk's threads) and, for buys, an
idempotency key of its own, as a mini-program's tap would. A `response()` hook sorts every answer (ok, SOLD_OUT,
LIMIT_EXCEEDED, anything else, with the first odd answer kept) and `done()` writes the counts next to the script.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._checkout_load import ADDRESS, graphql, in_parallel
from bench._checkout_report import percentile
from bench._flash_sale_server import RAW_PREFIX, REDIS_URL
from bench._harness import LUA_RESULT_LINE, BenchError, WrkResult, request, run_wrk

STAFF_LOGIN = """mutation StaffLogin($input: StaffLoginInput!) {
  staffLogin(input: $input) { token errors { code message } }
}"""
CREATE = """mutation FlashSaleCreate($input: FlashSaleCreateInput!) {
  flashSaleCreate(input: $input) {
    flashSale { id status perCustomerLimit items { quantity remaining sku { id } } }
    errors { code message }
  }
}"""
BUY = """mutation FlashSaleBuy($input: FlashSaleBuyInput!) {
  flashSaleBuy(input: $input) {
    order { id number }
    payment { timeStamp nonceStr package signType paySign }
    errors { code message }
  }
}"""
ORDER_PAY = """mutation OrderPay($input: OrderPayInput!) {
  orderPay(input: $input) {
    order { id status }
    payment { timeStamp nonceStr package signType paySign }
    errors { code message }
  }
}"""
TOKEN_REFRESH = "mutation TokenRefresh { tokenRefresh { token errors { code } } }"
KEY_SLOT = "@KEY@"  # where a wrk request puts its idempotency key
OPERATIONS_METRIC = re.compile(r'^pond_graphql_operations_total\{([^}]*)\} (\S+)$', re.MULTILINE)


# --------------------------------------------------------------------------------------------------------------------
# GraphQL over httpx
# --------------------------------------------------------------------------------------------------------------------


async def staff_login(client: Any, username: str, password: str) -> str:
    data, _ = await graphql(client, "StaffLogin", STAFF_LOGIN, {"input": {"username": username, "password": password}})
    payload = data["staffLogin"]
    if payload["errors"] or not payload["token"]:
        raise BenchError(f"staffLogin: {payload['errors']}")
    return str(payload["token"])


def _at(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


async def create_sale(client: Any, staff_token: str, name: str, sku_gid: str, price: int, units: int,
                      limit: int) -> str:
    """A running flash sale (started a minute ago, ends in an hour) of one SKU; its global id."""
    sale = {"name": name, "startsAt": _at(-60), "endsAt": _at(3600), "perCustomerLimit": limit,
            "items": [{"skuId": sku_gid, "price": price, "quantity": units}]}
    data, _ = await graphql(client, "FlashSaleCreate", CREATE, {"input": sale}, staff_token)
    payload = data["flashSaleCreate"]
    if payload["errors"] or payload["flashSale"]["status"] != "ACTIVE":
        raise BenchError(f"flashSaleCreate {name}: {payload}")
    return str(payload["flashSale"]["id"])


def buy_body(sale_gid: str, sku_gid: str, key: str) -> bytes:
    variables = {"input": {"flashSaleId": sale_gid, "skuId": sku_gid, "quantity": 1, "idempotencyKey": key,
                           "delivery": {"address": ADDRESS}}}
    body = {"query": BUY, "variables": variables, "operationName": "FlashSaleBuy"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def token_refresh_body() -> bytes:
    return json.dumps({"query": TOKEN_REFRESH, "operationName": "TokenRefresh"}, separators=(",", ":")).encode()


WRITER_METRIC = re.compile(r'^pond_group_commit_(\w+)_total\{writer="pond-flash-writer"\} (\S+)$', re.MULTILINE)


def writer_counts(port: int) -> dict[str, float]:
    """The flash sale writer's group commit counts so far (pond_group_commit_*: batches, entries, busy_seconds,
    queued_seconds)."""
    return {what: float(value) for what, value in WRITER_METRIC.findall(request(port, "GET", "/metrics").body.decode())}


def operation_count(port: int, operation: str) -> float:
    """Operations of that name the server has run so far (pond_graphql_operations_total, every outcome)."""
    text = request(port, "GET", "/metrics").body.decode()
    return sum(float(value) for labels, value in OPERATIONS_METRIC.findall(text)
               if f'operation="{operation}"' in labels)


# --------------------------------------------------------------------------------------------------------------------
# wrk with rotating customers
# --------------------------------------------------------------------------------------------------------------------

_ROTATING = """
local tokens = {
%(tokens)s
}
local before = [==[%(before)s]==]
local after = [==[%(after)s]==]
local label = "%(label)s"
local nthreads = %(threads)d
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

n, ok, sold_out, limit_exceeded, other, sample = 0, 0, 0, 0, 0, ""

function request()
  n = n + 1
  local token = tokens[(n * nthreads + id) %% #tokens + 1]
  local body = before
  if after ~= "" then body = before .. label .. "-" .. id .. "-" .. n .. after end
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json",
                                         ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"errors":%%s*%%[%%]') then
    ok = ok + 1
  elseif status == 200 and body:find('"code":%%s*"SOLD_OUT"') then
    sold_out = sold_out + 1
  elseif status == 200 and body:find('"code":%%s*"LIMIT_EXCEEDED"') then
    limit_exceeded = limit_exceeded + 1
  else
    other = other + 1
    if sample == "" then sample = status .. " " .. body:sub(1, 400) end
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, sold_out = 0, limit_exceeded = 0, other = 0}
  local first = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
    local s = thread:get("sample")
    if first == "" and s ~= nil and s ~= "" then first = s end
  end
  local f = io.open("%(counts)s", "w")
  f:write(string.format('{"ok":%%d,"sold_out":%%d,"limit_exceeded":%%d,"other":%%d}',
                        t.ok, t.sold_out, t.limit_exceeded, t.other))
  f:close()
  local g = io.open("%(sample)s", "w")
  g:write(first)
  g:close()
%(result)send
"""


@dataclass(frozen=True)
class Answers:
    """What wrk's response() hook saw."""

    ok: int
    sold_out: int
    limit_exceeded: int
    other: int
    sample: str

    @property
    def total(self) -> int:
        return self.ok + self.sold_out + self.limit_exceeded + self.other


def _lua_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError("cannot be embedded in a Lua long string")
    return text


def rotating_script(directory: Path, name: str, body: bytes, tokens: Sequence[str], label: str,
                    threads: int) -> Path:
    """A wrk script POSTing `body` with the customers' tokens in turn; KEY_SLOT in the body becomes a fresh key."""
    text = body.decode()
    before, _, after = text.partition(KEY_SLOT)
    for token in tokens:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", token):
            raise BenchError(f"unexpected token format: {token[:40]}")
    path = directory / f"{name}.lua"
    path.write_text(_ROTATING % {
        "tokens": ",\n".join(f'"{token}"' for token in tokens),
        "before": _lua_string(before), "after": _lua_string(after), "label": label, "threads": threads,
        "counts": directory / f"{name}.counts.json", "sample": directory / f"{name}.sample.txt",
        "result": LUA_RESULT_LINE,
    })
    return path


def run_rotating(port: int, script: Path, *, seconds: float, connections: int, threads: int) -> tuple[WrkResult,
                                                                                                       Answers]:
    result = run_wrk(port, "/graphql", script, seconds=seconds, connections=connections, threads=threads)
    counts = json.loads(script.with_suffix(".counts.json").read_text())
    sample = script.with_suffix(".sample.txt").read_text(errors="replace")
    return result, Answers(counts["ok"], counts["sold_out"], counts["limit_exceeded"], counts["other"], sample)


# --------------------------------------------------------------------------------------------------------------------
# The burst: many customers tapping at once, counted exactly
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Burst:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    by_customer: Counter[str] = field(default_factory=Counter)  # units each customer was sold
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    orders: list[tuple[str, str]] = field(default_factory=list)  # (customer, order id) of each succeeding buy

    @property
    def attempts(self) -> int:
        return len(self.latencies_ms) + sum(self.failures.values())


async def burst(client: Any, tokens: dict[str, str], customers: Sequence[str], taps: int, sale_gid: str,
                sku_gid: str, concurrency: int) -> Burst:
    """Every customer taps `taps` times (one unit, a key per tap), the taps of one customer one after another in
    the queue, so that they are in flight together; `concurrency` requests at a time."""
    tally = Burst()
    attempts = [(user, tap) for user in customers for tap in range(taps)]

    async def one(attempt: tuple[str, int]) -> None:
        user, tap = attempt
        variables = json.loads(buy_body(sale_gid, sku_gid, f"burst-{user}-{tap}"))["variables"]
        try:
            data, elapsed = await graphql(client, "FlashSaleBuy", BUY, variables, tokens[user])
        except (BenchError, OSError) as exc:
            tally.failures[str(exc)[:160]] += 1
            return
        except Exception as exc:  # httpx's transport errors: the server dropped the connection
            tally.failures[f"{type(exc).__name__}: {exc}"[:160]] += 1
            return
        tally.latencies_ms.append(elapsed)
        payload = data["flashSaleBuy"]
        if payload["errors"]:
            tally.outcomes[payload["errors"][0]["code"]] += 1
        elif payload["order"] is None or payload["payment"] is not None:
            tally.failures[f"no order, or a payment at the admit: {payload}"[:160]] += 1
        else:
            tally.outcomes["OK"] += 1
            tally.by_customer[user] += 1
            tally.orders.append((user, payload["order"]["id"]))

    start = time.perf_counter()
    await in_parallel(attempts, concurrency, one)
    tally.seconds = time.perf_counter() - start
    return tally


async def pay_through_order_pay(client: Any, tokens: dict[str, str], orders: Sequence[tuple[str, str]],
                                concurrency: int) -> Counter[str]:
    """Each buyer taps 去支付 on the order a buy answered: `orderPay` (a WeChat Pay prepay). OK or the error code."""
    seen: Counter[str] = Counter()

    async def one(order: tuple[str, str]) -> None:
        user, order_id = order
        try:
            data, _ = await graphql(client, "OrderPay", ORDER_PAY, {"input": {"orderId": order_id}}, tokens[user])
        except Exception as exc:  # a BenchError, or httpx's transport errors: counted, not fatal
            seen[f"{type(exc).__name__}: {exc}"[:160]] += 1
            return
        payload = data["orderPay"]
        seen[payload["errors"][0]["code"] if payload["errors"] else
             "OK" if payload["payment"] is not None else "no payment"] += 1

    await in_parallel(orders, concurrency, one)
    return seen


def burst_result(tally: Burst) -> WrkResult:
    """The burst as a table row (client-side latencies)."""
    failed = sum(tally.failures.values())
    return WrkResult(len(tally.latencies_ms), tally.seconds, percentile(tally.latencies_ms, 50),
                     percentile(tally.latencies_ms, 99), {"failed": failed} if failed else {})


async def sample_answers(client: Any, tokens: Sequence[str], sale_gid: str, sku_gid: str, label: str,
                         count: int) -> Counter[str]:
    """A few buys through httpx, their answers parsed in full: the error code, or OK."""
    seen: Counter[str] = Counter()
    for i in range(count):
        variables = json.loads(buy_body(sale_gid, sku_gid, f"{label}-{i}"))["variables"]
        data, _ = await graphql(client, "FlashSaleBuy", BUY, variables, tokens[i % len(tokens)])
        payload = data["flashSaleBuy"]
        seen[payload["errors"][0]["code"] if payload["errors"] else "OK"] += 1
    return seen


# --------------------------------------------------------------------------------------------------------------------
# The Lua script called directly
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRun:
    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    outcomes: dict[str, int]

    def as_row(self) -> WrkResult:
        return WrkResult(self.calls, self.seconds, self.p50_ms, self.p99_ms, {})


async def raw_take(seconds: float, concurrency: int, *, sold_out: bool,
                   around: tuple[Callable[[], object], Callable[[object], None]] | None = None) -> RawRun:
    """RedisFlashPool.take (the server's EVALSHA, here with one attempt each) from `concurrency` asyncio tasks sharing
    one connection pool, against a pool loaded apart from the server's: with units for every call, or with none
    left. `around`: called just before the first measured call and just after the last (its first call's result goes
    to the second)."""
    import redis.asyncio as aioredis

    from domain.flash_sale.pool import PoolState, Take
    from domain.flash_sale.redis_pool import RedisFlashPool

    pool = aioredis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=concurrency, timeout=5)
    client = aioredis.Redis(connection_pool=pool)
    flash = RedisFlashPool(client, prefix=RAW_PREFIX)
    sale_id, sku_id = (2, 1) if sold_out else (1, 1)
    now = int(time.time() * 1000)
    try:
        await flash.drop(sale_id)
        await flash.load(PoolState(sale_id, now - 60_000, now + 3_600_000, 99, {sku_id: 0 if sold_out else 10**9}))
        customers = itertools.count(1)
        await asyncio.gather(*(flash.take(sale_id, sku_id, next(customers), 1, f"k:0:warm-{i}", now)
                               for i in range(concurrency)))  # opens the pool's connections, loads the script
        latencies: list[int] = []
        outcomes: Counter[str] = Counter()
        token = around[0]() if around else None
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                customer = next(customers)
                t0 = time.perf_counter_ns()
                outcome = await flash.take(sale_id, sku_id, customer, 1, f"k:{customer}:raw-{customer}",
                                           int(time.time() * 1000))
                latencies.append(time.perf_counter_ns() - t0)
                outcomes[outcome.value] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        if around:
            around[1](token)
        expected = Take.SOLD_OUT if sold_out else Take.OK
        if set(outcomes) != {expected.value}:
            raise BenchError(f"raw take ({'sold out' if sold_out else 'units left'}): answers {dict(outcomes)}")
        ms = [n / 1e6 for n in latencies]
        return RawRun(len(latencies), elapsed, percentile(ms, 50), percentile(ms, 99), dict(outcomes))
    finally:
        await flash.drop(sale_id)
        await client.aclose()
        await pool.aclose()


def take_script_sha() -> str:
    from hashlib import sha1

    from domain.flash_sale.redis_pool import _TAKE

    return sha1(_TAKE.encode()).hexdigest()


async def redis_benchmark_take(connections: int, calls: int, *, sold_out: bool) -> float | None:
    """The same EVALSHA from redis-benchmark (C, `connections` connections, a random customer and holder per call):
    Redis's own ceiling for the script, without a Python client in the way. None without redis-benchmark."""
    import csv
    import shutil
    import subprocess

    import redis.asyncio as aioredis

    from domain.flash_sale.pool import PoolState
    from domain.flash_sale.redis_pool import RedisFlashPool

    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    client = aioredis.Redis.from_url(REDIS_URL)
    flash = RedisFlashPool(client, prefix=RAW_PREFIX)
    sale_id = 4 if sold_out else 3
    now = int(time.time() * 1000)
    try:
        await flash.drop(sale_id)
        await flash.load(PoolState(sale_id, now - 60_000, now + 3_600_000, 99, {1: 0 if sold_out else 10**9}))
        await flash.take(sale_id, 1, 1, 1, "k:1:warm", now)  # loads the script (EVALSHA needs it there)
        sha = take_script_sha()
        argv = [binary, "-h", "127.0.0.1", "-p", "6379", "-c", str(connections), "-n", str(calls),
                "-r", "1000000000", "--csv", "EVALSHA", sha, "4", *flash.keys(sale_id), str(now), "1",
                "__rand_int__", "1", "k:__rand_int__:rb"]
        done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise BenchError(f"redis-benchmark failed: {done.stderr.strip() or done.stdout.strip()}")
        rows = list(csv.DictReader(done.stdout.splitlines()))
        left = (await flash.left(sale_id, [1]))[1]
        taken = 0 if sold_out else 10**9 - 1 - (left or 0)
        # a random holder or customer drawn twice is answered HELD or LIMIT_EXCEEDED: a handful in 10^5 calls
        if left is None or (left != 0 if sold_out else not 0.99 * calls <= taken <= calls):
            raise BenchError(f"redis-benchmark: {left} units left in its pool after {calls} calls")
        return float(rows[0]["rps"])
    finally:
        await flash.drop(sale_id)
        await client.aclose()
