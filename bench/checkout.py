"""Checkout benchmark: N customers check out one SKU and pay through the WeChat Pay simulator, 32 at a time.

    python bench/checkout.py [--customers 400] [--stock 300] [--concurrency 32] [--product-seconds 5]
                             [--rate R] [--embedded-simulator] [--profile FILE] [--plain]

--rate R: an open loop instead (a customer starts every 1/R s, however many are in flight): the p99 at that rate.
Without --rate, the closed loop is followed by an open one at 0.75 x the rate it placed and paid orders at
(--open-loop-customers, on another SKU, every one placing and paying): the checkout p99 at that rate, measured in
the same run (target < 150 ms).

One `pond serve` (one uvicorn worker) on PostgreSQL (database `pond_bench_checkout`, dropped and recreated) and
Redis (keys under the prefix `benchco`), with the demo catalog, and WeChat's two hosts as processes of their own, as
in bench/flash_sale.py: the WeChat Pay simulator (`python -m payments.simulator --keys-dir …`) and the code2Session
simulator, Pond pointed at them through its POND_WECHAT_* / POND_WECHATPAY_* settings as it would be at WeChat, and
POND_PUBLIC_URL set to the server's own address. So the simulator's work (checking Pond's request signatures,
signing its answers, encrypting, signing and sending the notifications) is billed to its process, not to Pond's, as
in production where WeChat Pay is another host. One SKU's stock is set to --stock, fewer units than customers, so
the last buyers are told SOLD_OUT. Every customer logs in (`login`, codes `benchN#1`, Pond calling code2Session over
HTTP), then --concurrency of them at a time call `checkout` for one unit (Pond asking the simulator for a prepay over
HTTP) and, when they get a payment, play the user through the simulator's control API on its own port
(`POST /__sim/pay`); the simulator then POSTs its signed notification to Pond's `/payments/wechat/notify` over HTTP.
After every notification is delivered (the simulator's `GET /__sim/notifications` polled), PostgreSQL and the Redis
counter are read back. Then wrk drives `product(id)` on the same server for the floor a single request pays.

`--embedded-simulator` runs the old way, for comparison: Pond's embedded simulators inside the server process
(mounted at `/__sim/wechatpay`), prepays and notifications passed in-process, the simulator's CPU charged to the
server's.

Prints checkouts/s, p50/p99 of `checkout` and of the notify handler, oversold units (must be 0), stock left (must be
the start minus the paid units), the `product(id)` rate, CPU used by the client, the server, PostgreSQL, Redis and
each simulator process (server CPU per checkout, and the WeChat Pay simulator's), and PASS/BELOW for "checkout p99 <
150 ms at 32 concurrent customers". `--profile FILE` records the server with py-spy (`.venv/bin/py-spy`, 200 samples
a second, raw collapsed stacks in FILE) from the start of the measured checkouts until they end, when SIGINT stops it,
and prints self and inclusive time by package and by Pond function (the measured run is slowed by the sampling).

The notify handler is timed inside the server: the server is `pond serve` started through `_serve` (in
`bench/_checkout_server.py`), which adds two timers from outside Pond's code, one around the notify endpoints and one
around requests carrying the header `x-bench-op` (the server-side half of every client latency). With the standalone
simulator the notifications pass through `RequestIdMiddleware` like any request, so `/metrics` counts them (checked
against the simulator's delivery attempts); the embedded simulator delivers them to the inner Starlette app, past
it, so `/metrics` never sees them. `--plain` runs `pond serve` untouched (no server-side timings then). The
customers are in `bench/_checkout_load.py`, the printed report in `bench/_checkout_report.py`.

Exit status: 0 after a consistent measurement whatever the latency, 1 if units were oversold, the stock, the
reservations or the Redis counter do not add up, a notification or a request failed, or a server failed to start.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._checkout_load import (
    Delivery,
    Tally,
    graphql,
    log_in,
    metrics_notify_count,
    server_timings,
    shop,
    simulator_base_url,
    wait_for_notifications,
)
from bench._checkout_report import LOGIN_SIMULATOR, PAY_SIMULATOR, Cpu, report
from bench._checkout_server import (
    DATABASE,
    DATABASE_URL,
    REDIS_PREFIX,
    REDIS_URL,
    WeChat,
    pond_server,
    wechat_simulators,
)
from bench._flash_sale_load import token_refresh_body
from bench._harness import (
    HOST,
    BenchError,
    Server,
    WrkResult,
    background_cpu,
    bench_main,
    delete_redis_keys,
    fresh_demo_database,
    lua_post_script,
    process_cpu_seconds,
    require_wrk,
    run_event_loop,
    run_wrk,
    running,
)
from domain.inventory.redis_counter import RedisStockCounter

OPEN_LOOP_CONNECTIONS = 512  # an open loop: enough that arrivals never wait for a client connection
OPEN_LOOP_SHARE = 0.75
"""The open-loop phase offers this share of the closed loop's checkouts/s."""
REDIS_PATTERNS = (f"{REDIS_PREFIX}:*", f"{{{REDIS_PREFIX}:*")  # plain keys and hash-tagged ones ({benchco:stock:1}:…)
PROFILE_RATE = 200  # py-spy samples per second
PY_SPY = Path(sys.executable).with_name("py-spy")
PRODUCT = """query Product($id: ID!) {
  product(id: $id) {
    id title subtitle images description
    priceRange { min { amount currency } max { amount currency } }
    category { id name }
    skus { id specs { name value } price { amount currency } originalPrice { amount currency } available }
  }
}"""
FLOOR = PRODUCT.removesuffix("}") + """  me { id }
}"""
"""The floor a request pays: `me` makes it the customer's own answer, which the catalog cache never serves."""


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


