"""Flash sale benchmark: buyers on a flash sale's pool through the real HTTP API, against the floor any mutation pays.

    python bench/flash_sale.py [--customers 1000] [--connections 32] [--seconds 5] [--success-limit 10]
                               [--burst-pool 100] [--burst-limit 2] [--burst-customers 1000] [--burst-taps 3]
                               [--profile DIR]

One `pond serve` (one uvicorn worker) on PostgreSQL (database `pond_bench_flash`, dropped and recreated, Pond's
migrations and demo catalog) and Redis (keys under the prefix `benchfs`, deleted before and after), with WeChat's two
hosts as processes of their own: the WeChat Pay simulator (`python -m payments.simulator`) and the code2Session
simulator, Pond pointed at them through its POND_WECHAT_* / POND_WECHATPAY_* settings as it would be at WeChat
(`bench/_flash_sale_server.py`). An OWNER is created with Pond's own create_staff, logs in (`staffLogin`) and creates
two running flash sales through `flashSaleCreate`; --customers customers log in through code2Session (`login`).

Phases, on the same server, in this order (wrk -t2 -c32 for 5 s after a 1 s warm-up, customers taking turns, one
idempotency key per request; `bench/_flash_sale_load.py`):

  idle         the server idle for as long as a measured run: Redis's background rate (the catalog cache lease)
  trivial      `tokenRefresh`, an authenticated mutation that touches neither database: the floor any mutation pays
  success      `flashSaleBuy` on a pool of customers x limit units, so that every attempt succeeds: an order and its
               flash reservation each, written in group commits, answered with no payment (no WeChat Pay call)
  trivial      `tokenRefresh` again, right after the buys
  burst        --burst-customers customers tap --burst-taps times each (one unit a tap, a customer's taps in flight
               together, 64 at a time) on a pool of --burst-pool units, limit --burst-limit: counted exactly, then
               the buyers pay through `orderPay` (a WeChat Pay prepay each), and
               PostgreSQL and the Redis pool are read back (units sold = FlashSaleItem.taken = flash reservations,
               nobody over the limit, oversold = max(0, sold - pool) must be 0)
  sold out     `flashSaleBuy` on the emptied pool by the customers the burst sold nothing (a buyer at the limit is
               told LIMIT_EXCEEDED): every answer must be SOLD_OUT and no order may appear
  trivial      `tokenRefresh` a third time. Each ratio's floor is the mean of the two runs around its phase (the
               first two for the succeeding buys, the last two for the sold-out answers): this 2-core machine's pace
               drifts by tens of percent within a run
  raw Lua      RedisFlashPool.take (the same script, the same keys layout) from this process, 32 asyncio tasks on one
               connection pool, units left and sold out, and the same EVALSHA from redis-benchmark if installed

Around each measured run it reads Redis's INFO (EVALSHA calls, read events = round trips, commands), the server's
own count of operations (/metrics) and the CPU of the server, PostgreSQL, Redis, the simulators and the client.
Prints the table, the ratios succeeding buys / trivial mutation (target >= 0.5) and sold-out answers / trivial
mutation (target >= 0.9), Redis round trips and CPU per attempt, the group commit during the succeeding buys
(/metrics pond_group_commit_*: batches, the writer's busy share, a buy's wait for its batch), and the checks.
--profile DIR records the server with py-spy during the first measured trivial run and the measured success and
sold-out runs (collapsed stacks in DIR; those runs are then slowed by the sampling) and prints where the time goes.

Exit status: 0 after a consistent measurement whatever the ratios; 1 if units were oversold, a count does not add
up, a request failed or answered wrongly, or a server failed to start.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._checkout_load import log_in
from bench._flash_sale_data import (
    STAFF_USERNAME,
    Sku,
    count_orders,
    pk_of,
    prepare_database,
    read_sale,
    sequential_scans,
)
from bench._flash_sale_load import (
    KEY_SLOT,
    Answers,
    Burst,
    RawRun,
    burst,
    burst_result,
    buy_body,
    create_sale,
    operation_count,
    pay_through_order_pay,
    raw_take,
    redis_benchmark_take,
    rotating_script,
    run_rotating,
    sample_answers,
    staff_login,
    token_refresh_body,
    writer_counts,
)
from bench._flash_sale_report import CpuCounts, RedisCounts, Window, report
from bench._flash_sale_server import (
    DATABASE,
    REDIS_PATTERNS,
    REDIS_URL,
    login_simulator,
    make_keys,
    pay_simulator,
    pond_server,
)
from bench._harness import (
    HOST,
    BenchError,
    Server,
    WrkResult,
    background_cpu,
    bench_main,
    delete_redis_keys,
    process_rss_mb,
    require_wrk,
    run_event_loop,
    running,
)

WARMUP_SECONDS = 1
PROFILE_RATE = 250  # py-spy samples per second


# --------------------------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Meter:
    """Takes the snapshots around a phase."""

    server: Server
    simulators: list[Server]
    redis: Any  # a synchronous redis.Redis for INFO

    def _cpu(self) -> CpuCounts:
        assert self.server.process is not None
        return CpuCounts.now(self.server.process.pid,
                             [s.process.pid for s in self.simulators if s.process is not None])

    def start(self) -> tuple[RedisCounts, CpuCounts, dict[str, float]]:
        writer = writer_counts(self.server.port)  # first: the scrape's CPU falls outside the window
        return RedisCounts.now(self.redis), self._cpu(), writer

    def stop(self, name: str, started: tuple[RedisCounts, CpuCounts, dict[str, float]], operation: str | None,
             before_ops: float) -> Window:
        cpu = self._cpu().since(started[1])
        redis = RedisCounts.now(self.redis).since(started[0])
        ops = operation_count(self.server.port, operation) - before_ops if operation else 0.0
        writer = {what: n - started[2].get(what, 0.0) for what, n in writer_counts(self.server.port).items()}
        return Window(name, cpu.wall, redis, cpu, ops, writer=writer)


@dataclass
class Phase:
    window: Window
    result: WrkResult
    answers: Answers
    warm_answers: Answers
    operations: float  # warm-up and measured, as the server counted them


def wrk_phase(meter: Meter, workdir: Path, name: str, body: bytes, tokens: Sequence[str], label: str,
              operation: str, args: argparse.Namespace, profile: Path | None = None) -> Phase:
    """A 1 s warm-up, then the measured run between two snapshots."""
    port, threads = meter.server.port, min(2, args.connections)
    warm = rotating_script(workdir, f"{label}-warm", body, tokens, f"{label}w", threads)
    measured = rotating_script(workdir, label, body, tokens, label, threads)
    first_ops = operation_count(port, operation)
    _, warm_answers = run_rotating(port, warm, seconds=WARMUP_SECONDS, connections=args.connections,
                                   threads=threads)
    drain(port, operation)  # the warm-up's last requests finish
    busy = background_cpu()
    before_ops = operation_count(port, operation)
    spy = None
    if profile is not None:
        assert meter.server.process is not None
        spy_argv = [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(meter.server.process.pid),
                    "-d", str(round(args.seconds)), "-r", str(PROFILE_RATE), "-f", "raw", "--threads",
                    "--full-filenames", "--nolineno", "-o", str(profile)]
        spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # py-spy attaches
    started = meter.start()
    result, answers = run_rotating(port, measured, seconds=args.seconds, connections=args.connections,
                                   threads=threads)
    drain(port, operation)  # requests wrk gave up on at the end of its run finish in the server
    window = meter.stop(name, started, operation, before_ops)
    window.busy_before = busy
    if spy is not None:
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0:
            raise BenchError(f"py-spy failed: {err.decode(errors='replace').strip()}")
    result = dataclasses.replace(result, background_cpu=busy)
    return Phase(window, result, answers, warm_answers, operation_count(port, operation) - first_ops)


def drain(port: int, operation: str, quiet: float = 0.25, patience: float = 60.0) -> None:
    """Wait until the server has answered everything: its count of `operation` stops moving for `quiet` seconds."""
    deadline = time.monotonic() + patience
    last, still_since = operation_count(port, operation), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = operation_count(port, operation)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return
    raise BenchError(f"the server was still answering {operation} {patience:.0f}s after wrk stopped")


def profile_path(args: argparse.Namespace, phase: str) -> Path | None:
    return None if args.profile is None else args.profile / f"{phase}.txt"


def idle_window(meter: Meter, seconds: float) -> Window:
    started = meter.start()
    time.sleep(seconds)
    return meter.stop("idle", started, None, 0.0)


# --------------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    threads: int
    idle: Window
    floors: list[WrkResult]
    """The trivial mutation's runs: before the buys, between the succeeding buys and the burst, and at the end."""
    floor: WrkResult
    """The mean of every floor run (the table's row)."""
    success_floor: WrkResult
    """The mean of the floor runs just before and just after the succeeding buys: their ratio's denominator."""
    sold_out_floor: WrkResult
    """The mean of the floor runs around the burst and the sold-out answers: their ratio's denominator."""
    success: WrkResult
    sold_out: WrkResult
    burst: Burst
    burst_row: WrkResult
    burst_sold: int
    oversold: int
    raw_ok: RawRun
    raw_sold_out: RawRun
    redis_benchmark: dict[str, float]
    redis_windows: list[Window]
    cpu_windows: list[Window]
    checks: list[tuple[str, object, object]]
    orders: int
    seq_scans: list[tuple[str, int, int, int]]
    server_rss_mb: float | None = None
    """The server's resident memory once every phase has run (target < 200 MB)."""


