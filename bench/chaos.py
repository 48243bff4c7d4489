"""Chaos: customers check out, pay and ask for refunds while the worker is killed, Redis flushed and WeChat Pay fails.

    python bench/chaos.py [--seconds 60] [--customers 40] [--concurrency 8] [--settle 20]

Real processes, as bench/checkout.py runs them: `pond serve` on PostgreSQL (database `pond_chaos`, recreated) and a
Redis of its own (a redis-server on a spare port, so FLUSHALL hits nobody else), the WeChat Pay and code2Session
simulators as processes, and `pond worker` (bench/_chaos_worker.py: its sweeps every 2 s, their clock 6 minutes
ahead so their built-in waits pass within the run). Customers log in, check out one unit and pay through the
simulator's control plane (bench/_checkout_load.py); every third one that paid asks for a refund, which a staff
account approves. Meanwhile faults are injected in turn: the worker SIGKILLed and restarted, Redis flushed, the
simulator answering SYSTEM_ERROR (HTTP 500) to every call and then to refunds only, answering too late (a `stall`
past Pond's POND_WECHATPAY_TIMEOUT_SECONDS, set to 1 s here) and dropping notifications. Then faults off,
--settle seconds for the sweeps, and the checks of bench/_chaos_checks.py. Prints every fault (when, how long),
what it did (notifications dropped, refunds failed at least once) and every check.

Exit status 0 when every check is ok, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._chaos_checks import Check, check_all
from bench._chaos_worker import SKEW, SWEEP_SECONDS
from bench._checkout_load import Tally, buy_and_pay, graphql, log_in
from bench._checkout_server import WeChat, wechat_simulators
from bench._flash_sale_server import wechat_env
from bench._harness import HOST, REPO, BenchError, Server, bench_main, free_port, fresh_demo_database, running

DATABASE = "pond_chaos"
PG_URL = "postgres://postgres@127.0.0.1:5432/"
REDIS_PREFIX = "chaos"
STAFF = ("chaos-owner", "chaos-owner-password-1")
TIMEOUT = 1.0  # POND_WECHATPAY_TIMEOUT_SECONDS: a stalled call times out within the run
REFUND_EVERY = 3  # every third customer who paid asks for a refund
STAFF_LOGIN = "mutation S($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) { token } }"
PAID_ORDER = "query Orders { orders(first: 1, status: PAID) { edges { node { id } } } }"
REQUEST_REFUND = """mutation R($input: OrderRequestRefundInput!) {
  orderRequestRefund(input: $input) { refund { id status } errors { code message } }
}"""
APPROVE = """mutation A($input: RefundApproveInput!) {
  refundApprove(input: $input) { refund { id status } errors { code message } }
}"""


@dataclass
class Fault:
    what: str
    at: float
    seconds: float


@dataclass
class Chaos:
    started: float = field(default_factory=time.perf_counter)
    faults: list[Fault] = field(default_factory=list)
    refunds_requested: int = 0
    refunds_approved: int = 0
    refund_errors: list[str] = field(default_factory=list)
    dropped: int = 0  # notifications the simulator never sent: payments and refunds the sweeps had to find
    refunds_failed_once: int = 0  # refunds WeChat Pay refused or never answered at least once, then retried

    def note(self, what: str, began: float) -> None:
        self.faults.append(Fault(what, began - self.started, time.perf_counter() - began))


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """A redis-server of the run's own on a spare port, no persistence; stopped on the way out."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--bind", HOST, "--port", str(port), "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host=HOST, port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise BenchError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield f"redis://{HOST}:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def pond_env(database_url: str, workdir: Path, redis_url: str, wechat: WeChat, port: int,
             secret: str) -> dict[str, str]:
    return {
        "POND_DATABASE_URL": database_url,
        "POND_REDIS_URL": redis_url,
        "POND_REDIS_PREFIX": REDIS_PREFIX,
        "POND_LOG_LEVEL": "WARNING",
        "POND_LOGIN_RATE_LIMIT": "1000000",
        "POND_WECHATPAY_TIMEOUT_SECONDS": str(TIMEOUT),
        "POND_SECRET_KEY": secret,
        "POND_DATA_DIR": str(workdir / ".pond"),
        "POND_PUBLIC_URL": f"http://{HOST}:{port}",
        **wechat_env(wechat.keys_dir, wechat.login, wechat.pay),
    }


