"""The report of bench/checkout.py: CPU accounting, latency percentiles and the printed results."""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench._checkout_server import NOTIFY_TIMER
from bench._harness import BUSY_THRESHOLD, command_cpu_seconds, machine_busy_seconds, process_cpu_seconds
from domain.db import DEFAULT_POOL_SIZE

if TYPE_CHECKING:
    from bench.checkout import Run

TARGET_P99_MS = 150.0
TARGET_CPU_RATIO = 10.0
PAY_SIMULATOR = "WeChat Pay simulator"
LOGIN_SIMULATOR = "code2Session simulator"


def _minus(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


@dataclass(frozen=True)
class Cpu:
    client: float
    server: float | None
    others: dict[str, float]  # by command name: postgres, redis-server
    machine: float | None
    wall: float
    idle_before: float | None = None  # share of the machine idle just before, with no load running
    simulators: dict[str, float | None] = field(default_factory=dict)  # WeChat's hosts, by name (none if embedded)

    @staticmethod
    def now(server_pid: int, simulators: Mapping[str, int] | None = None) -> Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sims = {name: process_cpu_seconds(pid) for name, pid in (simulators or {}).items()}
        return Cpu(usage.ru_utime + usage.ru_stime, process_cpu_seconds(server_pid),
                   command_cpu_seconds(("postgres", "redis-server")), machine_busy_seconds(), time.perf_counter(),
                   simulators=sims)

    def since(self, before: Cpu) -> Cpu:
        others = {name: value - before.others.get(name, 0.0) for name, value in self.others.items()}
        sims = {name: _minus(value, before.simulators.get(name)) for name, value in self.simulators.items()}
        return Cpu(self.client - before.client, _minus(self.server, before.server), others,
                   _minus(self.machine, before.machine), self.wall - before.wall, simulators=sims)

    @property
    def elsewhere(self) -> float | None:
        """CPU seconds used by processes other than the client, the server, the simulators, PostgreSQL and Redis."""
        if self.machine is None or self.server is None or None in self.simulators.values():
            return None
        sims = sum(v for v in self.simulators.values() if v is not None)
        return max(0.0, self.machine - self.client - self.server - sims - sum(self.others.values()))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def latency_line(label: str, values_ms: Sequence[float], note: str = "") -> str:
    if not values_ms:
        return f"{label:<34} n/a{note}"
    return (f"{label:<34} p50 {percentile(values_ms, 50):7.1f} ms   p99 {percentile(values_ms, 99):7.1f} ms   "
            f"max {max(values_ms):7.1f} ms   n={len(values_ms)}{note}")


def report(run: Run) -> bool:
    """Print the results; True if the stock adds up and nothing failed."""
    args, tally, ledger, cpu = run.args, run.tally, run.ledger, run.cpu
    attempts = len(tally.checkout_ms) + sum(n for k, n in tally.failures.items() if k.startswith("checkout"))
    placed = tally.paid + tally.free + sum(n for k, n in tally.failures.items() if k.startswith("pay"))
    print()
    embedded = args.embedded_simulator
    print(f"checkout + pay, {args.customers} customers x 1 unit, {args.concurrency} concurrent, stock {args.stock}, "
          f"PostgreSQL pool max {args.pool_max or f'{DEFAULT_POOL_SIZE} (default)'}, server pid {run.server_pid}")
    print("  WeChat: " + ("the simulators embedded in the server process (--embedded-simulator)" if embedded else
                          ", ".join(f"{name} pid {pid}" for name, pid in run.simulator_pids.items())
                          + ", processes of their own"))
    print(f"  {run.seconds:.2f}s for {attempts} checkouts: {attempts / run.seconds:.1f} checkouts/s "
          f"({placed / run.seconds:.1f} placed and paid/s, {tally.sold_out / run.seconds:.1f} SOLD_OUT/s)")
    print(f"  outcomes: {tally.paid} paid, {tally.sold_out} SOLD_OUT, {tally.free} free (nothing to pay), "
          f"{sum(tally.failures.values())} failed")
    for what, count in tally.failures.most_common(5):
        print(f"    failed x{count}: {what}")
    print()
    print("latency (client: request sent to answer read; server: inside the ASGI app, queueing excluded)")
    print(latency_line("  checkout (client)", tally.checkout_ms))
    print(latency_line("  checkout (server)", [s * 1000 for s in run.timings.get("Checkout", [])],
                       "" if run.timings else "   (--plain)"))
    print(latency_line("  simulator pay call (client)", tally.pay_ms, "   (queues the notification, returns)"))
    print(latency_line("  notify handler (server)", [s * 1000 for s in run.timings.get(NOTIFY_TIMER, [])],
                       "" if run.timings else "   (--plain)"))
    d = run.delivery
    metrics = "absent" if run.metrics_notify is None else f"{run.metrics_notify:g}"
    how = ("the in-process deliveries bypass RequestIdMiddleware" if embedded else
           f"the simulator's HTTP delivery attempts: {d.attempts}, warm-up included")
    print(f"  (/metrics pond_http_request_duration_seconds_count for /payments/wechat/notify: {metrics}; {how})")
    expected_notes = run.warmup_customers + tally.paid
    print(f"  notifications: {d.delivered}/{d.notifications} delivered ({d.first_attempt} at the first attempt), "
          f"{d.pending} still pending, {d.seconds:.2f}s after the last pay call")
    print()

    paid_units = ledger.units_by_status.get("PAID", 0)
    pending_units = ledger.units_by_status.get("PENDING_PAYMENT", 0)
    oversold = max(0, paid_units - args.stock)
    available = ledger.stock - ledger.reserved
    undersold = available if tally.sold_out and available > 0 else 0
    checks = [
        (f"oversold units = max(0, paid {paid_units} - stock {args.stock})", oversold, 0),
        (f"stock left (start {args.stock} - paid {paid_units})", ledger.stock, args.stock - paid_units),
        ("reserved (units of unpaid orders)", ledger.reserved, pending_units),
        ("HELD reservations (units)", ledger.reservations.get("HELD", 0), pending_units),
        ("COMMITTED reservations (units)", ledger.reservations.get("COMMITTED", 0), paid_units),
        ("Redis counter (stock - reserved)", ledger.counter, available),
        ("paid orders = payments succeeded", ledger.payments_succeeded, ledger.orders_by_status.get("PAID", 0)),
        ("paid orders = customers who paid", ledger.orders_by_status.get("PAID", 0), tally.paid),
        ("notifications delivered", d.delivered, expected_notes),
        *([] if embedded else [("notify requests /metrics counted = delivery attempts",
                                 None if run.metrics_notify is None else round(run.metrics_notify), d.attempts)]),
        ("units left while buyers were told SOLD_OUT", undersold, 0),
        ("failed requests", sum(tally.failures.values()), 0),
    ]
    print("stock (PostgreSQL and the Redis counter, after every notification)")
    ok = True
    for label, got, want in checks:
        good = got == want
        ok = ok and good
        print(f"  {label:<52} {got!s:>6}  {'ok' if good else f'WRONG (expected {want})'}")
    print(f"  orders on the SKU by status: {ledger.orders_by_status or '-'}")
    print()

    product = run.product
    errors = ", ".join(f"{k}={v}" for k, v in product.errors.items()) or "none"
    idle = "" if product.background_cpu is None else f", machine {100 * (1 - product.background_cpu):.0f}% idle before"
    print(f"product(id) floor (wrk, {args.concurrency} connections, a customer's token and `me`, which the response "
          "cache never serves)")
    print(f"  {product.rps:.1f} req/s   p50 {product.p50_ms:.2f} ms   p99 {product.p99_ms:.2f} ms   errors {errors}"
          f"{idle}")
    rate = attempts / run.seconds
    if rate:
        print(f"  one checkout (+ its pay and notify) costs the server about {product.rps / rate:.1f} product(id) "
              "requests")
    print()

    def share(seconds: float | None) -> str:
        return "?" if seconds is None else f"{seconds:.2f}s ({100 * seconds / cpu.wall:.0f}% of a core)"

    cores = os.cpu_count() or 1
    idle = "?" if cpu.idle_before is None else f"{100 * cpu.idle_before:.0f}%"
    print(f"cpu during the measured {cpu.wall:.2f}s ({cores} cores = {100 * cores}%; machine {idle} idle just before):")
    print(f"  client {share(cpu.client)}, server {share(cpu.server)}, postgres {share(cpu.others.get('postgres'))}, "
          f"redis {share(cpu.others.get('redis-server'))}")
    sims = ", ".join(f"{name} {share(seconds)}" for name, seconds in cpu.simulators.items())
    print(f"  {sims or 'simulators: inside the server'}, other processes {share(cpu.elsewhere)}")
    if cpu.server is not None and attempts:
        per = 1000 * cpu.server / attempts
        what = ("its pay call and notification, the simulator's signing included" if embedded else
                "its prepay and notification, not the simulator's work")
        print(f"  server CPU per checkout ({what}): {per:.1f} ms, so one worker tops out near {1000 / per:.0f} "
              f"checkouts/s and {args.concurrency} in flight wait about {args.concurrency * per:.0f} ms")
    trivial = run.trivial.cpu_per_request
    if trivial is not None:
        runs = [result for result, _ in run.trivial.runs]
        each = ", ".join(f"{1000 * cpu:.2f}" for cpu in run.trivial.each() if cpu is not None)
        refused = {k: sum(r.errors.get(k, 0) for r in runs) for r in runs for k in r.errors}
        print(f"  server CPU per tokenRefresh (the trivial mutation, before and after the checkouts: {each} ms; wrk "
              f"{', '.join(f'{r.rps:.0f}' for r in runs)} req/s, errors "
              f"{', '.join(f'{k}={v}' for k, v in refused.items() if v) or 'none'}): {1000 * trivial:.2f} ms")
        if cpu.server is not None and attempts:
            ratio = cpu.server / attempts / trivial
            verdict = "PASS" if ratio <= TARGET_CPU_RATIO else "ABOVE"
            print(f"  checkout + pay + notify server CPU / trivial mutation CPU = {ratio:.1f}x "
                  f"(target <= {TARGET_CPU_RATIO:g}x)  {verdict}")
    pay_cpu = cpu.simulators.get(PAY_SIMULATOR)
    if pay_cpu is not None and attempts:
        print(f"  {PAY_SIMULATOR} CPU per checkout (prepay, pay call, signed notification): "
              f"{1000 * pay_cpu / attempts:.1f} ms")
    noisy = (cpu.idle_before is not None and cpu.idle_before < 1 - BUSY_THRESHOLD) or (
        cpu.elsewhere is not None and cpu.elsewhere > BUSY_THRESHOLD * cores * cpu.wall)
    if noisy:
        print("  * other processes competed for the CPU during this run: its latencies and rates are unreliable")
    print()
    p99 = percentile(tally.checkout_ms, 99)
    verdict = "PASS" if p99 < TARGET_P99_MS else "BELOW"
    if args.rate is None:
        print(f"checkout p99 {p99:.1f} ms at {args.concurrency} concurrent customers (target < {TARGET_P99_MS:g} ms)  "
              f"{verdict}")
    else:
        flight = tally.in_flight or [0]
        print(f"open loop: a customer every {1000 / args.rate:.1f} ms ({args.rate:g}/s offered); customers in flight "
              f"when one started: mean {sum(flight) / len(flight):.1f}, max {max(flight)}")
        print(f"checkout p99 {p99:.1f} ms at {args.rate:g} checkouts/s offered (the target, < {TARGET_P99_MS:g} ms, is "
              f"stated at {args.concurrency} concurrent customers: run without --rate for it)")
    if run.open_loop is not None:
        arrived = run.open_loop
        flight = arrived.tally.in_flight or [0]
        p99 = percentile(arrived.tally.checkout_ms, 99)
        verdict = "PASS" if p99 < TARGET_P99_MS else "BELOW"
        print(f"open loop after it: {len(arrived.tally.checkout_ms)} customers arriving at {arrived.rate:.1f}/s "
              f"({arrived.share:g} x the closed loop's placed and paid rate), in flight when one arrived: "
              f"mean {sum(flight) / len(flight):.1f}, max {max(flight)}")
        print(latency_line("  checkout (client), open loop", arrived.tally.checkout_ms))
        print(f"checkout p99 {p99:.1f} ms at an open-loop rate of {arrived.share:g} x the closed loop's "
              f"(target < {TARGET_P99_MS:g} ms)  {verdict}")
    print(f"stock consistent and not oversold: {'yes' if ok else 'NO'}")
    return ok
