"""GC pause benchmark: how long the server's event loop stalls under a checkout load, with CPython's collector as it
comes and with server/gc_tuning.py (the start-up heap frozen, generation 0 collected every 20,000 allocations).

    python bench/gc_pauses.py [--customers 600] [--concurrency 32] [--warmup 32] [--rounds 1] [--thresholds G0,G1,G2]

The server, database and load of bench/checkout.py: `pond_bench_checkout` recreated with the demo catalog, one
`pond serve` worker on PostgreSQL and Redis, WeChat's two hosts as processes of their own, customers logging in,
checking out one unit and paying through the simulator, 32 at a time, every notification waited for. The server is
started once per variant, the untuned one first (`BENCH_GC_TUNING=0`: `tune_after_start_up` does nothing, so the
thresholds stay 700/10/10 and nothing is frozen), then the tuned one, each with its own customers on the same SKU
(never sold out). `--rounds N` repeats the pair; `--thresholds 5000,20,20` tries other thresholds in the tuned
server (its start-up heap still frozen).

Inside the server (bench/_gc_server.py) a task sleeps 2 ms at a time and records how much later than asked it woke
(a loop stall: some callback held the loop that long), and `gc.callbacks` time every collection by generation. Only
the measured checkouts count (after a warm-up of --warmup customers on another SKU). Prints per variant: checkouts/s
and checkout p99, the loop's max and p99 stall and how many stalls passed 10 and 50 ms, the collections of each
generation (count, longest, total) and the longest generation-2 collection, and what one full collection costs the
server once the load is over (timed there and then: the tuned server runs into one only every 400 young
collections, about 8 million allocations, so a run this short rarely sees one); then tuned/untuned ratios. Exits 1 if a
customer could not check out and pay or a notification was not delivered.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._checkout_load import log_in, shop, simulator_base_url, wait_for_notifications
from bench._checkout_report import percentile
from bench._checkout_server import DATABASE, REDIS_PREFIX, REDIS_URL, WeChat, pond_server, wechat_simulators
from bench._gc_server import GC_PATH, THRESHOLDS_VARIABLE, TUNING_VARIABLE
from bench._harness import (
    HOST,
    BenchError,
    Server,
    background_cpu,
    bench_main,
    delete_redis_keys,
    run_event_loop,
    running,
)
from bench.checkout import Target, global_id, prepare_database

REDIS_PATTERNS = (f"{REDIS_PREFIX}:*", f"{{{REDIS_PREFIX}:*")
VARIANTS = (("untuned", "0"), ("tuned", "1"))
STALL_LINES_MS = (10, 50)


@dataclass
class Measured:
    variant: str
    customers: int
    seconds: float
    checkout_ms: list[float]
    seen: dict[str, Any]  # what bench/_gc_server.py's Watch saw
    idle_before: float | None

    @property
    def stalls_ms(self) -> list[float]:
        return [s * 1000 for s in self.seen["stalls"]]

    def gc_ms(self, generation: int, clock: str = "collections") -> list[float]:
        """Durations in ms: wall time (the stall) or, with clock="cpu", the thread's CPU time (the cost)."""
        return [d * 1000 for d in self.seen[clock][str(generation)]]