def mean_floor(floors: Sequence[WrkResult]) -> WrkResult:
    seconds = sum(f.seconds for f in floors)
    requests = round(sum(f.rps for f in floors) / len(floors) * seconds)
    busy = [f.background_cpu for f in floors if f.background_cpu is not None]
    errors: dict[str, int] = {}
    for f in floors:
        for k, v in f.errors.items():
            errors[k] = errors.get(k, 0) + v
    return WrkResult(requests, seconds, sum(f.p50_ms for f in floors) / len(floors),
                     max(f.p99_ms for f in floors), errors, max(busy) if busy else None)


async def drive(server: Server, sims: list[Server], skus: list[Sku], staff_password: str,
                args: argparse.Namespace, workdir: Path) -> Run:
    import httpx
    import redis

    checks: list[tuple[str, object, object]] = []
    # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout closes them: reusing one at that very
    # moment is a ReadError that says nothing about Pond.
    limits = httpx.Limits(max_connections=args.burst_concurrency, max_keepalive_connections=args.burst_concurrency,
                          keepalive_expiry=2.0)
    client = httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", limits=limits, timeout=30.0)
    info = redis.Redis.from_url(REDIS_URL)
    meter = Meter(server, sims, info)
    try:
        staff = await staff_login(client, STAFF_USERNAME, staff_password)
        success_sku, burst_sku = skus
        success_pool = args.customers * args.success_limit
        success_gid = await create_sale(client, staff, "压测 success", success_sku.gid, success_sku.sale_price,
                                        success_pool, args.success_limit)
        burst_gid = await create_sale(client, staff, "压测 burst", burst_sku.gid, burst_sku.sale_price,
                                      args.burst_pool, args.burst_limit)
        success_id, burst_id = pk_of(success_gid), pk_of(burst_gid)

        print(f"  logging in {args.customers} customers through code2Session", flush=True)
        users = [f"bench{i}" for i in range(args.customers)]
        tokens = await log_in(client, users, 32)
        rotation = [tokens[u] for u in users]

        print(f"  idle: {args.seconds:g}s, Redis's background", flush=True)
        idle = idle_window(meter, args.seconds)

        def floor_phase(label: str) -> Phase:
            print(f"  trivial mutation (tokenRefresh): wrk {args.seconds:g}s", flush=True)
            phase = wrk_phase(meter, workdir, "trivial mutation", token_refresh_body(), rotation, label,
                              "TokenRefresh", args, profile=profile_path(args, "trivial") if label == "t1" else None)
            for answers, what in ((phase.warm_answers, "warm-up"), (phase.answers, "measured")):
                checks.append((f"tokenRefresh answers ok ({what}, of {answers.total})", answers.ok, answers.total))
            return phase

        floor_1 = floor_phase("t1")

        print(f"  flashSaleBuy, succeeding: wrk {args.seconds:g}s on a pool of {success_pool}", flush=True)
        success = wrk_phase(meter, workdir, "flashSaleBuy succeeding", buy_body(success_gid, success_sku.gid,
                            KEY_SLOT), rotation, "s", "FlashSaleBuy", args, profile=profile_path(args, "success"))
        floor_2 = floor_phase("t2")  # right after the buys, as the first right before: the machine's pace drifts
        for answers, what in ((success.warm_answers, "warm-up"), (success.answers, "measured")):
            checks.append((f"succeeding buys answered with an order ({what}, of {answers.total})", answers.ok,
                           answers.total))
        if success.answers.other or success.warm_answers.other:
            checks.append(("first odd answer", (success.answers.sample or success.warm_answers.sample)[:60], ""))
        ledger_a = await read_sale(success_id, success_sku.id)
        checks += [
            ("success sale: attempts the server ran = units taken", ledger_a.taken, round(success.operations)),
            ("success sale: flash reservations (units) = units taken", ledger_a.reserved, ledger_a.taken),
            ("success sale: orders = units taken", ledger_a.orders, ledger_a.taken),
            ("success sale: orders prepaid at the admit (the race calls no WeChat Pay)", ledger_a.prepaid, 0),
            ("success sale: Redis pool left = pool - taken", ledger_a.redis_left, ledger_a.pool - ledger_a.taken),
            ("success sale: customers over the limit", int(ledger_a.max_per_customer > args.success_limit), 0),
        ]

        print(f"  burst: {args.burst_customers} customers x {args.burst_taps} taps on a pool of {args.burst_pool}",
              flush=True)
        orders_before = await count_orders()
        tally = await burst(client, tokens, users[:args.burst_customers], args.burst_taps, burst_gid,
                            burst_sku.gid, args.burst_concurrency)
        print(f"  burst: the {len(tally.orders)} buyers pay through orderPay", flush=True)
        paying = await pay_through_order_pay(client, tokens, tally.orders, args.burst_concurrency)
        ledger_b = await read_sale(burst_id, burst_sku.id)
        sold = tally.outcomes.get("OK", 0)
        oversold = max(0, ledger_b.taken - ledger_b.pool, sold - args.burst_pool)
        expected_codes = {"OK", "SOLD_OUT", "LIMIT_EXCEEDED"}
        checks += [
            ("burst: failed requests", sum(tally.failures.values()), 0),
            ("burst: answers other than OK, SOLD_OUT, LIMIT_EXCEEDED",
             sum(v for k, v in tally.outcomes.items() if k not in expected_codes), 0),
            ("burst: oversold = max(0, sold - pool)", oversold, 0),
            ("burst: units sold = pool (nobody told SOLD_OUT while units were left)", sold, args.burst_pool),
            ("burst: FlashSaleItem.taken = units sold", ledger_b.taken, sold),
            ("burst: flash reservations (units) = units sold", ledger_b.reserved, sold),
            ("burst: order lines (units) = units sold", ledger_b.order_units, sold),
            ("burst: new orders = buys that succeeded", await count_orders() - orders_before, sold),
            ("burst: orderPay answered a payment for every order", paying.get("OK", 0), len(tally.orders)),
            ("burst: orders with a WeChat Pay prepay (through orderPay) = orders", ledger_b.prepaid,
             ledger_b.orders),
            ("burst: customers over the limit (PostgreSQL)", int(ledger_b.max_per_customer > args.burst_limit), 0),
            ("burst: customers over the limit (answers)",
             sum(1 for n in tally.by_customer.values() if n > args.burst_limit), 0),
            ("burst: Redis pool left = pool - taken", ledger_b.redis_left, ledger_b.pool - ledger_b.taken),
        ]

        print(f"  flashSaleBuy after sell-out: wrk {args.seconds:g}s", flush=True)
        orders_before = await count_orders()
        # The crowd that got nothing: a buyer at the sale's limit is told LIMIT_EXCEEDED (the limit comes first).
        crowd = [tokens[u] for u in users if u not in tally.by_customer]
        sold_out = wrk_phase(meter, workdir, "flashSaleBuy sold out", buy_body(burst_gid, burst_sku.gid, KEY_SLOT),
                             crowd, "o", "FlashSaleBuy", args, profile=profile_path(args, "sold-out"))
        sample = await sample_answers(client, crowd, burst_gid, burst_sku.gid, "sample", 20)
        after_b = await read_sale(burst_id, burst_sku.id)
        for answers, what in ((sold_out.warm_answers, "warm-up"), (sold_out.answers, "measured")):
            checks.append((f"sold-out answers SOLD_OUT ({what}, of {answers.total})", answers.sold_out,
                           answers.total))
        if sold_out.answers.other or sold_out.warm_answers.other:
            checks.append(("first odd answer", (sold_out.answers.sample or sold_out.warm_answers.sample)[:60], ""))
        checks += [
            ("sold out: 20 answers parsed in full, SOLD_OUT", sample.get("SOLD_OUT", 0), 20),
            ("sold out: orders created during the phase", await count_orders() - orders_before, 0),
            ("sold out: FlashSaleItem.taken unchanged", after_b.taken, ledger_b.taken),
            ("sold out: flash reservations unchanged", after_b.reserved, ledger_b.reserved),
            ("sold out: Redis pool left", after_b.redis_left, 0),
        ]

        floor_3 = floor_phase("t3")

        print(f"  raw Lua: RedisFlashPool.take from this process, {args.raw_seconds:g}s with units, "
              f"{args.raw_seconds:g}s sold out", flush=True)
        raw_windows: list[Window] = []

        def measured(name: str) -> tuple[Any, Any]:
            def stop(started: Any) -> None:
                raw_windows.append(meter.stop(name, started, None, 0.0))

            return meter.start, stop

        raw_ok = await raw_take(args.raw_seconds, args.connections, sold_out=False,
                                around=measured("raw Lua take, units left"))
        raw_sold_out = await raw_take(args.raw_seconds, args.connections, sold_out=True,
                                      around=measured("raw Lua take, sold out"))
        for window, raw in zip(raw_windows, (raw_ok, raw_sold_out), strict=True):
            window.operations = raw.calls
        benchmark: dict[str, float] = {}
        if args.redis_benchmark:
            for label, empty in (("units left", False), ("sold out", True)):
                rps = await redis_benchmark_take(args.connections, args.redis_benchmark, sold_out=empty)
                if rps is not None:
                    benchmark[label] = rps
        orders = await count_orders()
        scans = await sequential_scans()
        rss = None if server.process is None else process_rss_mb(server.process.pid)
    finally:
        await client.aclose()
        info.close()

    floors = [floor_1.result, floor_2.result, floor_3.result]
    floor_windows = [dataclasses.replace(floor.window, name=f"trivial mutation ({nth})")
                     for floor, nth in ((floor_1, "1st"), (floor_2, "2nd"), (floor_3, "3rd"))]
    windows = [floor_windows[0], success.window, floor_windows[1], sold_out.window, floor_windows[2], *raw_windows]
    return Run(args=args, threads=min(2, args.connections), idle=idle, floors=floors, floor=mean_floor(floors),
               success_floor=mean_floor(floors[:2]), sold_out_floor=mean_floor(floors[1:]),
               success=success.result, sold_out=sold_out.result, burst=tally, burst_row=burst_result(tally),
               burst_sold=sold, oversold=oversold, raw_ok=raw_ok, raw_sold_out=raw_sold_out,
               redis_benchmark=benchmark, redis_windows=windows, cpu_windows=windows, checks=checks,
               orders=orders, seq_scans=scans, server_rss_mb=rss)


