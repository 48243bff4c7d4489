"""What bench/flash_sale.py measures around each phase (Redis commands, CPU, the server's own count of operations)
and the printed report."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench._harness import (
    BUSY_THRESHOLD,
    WrkResult,
    command_cpu_seconds,
    machine_busy_seconds,
    print_ratio,
    print_table,
    process_cpu_seconds,
)

if TYPE_CHECKING:
    import redis

    from bench.flash_sale import Run

SUCCESS_TARGET = 0.5
SOLD_OUT_TARGET = 0.9
SCRIPT_COMMANDS = ("evalsha", "eval")


# --------------------------------------------------------------------------------------------------------------------
# Snapshots around a phase
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisCounts:
    """Redis's counters: top-level script calls, read events (one per round trip of a client that does not
    pipeline), and every command executed (commands run inside a script included)."""

    scripts: int
    reads: int
    commands: int
    by_command: dict[str, int]

    @staticmethod
    def now(client: redis.Redis) -> RedisCounts:
        info = client.info("everything")
        by_command = {key.removeprefix("cmdstat_"): int(value["calls"]) for key, value in info.items()
                      if key.startswith("cmdstat_") and key != "cmdstat_info"}
        return RedisCounts(sum(by_command.get(name, 0) for name in SCRIPT_COMMANDS),
                           int(info["total_reads_processed"]), sum(by_command.values()), by_command)

    def since(self, before: RedisCounts) -> RedisCounts:
        by_command = {k: v - before.by_command.get(k, 0) for k, v in self.by_command.items()
                      if v != before.by_command.get(k, 0)}
        # the INFO that took this snapshot is one read of its own
        return RedisCounts(self.scripts - before.scripts, self.reads - before.reads - 1,
                           self.commands - before.commands, by_command)


@dataclass(frozen=True)
class CpuCounts:
    server: float | None
    simulators: float | None
    others: dict[str, float]
    client: float  # this process and its waited-for children (wrk, redis-benchmark)
    machine: float | None
    wall: float

    @staticmethod
    def now(server_pid: int, simulator_pids: list[int]) -> CpuCounts:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        sims = [process_cpu_seconds(pid) for pid in simulator_pids]
        return CpuCounts(process_cpu_seconds(server_pid), None if None in sims else sum(s or 0.0 for s in sims),
                         command_cpu_seconds(("postgres", "redis-server")),
                         own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                         machine_busy_seconds(), time.perf_counter())

    def since(self, before: CpuCounts) -> CpuCounts:
        def minus(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a - b

        others = {name: value - before.others.get(name, 0.0) for name, value in self.others.items()}
        return CpuCounts(minus(self.server, before.server), minus(self.simulators, before.simulators), others,
                         self.client - before.client, minus(self.machine, before.machine), self.wall - before.wall)


@dataclass
class Window:
    """A stretch of time: Redis counters, CPU, and how many of one operation the server ran (from /metrics)."""

    name: str
    seconds: float
    redis: RedisCounts
    cpu: CpuCounts
    operations: float = 0.0
    busy_before: float | None = None
    notes: list[str] = field(default_factory=list)
    writer: dict[str, float] = field(default_factory=dict)
    """What the server's flash sale writer did in the window (/metrics pond_group_commit_*: batches, entries,
    busy_seconds, queued_seconds)."""


@dataclass(frozen=True)
class PerAttempt:
    attempts: float
    scripts: float
    round_trips: float
    commands: float
    lease_gets_per_second: float


LEASE_COMMAND = "get"
"""The idle server's only Redis work: the catalog cache lease, every ~20 ms, one EVALSHA of a script that runs one GET
(one round trip, two commands); counted by its GETs."""
LEASE_COMMANDS = {LEASE_COMMAND, "evalsha"}
# what the lease and the take script run (and redis-py's SCRIPT LOAD after a NOSCRIPT); anything else in a window came
# from another client
OWN_COMMANDS = LEASE_COMMANDS | {"eval", "exists", "hmget", "hexists", "hget", "hincrby", "hset", "hdel", "publish",
                                 "subscribe", "script|load"}


def per_attempt(window: Window) -> PerAttempt | None:
    """Redis work per operation the server ran, the catalog cache lease's of the window taken out (for each of its
    GETs: one EVALSHA, one round trip, two commands)."""
    if not window.operations:
        return None
    gets = window.redis.by_command.get(LEASE_COMMAND, 0)
    n = window.operations
    return PerAttempt(n, (window.redis.scripts - gets) / n, (window.redis.reads - gets) / n,
                      (window.redis.commands - 2 * gets) / n, gets / window.seconds if window.seconds else 0.0)


# --------------------------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def print_redis(run: Run) -> None:
    idle = run.idle
    lease = idle.redis.by_command.get(LEASE_COMMAND, 0)
    per_second = lease / idle.seconds if idle.seconds else 0.0
    others = {k: v for k, v in idle.redis.by_command.items() if k not in LEASE_COMMANDS or v != lease}
    print(f"Redis per attempt (INFO before and after each measured run, every request answered; the server idle for "
          f"{idle.seconds:.1f}s ran {idle.redis.by_command or 'nothing'}: its catalog cache lease, {per_second:.1f} "
          "EVALSHA of one GET a second)")
    if others or idle.redis.reads != lease:
        print(f"  * the idle server's Redis also saw {others or 'other reads'}: another client was using Redis, so "
              "the figures below are unreliable")
    print(f"  {'phase':<28} {'attempts':>9} {'EVALSHA':>8} {'round trips':>11} {'commands':>9} {'lease GET/s':>11}")
    foreign: dict[str, dict[str, int]] = {}
    for window in run.redis_windows:
        per = per_attempt(window)
        if per is None:
            continue
        strange = {k: v for k, v in window.redis.by_command.items() if k not in OWN_COMMANDS}
        if strange:
            foreign[window.name] = strange
        print(f"  {window.name:<28} {per.attempts:>9.0f} {per.scripts:>8.3f} {per.round_trips:>11.3f} "
              f"{per.commands:>9.2f} {per.lease_gets_per_second:>11.1f}{' *' if strange else ''}")
    for name, strange in foreign.items():
        print(f"  * {name}: Redis also ran {strange}, commands neither the server nor the script sends: another "
              "client was using Redis and the figures of this row are unreliable")
    print("  round trips = Redis's read events, commands = every command Redis ran (those inside the script too), "
          "EVALSHA, round trips and commands less the window's lease (one EVALSHA of one GET each)")
    print("  (target: at most 1 EVALSHA and 1 round trip per flashSaleBuy attempt while units are left, none once the "
          "SKU is sold out (the process's sold-out mark); tokenRefresh shows what is left when a request uses no "
          "Redis)")


def print_cpu(run: Run) -> None:
    cores = os.cpu_count() or 1
    print(f"CPU per attempt in ms ({cores} cores; server = the one uvicorn worker, sims = the two WeChat simulators, "
          "client = this process + wrk)")
    print(f"  {'phase':<28} {'server':>7} {'postgres':>8} {'redis':>6} {'sims':>6} {'client':>7} {'machine':>8}  "
          "server busy")
    for window in run.cpu_windows:
        n = window.operations
        cpu = window.cpu
        if not n:
            continue

        def ms(seconds: float | None, count: float = n) -> str:
            # negative: processes of that name exited during the window (another client's PostgreSQL backends)
            return "?" if seconds is None or seconds < 0 else f"{1000 * seconds / count:.3f}"

        share = "?" if cpu.server is None else f"{100 * cpu.server / cpu.wall:.0f}% of a core"
        print(f"  {window.name:<28} {ms(cpu.server):>7} {ms(cpu.others.get('postgres')):>8} "
              f"{ms(cpu.others.get('redis-server')):>6} {ms(cpu.simulators):>6} {ms(cpu.client):>7} "
              f"{ms(cpu.machine):>8}  {share}")


def print_writer(run: Run) -> None:
    """The group commit during the phases that wrote orders: a writer busy at the window's pace is what the buys
    wait on (the window is the measured run and its drain, as for the CPU figures)."""
    for window in run.cpu_windows:
        w = window.writer
        if not w.get("batches") or not window.seconds:
            continue
        busy = 100 * w["busy_seconds"] / window.seconds
        batch_ms = 1000 * w["busy_seconds"] / w["batches"]
        queued_ms = 1000 * w["queued_seconds"] / w["entries"]
        print(f"group commit, {window.name} (/metrics pond_group_commit_*): {w['batches']:.0f} batches of "
              f"{w['entries'] / w['batches']:.1f} buys on average; the writer busy {busy:.0f}% of the window, a batch "
              f"taking {batch_ms:.1f} ms; a buy waited {queued_ms:.1f} ms for its batch to start")


def print_scans(run: Run) -> None:
    if not run.seq_scans:
        return
    print(f"PostgreSQL, the whole run ({run.orders} orders placed; pg_stat_user_tables, may lag a few seconds): "
          "tables read by sequential scan")
    for table, scans, rows, live in run.seq_scans:
        per = f", {scans / run.orders:.1f} scans per order" if run.orders else ""
        print(f"  {table:<24} {scans:>7} scans read {rows:>10} rows ({live} rows in the table{per})")


def report(run: Run) -> bool:
    """Print everything; True when the run is consistent (nothing oversold, nothing failed, every check holds)."""
    args = run.args
    print()
    print(f"flash sale, one `pond serve` worker on PostgreSQL + Redis, WeChat Pay and code2Session as processes of "
          f"their own; {args.customers} customers, wrk -t{run.threads} -c{args.connections} "
          f"{args.seconds:g}s per measured run (after a 1s warm-up)")
    rows: list[tuple[str, WrkResult]] = [
        ("trivial mutation (tokenRefresh)", run.floor),
        ("flashSaleBuy, succeeding", run.success),
        ("flashSaleBuy, after sell-out", run.sold_out),
        (f"burst ({run.burst.attempts} taps, httpx)", run.burst_row),
        ("raw Lua take, units left", run.raw_ok.as_row()),
        ("raw Lua take, sold out", run.raw_sold_out.as_row()),
    ]
    print_table(rows)
    print(f"  (trivial mutation: the mean of {len(run.floors)} runs, "
          f"{', '.join(f'{f.rps:.1f}' for f in run.floors)} req/s: before the succeeding buys, after them, and after "
          "the sold-out answers; each ratio below is taken against the mean of the two runs around its phase)")
    print("  (the raw Lua rows: RedisFlashPool.take from this process, "
          f"{args.connections} asyncio tasks on one connection pool, {args.raw_seconds:g}s each)")
    if run.redis_benchmark:
        for label, rps in run.redis_benchmark.items():
            print(f"  redis-benchmark, the same EVALSHA from C, {args.connections} connections, {label}: "
                  f"{rps:.0f} calls/s")
    print()
    ok_success = print_ratio("succeeding buys / trivial mutation", run.success, run.success_floor, SUCCESS_TARGET)
    ok_sold_out = print_ratio("sold-out answers / trivial mutation", run.sold_out, run.sold_out_floor,
                              SOLD_OUT_TARGET)
    if run.floor.rps:
        print(f"  (against the mean of all {len(run.floors)} floor runs instead: succeeding buys "
              f"{run.success.rps / run.floor.rps:.3f}, sold-out answers {run.sold_out.rps / run.floor.rps:.3f})")
    print()
    print_redis(run)
    print()
    print_cpu(run)
    print_writer(run)
    print()
    print_scans(run)
    print()
    b = run.burst
    print(f"burst: {b.attempts} taps ({args.burst_customers} customers x {args.burst_taps}, one unit each, "
          f"{args.burst_concurrency} at a time) on a pool of {args.burst_pool}, limit {args.burst_limit} per customer")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(b.outcomes.items())) or "-"
    print(f"  {b.attempts / b.seconds:.1f} attempts/s over {b.seconds:.2f}s; answers: {outcomes}; "
          f"{sum(b.failures.values())} failed")
    for what, count in b.failures.most_common(3):
        print(f"    failed x{count}: {what}")
    print()
    print("checks (PostgreSQL, the Redis pools, wrk's answers)")
    consistent = True
    for label, got, want in run.checks:
        good = got == want
        consistent = consistent and good
        print(f"  {label:<66} {got!s:>7}  {'ok' if good else f'WRONG (expected {want})'}")
    noisy = [w.name for w in run.cpu_windows if w.busy_before is not None and w.busy_before > BUSY_THRESHOLD]
    if noisy:
        print(f"  * the machine was busy before: {', '.join(noisy)}")
    print()
    print(f"units sold in the burst: {run.burst_sold}, oversold: {run.oversold} (must be 0)")
    if run.server_rss_mb is not None:
        print(f"server RSS after every phase: {run.server_rss_mb:.0f} MB (target < 200 MB)  "
              f"{'PASS' if run.server_rss_mb < 200 else 'ABOVE'}")
    print(f"succeeding buys vs trivial mutation: {'PASS' if ok_success else 'BELOW'};  sold-out answers vs trivial "
          f"mutation: {'PASS' if ok_sold_out else 'BELOW'};  consistent: {'yes' if consistent else 'NO'}")
    return consistent