# --------------------------------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    sku_id: int
    product_id: int
    warmup_sku_id: int


async def prepare_database(stock: int, warmup_units: int) -> Target:
    """Fresh database, Pond's migrations and demo catalog; one SKU's stock set to `stock`, nothing reserved; another
    (the warm-up's and the open loop's) with at least `warmup_units`."""
    import asyncpg

    await fresh_demo_database(DATABASE, DATABASE_URL)
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch(
            "SELECT s.id, s.product_id, s.stock FROM catalog_sku s JOIN catalog_product p ON p.id = s.product_id"
            " WHERE p.published AND p.deleted_at IS NULL AND s.deleted_at IS NULL AND s.price > 0"
            " ORDER BY p.sort_order, p.id, s.id"
        )
        if len(rows) < 2:
            raise BenchError("the demo catalog has fewer than two SKUs for sale")
        target = rows[0]
        warmup = max((r for r in rows if r["product_id"] != target["product_id"]), key=lambda r: r["stock"])
        if warmup["stock"] < warmup_units:
            await conn.execute("UPDATE catalog_sku SET stock = $2 WHERE id = $1", warmup["id"], warmup_units)
        await conn.execute("UPDATE catalog_sku SET stock = $2, reserved = 0 WHERE id = $1", target["id"], stock)
        return Target(target["id"], target["product_id"], warmup["id"])
    finally:
        await conn.close()


@dataclass(frozen=True)
class Ledger:
    """The target SKU as PostgreSQL and the Redis counter see it after the run."""

    stock: int
    reserved: int
    units_by_status: dict[str, int]
    orders_by_status: dict[str, int]
    reservations: dict[str, int]
    payments_succeeded: int
    counter: int | None


async def read_back(sku_id: int) -> Ledger:
    import asyncpg
    import redis.asyncio as aioredis

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        sku = await conn.fetchrow("SELECT stock, reserved FROM catalog_sku WHERE id = $1", sku_id)
        assert sku is not None, f"no SKU {sku_id}"
        lines = await conn.fetch(
            "SELECT o.status, count(DISTINCT o.id) AS orders, sum(l.quantity) AS units FROM orders_order o"
            " JOIN orders_line l ON l.order_id = o.id WHERE l.sku_id = $1 GROUP BY o.status", sku_id)
        held = await conn.fetch(
            "SELECT state, sum(quantity) AS units FROM inventory_reservation WHERE sku_id = $1 GROUP BY state", sku_id)
        succeeded = await conn.fetchval(
            "SELECT count(*) FROM orders_payment p WHERE p.status = 'SUCCEEDED' AND p.order_id IN"
            " (SELECT order_id FROM orders_line WHERE sku_id = $1)", sku_id)
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        counter = await client.hget(RedisStockCounter(client, prefix=REDIS_PREFIX).count_key(sku_id), "units")
    finally:
        await client.aclose()
    return Ledger(stock=sku["stock"], reserved=sku["reserved"],
                  units_by_status={r["status"]: int(r["units"]) for r in lines},
                  orders_by_status={r["status"]: int(r["orders"]) for r in lines},
                  reservations={r["state"]: int(r["units"]) for r in held},
                  payments_succeeded=int(succeeded), counter=None if counter is None else int(counter))


# --------------------------------------------------------------------------------------------------------------------
# Profiling
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Recording:
    path: Path
    seconds: float = 0.0  # from the start of the measured phase to py-spy's stop