async def measure(server: Server, wechat: WeChat, target: Target, args: argparse.Namespace, label: str,
                  delivered_before: int) -> tuple[Measured, int]:
    """One variant's warm-up and measured checkouts; returns what was seen and the notifications delivered so far."""
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency,
                          keepalive_expiry=2.0)
    sim_url = simulator_base_url(server.port, wechat.pay.port)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", limits=limits, timeout=30.0) as client, \
            httpx.AsyncClient(base_url=sim_url, limits=limits, timeout=30.0) as sim:
        warm = [f"gc{label}warm{i}" for i in range(args.warmup)]
        customers = [f"gc{label}{i}" for i in range(args.customers)]
        tokens = await log_in(client, [*warm, *customers], args.concurrency)
        expected = delivered_before
        if warm:
            warm_tally, _ = await shop(client, sim, {u: tokens[u] for u in warm},
                                       global_id("Sku", target.warmup_sku_id), args.concurrency, f"{label}warm")
            expected += warm_tally.paid
            if warm_tally.failures or warm_tally.paid != len(warm):
                raise BenchError(f"{label} warm-up: {warm_tally.paid} paid of {len(warm)}: {dict(warm_tally.failures)}")
            await wait_for_notifications(sim, expected, args.notify_timeout)
        await client.get(GC_PATH)  # drop what start-up, log-in and the warm-up did
        busy = background_cpu()
        tally, seconds = await shop(client, sim, {u: tokens[u] for u in customers},
                                    global_id("Sku", target.sku_id), args.concurrency, label)
        expected += tally.paid
        delivery = await wait_for_notifications(sim, expected, args.notify_timeout)
        seen = (await client.get(GC_PATH)).json()
        seen |= (await client.get(GC_PATH, params={"full": "1"})).json()
    if tally.failures or tally.paid != len(customers):
        raise BenchError(f"{label}: {tally.paid} paid of {len(customers)}: {dict(tally.failures)}")
    if delivery.pending or delivery.delivered < expected:
        raise BenchError(f"{label}: {delivery.delivered} notifications delivered of {expected}")
    return Measured(label, len(customers), seconds, tally.checkout_ms, seen,
                    None if busy is None else 1 - busy), expected


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _longest(values: Sequence[float]) -> float:
    return max(values, default=0.0)