def run(args: argparse.Namespace) -> int:
    require_wrk()
    started = time.perf_counter()
    delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    staff_password = secrets.token_urlsafe(18)
    try:
        print(f"preparing {DATABASE}: migrations, demo catalog, an OWNER", flush=True)
        stock = [args.customers * args.success_limit + 100, args.burst_pool + 100]
        skus = asyncio.run(prepare_database(stock, staff_password))
        with tempfile.TemporaryDirectory(prefix="pond-bench-flash-") as tmp:
            workdir = Path(tmp)
            keys_dir = workdir / "wechatpay-simulator"
            make_keys(keys_dir)
            with running(login_simulator()) as login, running(pay_simulator(keys_dir)) as pay:
                with running(pond_server(workdir, keys_dir, login, pay, args.pool_max)) as server:
                    assert server.process is not None
                    print(f"  server up on port {server.port}, pid {server.process.pid}; WeChat Pay simulator on "
                          f"{pay.port}, code2Session on {login.port}", flush=True)
                    try:
                        outcome = run_event_loop(drive(server, [login, pay], skus, staff_password, args, workdir))
                    except BenchError as exc:
                        raise BenchError(f"{exc}\n--- server log ---\n{server.log_tail()}") from None
    finally:
        delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    ok = report(outcome)
    if args.profile is not None:
        from bench._flash_sale_profile import print_profile

        for name, result in (("trivial", outcome.floors[0]), ("success", outcome.success),
                             ("sold-out", outcome.sold_out)):
            print()
            print_profile(profile_path(args, name), f"the measured {name} run", args.seconds, result.requests,
                          PROFILE_RATE)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers logged in (default 1000)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections and raw Lua tasks (default 32)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each measured wrk run (default 5)")
    parser.add_argument("--success-limit", type=int, default=10,
                        help="per-customer limit of the success sale, whose pool is customers x limit (default 10: "
                             "at 800 buys/s the 6 s of warm-up and run take about 5 units a customer)")
    parser.add_argument("--burst-pool", type=int, default=100, help="units in the burst's pool (default 100)")
    parser.add_argument("--burst-limit", type=int, default=2, help="per-customer limit in the burst (default 2)")
    parser.add_argument("--burst-customers", type=int, default=1000, help="customers in the burst (default 1000)")
    parser.add_argument("--burst-taps", type=int, default=3, help="taps per customer in the burst (default 3)")
    parser.add_argument("--burst-concurrency", type=int, default=64, help="burst requests at a time (default 64)")
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="each raw Lua run (default 3)")
    parser.add_argument("--redis-benchmark", type=int, default=100_000, metavar="CALLS",
                        help="calls per redis-benchmark run, 0 to skip (default 100000)")
    parser.add_argument("--pool-max", type=int, default=None,
                        help="the server's PostgreSQL pool size (POND_DB_POOL_SIZE); default: Pond's")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="record the server with py-spy during the measured success and sold-out runs "
                        "(collapsed stacks in DIR/success.txt and DIR/sold-out.txt)")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if min(args.customers, args.connections, args.success_limit, args.burst_pool, args.burst_limit,
           args.burst_customers, args.burst_taps, args.burst_concurrency) < 1:
        parser.error("counts must be >= 1")
    if args.burst_customers > args.customers:
        parser.error("--burst-customers <= --customers")
    if args.burst_customers * args.burst_taps < args.burst_pool or args.burst_customers * args.burst_limit < \
            args.burst_pool:
        parser.error("the burst must be able to empty its pool: burst customers x taps and x limit >= pool")
    if args.seconds < 1 or args.raw_seconds <= 0:
        parser.error("--seconds >= 1, --raw-seconds > 0")
    if args.success_limit > 99 or args.burst_limit > 99:
        parser.error("per-customer limits are at most 99")
    return args


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "servers")


if __name__ == "__main__":
    sys.exit(main())