@contextlib.contextmanager
def profiling(pid: int, path: Path | None) -> Iterator[Recording | None]:
    """py-spy recording `pid` for as long as the block runs (the measured phase's length is not known in advance): no
    duration is given, and SIGINT, py-spy's Ctrl-C, stops it and makes it write `path`."""
    if path is None:
        yield None
        return
    argv = [str(PY_SPY), "record", "-p", str(pid), "-r", str(PROFILE_RATE), "-f", "raw", "--threads",
            "--full-filenames", "--nolineno", "-o", str(path)]
    path.unlink(missing_ok=True)
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    recording = Recording(path)
    try:
        time.sleep(0.5)  # py-spy attaches; the server is idle meanwhile, and py-spy leaves idle samples out
        if spy.poll() is None:  # else it failed at once: its message is raised below
            started = time.perf_counter()
            yield recording
            recording.seconds = time.perf_counter() - started
    finally:
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
            raise BenchError("py-spy did not stop within 60s of SIGINT") from None
    if spy.returncode != 0 or not path.exists():
        raise BenchError(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace').strip()}")


# --------------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    target: Target
    tally: Tally
    seconds: float
    cpu: Cpu
    delivery: Delivery
    timings: dict[str, list[float]]
    ledger: Ledger
    product: WrkResult
    metrics_notify: float | None
    server_pid: int
    warmup_customers: int
    simulator_pids: dict[str, int]  # WeChat's hosts as processes of their own; empty with --embedded-simulator
    profile: Recording | None
    open_loop: OpenLoop | None
    trivial: Trivial


@dataclass(frozen=True)
class Trivial:
    """`tokenRefresh` under wrk on the same server, once before the checkouts and once after: the floor any mutation
    pays, in server CPU per request (both runs together, so a machine that runs faster or slower for a while, as
    this one does by up to half between runs, weighs on both sides of the ratio)."""

    runs: list[tuple[WrkResult, float | None]]  # each run with the server's CPU seconds over it

    @property
    def cpu_per_request(self) -> float | None:
        if any(cpu is None for _, cpu in self.runs) or not sum(result.requests for result, _ in self.runs):
            return None
        return sum(cpu or 0.0 for _, cpu in self.runs) / sum(result.requests for result, _ in self.runs)

    def each(self) -> list[float | None]:
        return [None if cpu is None or not result.requests else cpu / result.requests for result, cpu in self.runs]


def measure_trivial(server: Server, token: str, workdir: Path, args: argparse.Namespace) -> tuple[WrkResult,
                                                                                                   float | None]:
    """One `tokenRefresh` run under wrk (after a second's warm-up) and the server's CPU seconds over it."""
    assert server.process is not None
    threads = min(2, args.concurrency)
    script = lua_post_script(token_refresh_body(), workdir, headers={"Authorization": f"Bearer {token}"})
    run_wrk(server.port, "/graphql", script, seconds=1, connections=args.concurrency, threads=threads)
    busy = background_cpu()
    cpu_before = process_cpu_seconds(server.process.pid)
    refreshed = run_wrk(server.port, "/graphql", script, seconds=args.product_seconds, connections=args.concurrency,
                        threads=threads)
    cpu_after = process_cpu_seconds(server.process.pid)
    return (dataclasses.replace(refreshed, background_cpu=busy),
            None if cpu_before is None or cpu_after is None else cpu_after - cpu_before)


@dataclass(frozen=True)
class OpenLoop:
    """The phase after the closed loop: customers arriving at a fixed share of its rate."""

    share: float  # of the closed loop's rate
    rate: float
    tally: Tally
    seconds: float


async def drive(server: Server, wechat: WeChat | None, target: Target, args: argparse.Namespace,
                workdir: Path) -> Run:
    import httpx

    assert server.process is not None
    hosts = [] if wechat is None else [(PAY_SIMULATOR, wechat.pay), (LOGIN_SIMULATOR, wechat.login)]
    sim_pids = {name: host.process.pid for name, host in hosts if host.process is not None}
    # idle connections are dropped well before uvicorn's 5 s keep-alive timeout (httpx's default expiry is the same
    # 5 s), so that a connection the server is closing at that moment is never reused
    connections = max(args.concurrency, OPEN_LOOP_CONNECTIONS)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0)
    sim_url = simulator_base_url(server.port, None if wechat is None else wechat.pay.port)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", limits=limits, timeout=30.0) as client, \
            httpx.AsyncClient(base_url=sim_url, limits=limits, timeout=30.0) as sim:
        sku, warm_sku = global_id("Sku", target.sku_id), global_id("Sku", target.warmup_sku_id)
        product_id = global_id("Product", target.product_id)
        data, _ = await graphql(client, "Product", PRODUCT, {"id": product_id})
        skus = {s["id"]: s for s in (data["product"] or {}).get("skus", [])}
        if skus.get(sku, {}).get("available") != args.stock:
            raise BenchError(f"product {product_id}: SKU {sku} not offered with {args.stock} available: {skus}")

        customers = [f"bench{i}" for i in range(args.customers)]
        warm = [f"benchwarm{i}" for i in range(args.warmup)]
        arriving = [f"benchopen{i}" for i in range(open_loop_customers(args))]
        print(f"  logging in {len(customers) + len(warm) + len(arriving)} customers", flush=True)
        tokens = await log_in(client, [*warm, *customers, *arriving], args.concurrency)

        if warm:
            print(f"  warm-up: {len(warm)} customers buy another SKU and pay", flush=True)
            warm_tally, _ = await shop(client, sim, {u: tokens[u] for u in warm}, warm_sku, args.concurrency,
                                       "warm")
            if warm_tally.failures or warm_tally.paid != len(warm):
                raise BenchError(f"warm-up: {warm_tally.paid} paid of {len(warm)}: {dict(warm_tally.failures)}")
            await wait_for_notifications(sim, len(warm), args.notify_timeout)
        print(f"  tokenRefresh: {args.product_seconds:g}s with wrk at {args.concurrency} connections (the trivial "
              "mutation: server CPU per request; measured again after the checkouts)", flush=True)
        trivial_before = measure_trivial(server, tokens[(warm or customers)[0]], workdir, args)
        await server_timings(client)  # drop the warm-up's (and tokenRefresh's)

        pace = f"{args.concurrency} at a time" if args.rate is None else f"one every {1000 / args.rate:.1f} ms"
        print(f"  measured: {args.customers} customers, {pace}, {args.stock} units in stock", flush=True)
        busy = background_cpu()
        with profiling(server.process.pid, args.profile) as recording:
            before = Cpu.now(server.process.pid, sim_pids)
            tally, seconds = await shop(client, sim, {u: tokens[u] for u in customers}, sku, args.concurrency,
                                        "bench", rate=args.rate)
            cpu = Cpu.now(server.process.pid, sim_pids).since(before)
        cpu = dataclasses.replace(cpu, idle_before=None if busy is None else 1 - busy)
        delivery = await wait_for_notifications(sim, len(warm) + tally.paid, args.notify_timeout)
        timings = await server_timings(client)
        ledger = await read_back(target.sku_id)
        notify_requests = metrics_notify_count(server.port)  # the closed loop's (and the warm-up's)

        open_loop = None
        if arriving:
            # Like for like: every open-loop customer places and pays, while the closed loop's last buyers were
            # answered SOLD_OUT, a far cheaper request that would inflate its rate.
            closed_rate = tally.paid / seconds
            offered = OPEN_LOOP_SHARE * closed_rate
            print(f"  open loop: {len(arriving)} customers, one every {1000 / offered:.1f} ms "
                  f"({OPEN_LOOP_SHARE:g} x the closed loop's {closed_rate:.1f} placed and paid/s), on the warm-up's "
                  "SKU", flush=True)
            arrived, open_seconds = await shop(client, sim, {u: tokens[u] for u in arriving}, warm_sku,
                                               args.concurrency, "open", rate=offered)
            if arrived.failures or arrived.paid != len(arriving):
                raise BenchError(f"open loop: {arrived.paid} paid of {len(arriving)}: {dict(arrived.failures)}")
            await wait_for_notifications(sim, len(warm) + tally.paid + arrived.paid, args.notify_timeout)
            open_loop = OpenLoop(OPEN_LOOP_SHARE, offered, arrived, open_seconds)

        print(f"  product(id): {args.product_seconds:g}s with wrk at {args.concurrency} connections, authenticated, "
              "with `me` (never cached)",
              flush=True)
        body = json.dumps({"query": FLOOR, "variables": {"id": product_id}, "operationName": "Product"},
                          separators=(",", ":")).encode()
        token = tokens[customers[0]]
        reply = await client.post("/graphql", content=body, headers={"content-type": "application/json",
                                                                      "authorization": f"Bearer {token}"})
        if reply.status_code != 200 or "errors" in reply.json() or "x-pond-cache" in reply.headers:
            raise BenchError(f"product(id) with a token: HTTP {reply.status_code} {reply.headers} {reply.text[:200]}")
    script = lua_post_script(body, workdir, headers={"Authorization": f"Bearer {token}"})
    busy = background_cpu()
    threads = min(2, args.concurrency)
    run_wrk(server.port, "/graphql", script, seconds=1, connections=args.concurrency, threads=threads)
    product = run_wrk(server.port, "/graphql", script, seconds=args.product_seconds, connections=args.concurrency,
                      threads=threads)
    product = dataclasses.replace(product, background_cpu=busy)

    print(f"  tokenRefresh again: {args.product_seconds:g}s with wrk at {args.concurrency} connections", flush=True)
    trivial = Trivial([trivial_before, measure_trivial(server, token, workdir, args)])
    return Run(args, target, tally, seconds, cpu, delivery, timings, ledger, product,
               notify_requests, server.process.pid, len(warm), sim_pids, recording, open_loop, trivial)