def print_report(runs: list[Measured]) -> None:
    print()
    print("per variant (ms unless said; stalls: how late a 2 ms sleep on the server's loop woke)")
    header = (f"{'variant':<10} {'idle':>5} {'co/s':>6} {'co p99':>7} {'stall max':>9} {'p99':>6} {'p50':>5} "
              + " ".join(f"{'>' + str(line):>5}" for line in STALL_LINES_MS)
              + f" {'gen0 n/max/sum':>18} {'gen1 n/max/sum':>18} {'gen2 n/max/sum':>19}"
              + f" {'threshold':>16} {'frozen':>7}")
    print(header)
    for run in runs:
        stalls = run.stalls_ms
        gens = []
        for generation in (0, 1, 2):
            durations = run.gc_ms(generation)
            gens.append(f"{len(durations)}/{_longest(durations):.1f}/{sum(durations):.0f}")
        idle = "?" if run.idle_before is None else f"{run.idle_before:.0%}"
        threshold = "/".join(str(t) for t in run.seen["threshold"])
        print(f"{run.variant:<10} {idle:>5} {run.customers / run.seconds:>6.1f} "
              f"{_ms(percentile(run.checkout_ms, 99)):>7} {_longest(stalls):>9.1f} {_ms(percentile(stalls, 99)):>6} "
              f"{_ms(percentile(stalls, 50)):>5} "
              + " ".join(f"{sum(s > line for s in stalls):>5}" for line in STALL_LINES_MS)
              + f" {gens[0]:>18} {gens[1]:>18} {gens[2]:>19} {threshold:>16} {run.seen['frozen']:>7}")
    for run in runs:
        gc_seconds = sum(sum(run.gc_ms(g)) for g in (0, 1, 2)) / 1000
        cpu_seconds = sum(sum(run.gc_ms(g, "cpu")) for g in (0, 1, 2)) / 1000
        print(f"  {run.variant}: {run.seconds:.1f}s measured, {gc_seconds / run.seconds:.1%} of it collecting "
              f"({cpu_seconds:.2f}s CPU); "
              f"{run.seen['tracked']:,} objects tracked at the end, a full collection then took "
              f"{run.seen['full_collection'] * 1000:.1f} ms ({run.seen['full_collection_cpu'] * 1000:.1f} ms CPU); "
              f"max RSS {run.seen['max_rss_kb'] / 1024:.0f} MB")

    untuned = [r for r in runs if r.variant.startswith("untuned")]
    tuned = [r for r in runs if r.variant.startswith("tuned")]
    cpu = "  the same in CPU time"
    figures: list[tuple[str, Callable[[Measured], float]]] = [
        ("max loop stall", lambda r: _longest(r.stalls_ms)),
        ("p99 loop stall", lambda r: percentile(r.stalls_ms, 99)),
        ("longest gen-2 collection", lambda r: _longest(r.gc_ms(2))),
        ("longest collection, any generation", lambda r: max(_longest(r.gc_ms(g)) for g in (0, 1, 2))),
        (cpu, lambda r: max(_longest(r.gc_ms(g, "cpu")) for g in (0, 1, 2))),
        ("longest young collection (gen 0)", lambda r: _longest(r.gc_ms(0))),
        (cpu, lambda r: _longest(r.gc_ms(0, "cpu"))),
        ("a full collection after the run", lambda r: r.seen["full_collection"] * 1000),
        (cpu, lambda r: r.seen["full_collection_cpu"] * 1000),
        ("CPU time collecting per checkout", lambda r: sum(sum(r.gc_ms(g, "cpu")) for g in (0, 1, 2)) / r.customers),
        ("checkout p99", lambda r: percentile(r.checkout_ms, 99)),
    ]
    print()
    print("tuned / untuned (the median of each variant's rounds; below 1 is better)")
    for name, figure in figures:
        before = statistics.median(figure(r) for r in untuned)
        after = statistics.median(figure(r) for r in tuned)
        ratio = "n/a" if before == 0 else f"{after / before:.2f}"
        print(f"  {name:<36} {_ms(before):>8} -> {_ms(after):>8} ms   {ratio}")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    pairs = args.rounds * len(VARIANTS)
    delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    try:
        print(f"preparing {DATABASE}: migrations, demo catalog", flush=True)
        target = run_event_loop(prepare_database(pairs * args.customers + 1, pairs * args.warmup))
        server_args = argparse.Namespace(pool_max=None, plain=False)
        runs: list[Measured] = []
        delivered = 0
        with tempfile.TemporaryDirectory(prefix="pond-bench-gc-") as tmp:
            workdir = Path(tmp)
            with wechat_simulators(workdir) as wechat:
                for round_number in range(args.rounds):
                    for variant, tuning in VARIANTS:
                        label = variant if args.rounds == 1 else f"{variant}{round_number + 1}"
                        env = {TUNING_VARIABLE: tuning, THRESHOLDS_VARIABLE: args.thresholds or ""}
                        server = pond_server(workdir, server_args, wechat, entry="bench._gc_server", env=env)
                        with running(server):
                            print(f"  {label}: {args.customers} customers, {args.concurrency} at a time", flush=True)
                            try:
                                measured, delivered = run_event_loop(
                                    measure(server, wechat, target, args, label, delivered))
                            except BenchError as exc:
                                raise BenchError(f"{exc}\n{server.log_tail()}") from None
                        runs.append(measured)
    finally:
        delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    print_report(runs)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=600, help="measured customers per variant (default 600)")
    parser.add_argument("--concurrency", type=int, default=32, help="customers at a time (default 32)")
    parser.add_argument("--warmup", type=int, default=32, help="customers buying another SKU first (default 32)")
    parser.add_argument("--rounds", type=int, default=1, help="untuned-then-tuned pairs (default 1)")
    parser.add_argument("--thresholds", default=None, metavar="G0,G1,G2",
                        help="the tuned server's thresholds instead of server/gc_tuning.py's (the freeze is kept)")
    parser.add_argument("--notify-timeout", type=float, default=30.0, help="wait for notifications (default 30)")
    args = parser.parse_args(argv)
    if args.thresholds is not None and not re.fullmatch(r"\d+,\d+,\d+", args.thresholds):
        parser.error("--thresholds G0,G1,G2, three integers")
    if args.customers < 1 or args.concurrency < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--customers >= 1, --concurrency >= 1, --warmup >= 0, --rounds >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "servers")


if __name__ == "__main__":
    sys.exit(main())