def worker_process(env: dict[str, str], workdir: Path) -> Server:
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from bench._chaos_worker import _work; _work()"
    return Server("pond-worker", [sys.executable, "-c", code, "worker"], env, cwd=workdir)


async def create_staff() -> None:
    from domain.identity.service import create_staff as create

    await create(STAFF[0], STAFF[1], "OWNER")


async def customer(client: Any, sim: Any, staff_token: str, token: str, sku: str, key: str, tally: Tally,
                   chaos: Chaos, refund: bool) -> None:
    import httpx

    paid_before = tally.paid
    await buy_and_pay(client, sim, token, sku, key, tally)
    if not refund or tally.paid == paid_before:
        return
    await asyncio.sleep(0.5)  # the notification (if not dropped) lands first
    try:
        data, _ = await graphql(client, "Orders", PAID_ORDER, {}, token)
        edges = data["orders"]["edges"]
        if not edges:
            return
        order_id = edges[0]["node"]["id"]
        data, _ = await graphql(client, "R", REQUEST_REFUND, {"input": {"orderId": order_id, "reason": "chaos"}},
                                token)
        payload = data["orderRequestRefund"]
        if payload["errors"]:
            chaos.refund_errors.append(payload["errors"][0]["code"])
            return
        chaos.refunds_requested += 1
        data, _ = await graphql(client, "A", APPROVE, {"input": {"refundId": payload["refund"]["id"]}}, staff_token)
        if data["refundApprove"]["errors"]:
            chaos.refund_errors.append(data["refundApprove"]["errors"][0]["code"])
        else:
            chaos.refunds_approved += 1
    except (BenchError, httpx.TransportError) as exc:
        chaos.refund_errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")


async def inject(sim: Any, worker: Server, redis_url: str, chaos: Chaos, seconds: float) -> None:
    """One fault after another, each for a seventh of `seconds`; the last seventh is quiet."""
    import redis.asyncio as aioredis

    slice_ = max(seconds / 7, 1.0)
    began = time.perf_counter()
    if worker.process is not None:  # SIGKILL, no grace: a kill mid-sweep is what the sweeps must survive
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
    worker.remove_log()
    await asyncio.sleep(slice_)
    worker.start()
    chaos.note("worker killed, restarted", began)

    began = time.perf_counter()
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    chaos.note("Redis FLUSHALL", began)

    for what, spec in (("WeChat Pay answers SYSTEM_ERROR (HTTP 500)", {"api_error": "SYSTEM_ERROR", "count": 1000}),
                       ("WeChat Pay refunds answer SYSTEM_ERROR",
                        {"api_error": "SYSTEM_ERROR", "endpoint": "refund", "count": 1000}),
                       ("WeChat Pay answers too late (calls time out)", {"stall": 2 * TIMEOUT, "count": 1000}),
                       ("WeChat Pay drops notifications", {"drop": True, "count": 1000})):
        began = time.perf_counter()
        await sim.post("/__sim/faults", json=spec)
        await asyncio.sleep(slice_)
        await sim.delete("/__sim/faults")
        chaos.note(what, began)


async def drive(server: Server, wechat: WeChat, worker: Server, redis_url: str, sku: str,
                args: argparse.Namespace) -> tuple[Tally, Chaos, list[Check]]:
    import httpx

    chaos = Chaos()
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", timeout=30.0) as client, \
            httpx.AsyncClient(base_url=f"http://{HOST}:{wechat.pay.port}", timeout=30.0) as sim:
        await sim.post("/__sim/refunds/auto", json={"after": 0.5})
        data, _ = await graphql(client, "S", STAFF_LOGIN, {"u": STAFF[0], "p": STAFF[1]})
        staff_token = data["staffLogin"]["token"]
        users = [f"chaos{i}" for i in range(args.customers)]
        tokens = await log_in(client, users, args.concurrency)
        tally = Tally()
        chaos.started = time.perf_counter()
        pace = args.seconds / max(len(users), 1) * args.concurrency  # customers spread evenly over every fault

        async def shoppers(offset: int, part: list[str]) -> None:
            await asyncio.sleep(pace * offset / args.concurrency)
            for user in part:
                index = users.index(user)
                await customer(client, sim, staff_token, tokens[user], sku, f"chaos-{user}", tally, chaos,
                               refund=index % REFUND_EVERY == 0)
                await asyncio.sleep(pace)

        parts = [users[i::args.concurrency] for i in range(args.concurrency)]
        await asyncio.gather(inject(sim, worker, redis_url, chaos, args.seconds),
                             *(shoppers(i, p) for i, p in enumerate(parts)))
        await sim.delete("/__sim/faults")
        await asyncio.sleep(args.settle)
        state = (await sim.get("/__sim/state")).json()
        notes = (await sim.get("/__sim/notifications")).json()["notifications"]
        chaos.dropped = sum(note["status"] == "dropped" for note in notes)
        chaos.refunds_failed_once = await refunds_failed_once(PG_URL + args.database)
        checks = await check_all(PG_URL + args.database, redis_url, REDIS_PREFIX, state, now=datetime.now(UTC),
                                 sweep=timedelta(seconds=args.settle), refund_grace=timedelta(seconds=args.settle))
    return tally, chaos, checks