def open_loop_customers(args: argparse.Namespace) -> int:
    """Customers of the open-loop phase (none when --rate makes the measured phase itself an open loop)."""
    return 0 if args.rate is not None else args.open_loop_customers


def run(args: argparse.Namespace) -> int:
    require_wrk()
    started = time.perf_counter()
    delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    try:
        print(f"preparing {DATABASE}: migrations, demo catalog, stock {args.stock}", flush=True)
        target = asyncio.run(prepare_database(args.stock, args.warmup + open_loop_customers(args)))
        with tempfile.TemporaryDirectory(prefix="pond-bench-checkout-") as tmp, contextlib.ExitStack() as stack:
            workdir = Path(tmp)
            wechat = None if args.embedded_simulator else stack.enter_context(wechat_simulators(workdir))
            with running(pond_server(workdir, args, wechat)) as server:
                assert server.process is not None
                where = ("WeChat Pay simulator embedded" if wechat is None else
                         f"WeChat Pay simulator on {wechat.pay.port}, code2Session on {wechat.login.port}")
                print(f"  server up on port {server.port}, pid {server.process.pid}; {where}", flush=True)
                try:
                    outcome = run_event_loop(drive(server, wechat, target, args, workdir))
                except BenchError as exc:
                    logs = "".join(f"\n--- {s.name} log ---\n{s.log_tail()}"
                                   for s in (server, *([] if wechat is None else [wechat.pay])))
                    raise BenchError(f"{exc}{logs}") from None
    finally:
        delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    ok = report(outcome)
    if outcome.profile is not None:
        from bench._flash_sale_profile import print_profile

        attempts = len(outcome.tally.checkout_ms)
        print()
        print_profile(outcome.profile.path, f"the measured checkouts ({outcome.seconds:.2f}s)",
                      outcome.profile.seconds, attempts, PROFILE_RATE)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=400, help="customers buying one unit each (default 400)")
    parser.add_argument("--stock", type=int, default=300, help="units of the SKU on sale (default 300)")
    parser.add_argument("--concurrency", type=int, default=32, help="customers at a time (default 32)")
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: start a customer every 1/RATE s, however many are in flight (instead of "
                             "--concurrency at a time); the report shows how many were in flight")
    parser.add_argument("--warmup", type=int, default=32, help="customers buying another SKU first (default 32)")
    parser.add_argument("--open-loop-customers", type=int, default=300,
                        help=f"customers arriving at {OPEN_LOOP_SHARE:g} x the closed loop's rate after it, for the "
                        "p99 of an open loop in the same run (default 300; 0: no such phase)")
    parser.add_argument("--product-seconds", type=float, default=5.0, help="wrk on product(id) (default 5)")
    parser.add_argument("--notify-timeout", type=float, default=30.0, help="wait for notifications (default 30)")
    parser.add_argument("--pool-max", type=int, default=None,
                        help="the server's PostgreSQL pool size (POND_DB_POOL_SIZE); default: Pond's")
    parser.add_argument("--plain", action="store_true", help="run `pond serve` without the bench's timers")
    parser.add_argument("--embedded-simulator", action="store_true",
                        help="the old way, for comparison: Pond's embedded WeChat simulators, inside the server "
                        "process, instead of processes of their own")
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE",
                        help="record the server with py-spy during the measured checkouts (raw collapsed stacks in "
                        "FILE) and print where its time goes")
    args = parser.parse_args(argv)
    if args.profile is not None and not PY_SPY.exists():
        parser.error(f"--profile needs py-spy at {PY_SPY}")
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.parent.mkdir(parents=True, exist_ok=True)
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate > 0")
    if (args.customers < 1 or not 0 <= args.stock or args.concurrency < 1 or args.warmup < 0
            or args.open_loop_customers < 0):
        parser.error("--customers >= 1, --stock >= 0, --concurrency >= 1, --warmup >= 0, --open-loop-customers >= 0")
    if args.product_seconds < 1:
        parser.error("--product-seconds >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "server")


if __name__ == "__main__":
    sys.exit(main())