@dataclass
class Outcome:
    tally: Tally
    chaos: Chaos
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def report(self) -> str:
        lines = ["injected:"]
        lines += [f"  at {f.at:5.1f}s for {f.seconds:4.1f}s  {f.what}" for f in self.chaos.faults]
        t, c = self.tally, self.chaos
        lines.append(f"customers: {t.paid} paid, {t.sold_out} sold out, failures {dict(t.failures)}; refunds "
                     f"{c.refunds_requested} requested, {c.refunds_approved} approved, errors {c.refund_errors}")
        lines.append(f"effects: {c.dropped} notifications dropped, {c.refunds_failed_once} refunds failed at least "
                     "once")
        lines.append("checked:")
        lines += [f"  {check.line()}" for check in self.checks]
        return "\n".join(lines)


async def refunds_failed_once(database_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM orders_refund WHERE failures > 0"))
    finally:
        await conn.close()


async def first_sku(database_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        sku = await conn.fetchval(
            "SELECT s.id FROM catalog_sku s JOIN catalog_product p ON p.id = s.product_id WHERE p.published AND"
            " p.deleted_at IS NULL AND s.deleted_at IS NULL AND s.price > 0 ORDER BY p.sort_order, p.id, s.id")
        await conn.execute("UPDATE catalog_sku SET stock = 100000 WHERE id = $1", sku)
        return int(sku)
    finally:
        await conn.close()


def run_chaos(args: argparse.Namespace) -> Outcome:
    import base64

    database_url = PG_URL + args.database
    asyncio.run(fresh_demo_database(args.database, database_url, then=create_staff))
    sku_id = asyncio.run(first_sku(database_url))
    sku = base64.b64encode(f"Sku:{sku_id}".encode()).decode()
    with tempfile.TemporaryDirectory(prefix="pond-chaos-") as tmp, own_redis() as redis_url, \
            wechat_simulators(Path(tmp)) as wechat:
        workdir = Path(tmp)
        port = free_port()
        env = pond_env(database_url, workdir, redis_url, wechat, port, secrets.token_urlsafe(48))
        server = Server("pond", [sys.executable, "-c", "from app import main; main()", "serve", "--host", "{host}",
                                 "--port", "{port}"], env, ready_path="/readyz", port=port, cwd=workdir)
        with running(server):
            worker = worker_process(env, workdir)
            worker.start()
            try:
                tally, chaos, checks = asyncio.run(drive(server, wechat, worker, redis_url, sku, args))
            except BenchError as exc:
                raise BenchError(f"{exc}\n{server.log_tail()}\n{worker.log_tail()}") from None
            finally:
                worker.stop()
                worker.remove_log()
    return Outcome(tally, chaos, checks)


def run(args: argparse.Namespace) -> int:
    outcome = run_chaos(args)
    print(outcome.report())
    return 0 if outcome.ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long faults are injected (default 60)")
    parser.add_argument("--customers", type=int, default=40, help="customers (default 40)")
    parser.add_argument("--concurrency", type=int, default=8, help="customers at a time (default 8)")
    parser.add_argument("--database", default=DATABASE, help=f"PostgreSQL database, recreated (default {DATABASE})")
    parser.add_argument("--settle", type=float, default=4 * SWEEP_SECONDS + 8,
                        help=f"seconds for the sweeps after the faults (default {4 * SWEEP_SECONDS + 8}; "
                             f"the worker's sweeps run every {SWEEP_SECONDS}s, {SKEW} ahead)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "servers")


if __name__ == "__main__":
    sys.exit(main())
