"""Social selling benchmark: group-buy and relay joins beside plain checkouts, each with its payment and notification.

    python bench/social.py [--customers 300] [--concurrency 32] [--group-size 5] [--warmup 16]

One `pond serve` (one uvicorn worker) on PostgreSQL (database `pond_bench_checkout`, dropped and recreated) and
Redis (prefix `benchco`), with WeChat's two hosts as processes of their own: the same server and simulators as
bench/checkout.py (`bench/_checkout_server.py`). Three SKUs of three products get plenty of stock. Staff (an OWNER
made as `pond create-staff` does) set up a group-buy campaign on the first (groups of --group-size, group price below
the list price), a pickup point and a relay on the second; the third is sold by plain checkout.

Three measured phases, one after the other, each with --customers customers of its own, --concurrency at a time,
each customer placing one order for one unit and paying it through the simulator's control API (the simulator then
POSTs its signed notification to Pond, as WeChat Pay would):

- checkout: `checkout` (address delivery);
- group-buy: `groupBuyJoin` into groups whose leaders started and paid them before the phase (not measured), so
  every join takes a seat in a forming group and the last payment of each group makes it succeed;
- relay: `relayJoin` (pickup point delivery), so each payment takes the relay's next public number.

Before them, --warmup customers of each kind do the same (not measured). After all the notifications are delivered,
PostgreSQL is read back. Prints per phase: orders/s, p50/p99 of the mutation, server CPU per order; the ratios
group/checkout and relay/checkout (target ≥ 0.8 each); and the checks: no group with more paid or live seats than
its size, every group of the phase succeeded, the relay's numbers exactly 1..n, every order paid.

Exit status: 0 after a consistent measurement whatever the rates, 1 if a check fails or a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._checkout_load import (
    ADDRESS,
    CHECKOUT,
    Tally,
    graphql,
    in_parallel,
    log_in,
    place_and_pay,
    simulator_base_url,
    wait_for_notifications,
)
from bench._checkout_report import percentile
from bench._checkout_server import (
    DATABASE,
    DATABASE_URL,
    REDIS_PREFIX,
    REDIS_URL,
    WeChat,
    pond_server,
    wechat_simulators,
)
from bench._harness import (
    HOST,
    BenchError,
    Server,
    bench_main,
    delete_redis_keys,
    fresh_demo_database,
    process_cpu_seconds,
    run_event_loop,
    running,
)

REDIS_PATTERNS = (f"{REDIS_PREFIX}:*", f"{{{REDIS_PREFIX}:*")
STAFF = "bench-owner"
STOCK = 1_000_000
TARGET_RATIO = 0.8

STAFF_LOGIN = """mutation StaffLogin($u: String!, $p: String!) {
  staffLogin(input: {username: $u, password: $p}) { token errors { code message } } }"""
CAMPAIGN_CREATE = """mutation CampaignCreate($input: GroupBuyCampaignCreateInput!) {
  groupBuyCampaignCreate(input: $input) { groupBuyCampaign { id } errors { code message field } } }"""
PICKUP_CREATE = """mutation PickupCreate($input: PickupPointCreateInput!) {
  pickupPointCreate(input: $input) { pickupPoint { id } errors { code message field } } }"""
RELAY_CREATE = """mutation RelayCreate($input: RelayCreateInput!) {
  relayCreate(input: $input) { relay { id } errors { code message field } } }"""
PLACED = """order { id number status payable { amount } }
    payment { timeStamp nonceStr package signType paySign }
    errors { code message }"""
GROUP_START = f"""mutation GroupBuyStart($input: GroupBuyStartInput!) {{
  groupBuyStart(input: $input) {{ group {{ id }} {PLACED} }} }}"""
GROUP_JOIN = f"""mutation GroupBuyJoin($input: GroupBuyJoinInput!) {{
  groupBuyJoin(input: $input) {{ {PLACED} }} }}"""
RELAY_JOIN = f"""mutation RelayJoin($input: RelayJoinInput!) {{
  relayJoin(input: $input) {{ {PLACED} }} }}"""


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


# --------------------------------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skus:
    group: tuple[int, int]  # (SKU id, list price)
    relay: tuple[int, int]
    checkout: tuple[int, int]


async def prepare_database(password: str) -> Skus:
    """Fresh database, migrations, demo catalog and an OWNER; three SKUs of three products with plenty of stock."""
    import asyncpg

    from domain.identity.models import StaffRole
    from domain.identity.service import create_staff

    await fresh_demo_database(DATABASE, DATABASE_URL, lambda: create_staff(STAFF, password, StaffRole.OWNER))
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (p.id) s.id, s.price FROM catalog_sku s JOIN catalog_product p ON p.id = s.product_id"
            " WHERE p.published AND p.deleted_at IS NULL AND s.deleted_at IS NULL AND s.price > 100"
            " ORDER BY p.id, s.id")
        if len(rows) < 3:
            raise BenchError("the demo catalog has fewer than three products for sale")
        chosen = [(row["id"], row["price"]) for row in rows[:3]]
        for sku_id, _ in chosen:
            await conn.execute("UPDATE catalog_sku SET stock = $2, reserved = 0 WHERE id = $1", sku_id, STOCK)
        return Skus(*chosen)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Checks:
    groups: int
    groups_succeeded: int
    overfilled: list[tuple[int, int, int, int]]  # (group, size, paid seats, live seats)
    relay_seqs: list[int]
    relay_paid: int
    pending_orders: dict[str, int]  # unpaid orders left, by kind

    def problems(self) -> list[str]:
        found = []
        if self.overfilled:
            found.append(f"{len(self.overfilled)} overfilled groups (group, size, paid, live): {self.overfilled[:5]}")
        if self.groups_succeeded != self.groups:
            found.append(f"{self.groups - self.groups_succeeded} of {self.groups} groups did not succeed")
        if self.relay_seqs != list(range(1, len(self.relay_seqs) + 1)):
            gaps = sorted(set(range(1, max(self.relay_seqs, default=0) + 1)) - set(self.relay_seqs))
            found.append(f"the relay's numbers are not 1..n: missing {gaps[:10]}, {len(self.relay_seqs)} numbers")
        if len(self.relay_seqs) != self.relay_paid:
            found.append(f"{self.relay_paid} paid relay orders but {len(self.relay_seqs)} numbers")
        if any(self.pending_orders.values()):
            found.append(f"unpaid orders left: {self.pending_orders}")
        return found


async def read_back(relay_id: int) -> Checks:
    import asyncpg

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        groups = await conn.fetch(
            "SELECT g.id, g.required_size, g.status,"
            " count(s.id) FILTER (WHERE s.state = 'PAID') AS paid,"
            " count(s.id) FILTER (WHERE s.state IN ('HELD', 'PAID')) AS live"
            " FROM group_buy_group g LEFT JOIN group_buy_seat s ON s.group_id = g.id GROUP BY g.id")
        seqs = await conn.fetch("SELECT seq FROM relay_entry WHERE relay_id = $1 AND seq IS NOT NULL ORDER BY seq",
                                relay_id)
        relay_paid = await conn.fetchval(
            "SELECT count(*) FROM relay_entry e JOIN orders_order o ON o.id = e.order_id"
            " WHERE e.relay_id = $1 AND o.status = 'PAID'", relay_id)
        pending = await conn.fetch(
            "SELECT kind, count(*) AS n FROM orders_order WHERE status = 'PENDING_PAYMENT' GROUP BY kind")
    finally:
        await conn.close()
    overfilled = [(g["id"], g["required_size"], g["paid"], g["live"]) for g in groups
                  if g["paid"] > g["required_size"] or g["live"] > g["required_size"]]
    return Checks(groups=len(groups), groups_succeeded=sum(g["status"] == "SUCCEEDED" for g in groups),
                  overfilled=overfilled, relay_seqs=[row["seq"] for row in seqs], relay_paid=int(relay_paid),
                  pending_orders={row["kind"]: int(row["n"]) for row in pending})


# --------------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    tally: Tally
    seconds: float
    server_cpu: float | None

    @property
    def rate(self) -> float:
        return self.tally.paid / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Setup:
    campaign: str
    relay: str
    relay_pk: int
    pickup: str


async def set_up(client: Any, password: str, skus: Skus, group_size: int) -> Setup:
    data, _ = await graphql(client, "StaffLogin", STAFF_LOGIN, {"u": STAFF, "p": password})
    token = data["staffLogin"]["token"]
    if not token:
        raise BenchError(f"staffLogin: {data['staffLogin']['errors']}")
    now = datetime.now(UTC)
    window = {"startsAt": (now - timedelta(minutes=1)).isoformat(), "endsAt": (now + timedelta(days=2)).isoformat()}
    sku, price = skus.group
    campaign = {"title": "压测拼团", **window, "groupSize": group_size, "groupHours": 24, "perCustomerLimit": 5,
                "perOrderMax": 5, "items": [{"skuId": global_id("Sku", sku), "groupPrice": price * 8 // 10}]}
    made, _ = await graphql(client, "CampaignCreate", CAMPAIGN_CREATE, {"input": campaign}, token)
    if made["groupBuyCampaignCreate"]["errors"]:
        raise BenchError(f"groupBuyCampaignCreate: {made['groupBuyCampaignCreate']['errors']}")
    campaign_id = made["groupBuyCampaignCreate"]["groupBuyCampaign"]["id"]
    point, _ = await graphql(client, "PickupCreate", PICKUP_CREATE,
                             {"input": {"name": "压测自提点", "address": "世纪大道 1 号"}}, token)
    if point["pickupPointCreate"]["errors"]:
        raise BenchError(f"pickupPointCreate: {point['pickupPointCreate']['errors']}")
    pickup = point["pickupPointCreate"]["pickupPoint"]["id"]
    sku, price = skus.relay
    relay = {"title": "压测接龙", "startsAt": window["startsAt"], "deadline": window["endsAt"],
             "items": [{"skuId": global_id("Sku", sku), "price": price * 9 // 10}], "pickupPointIds": [pickup]}
    made, _ = await graphql(client, "RelayCreate", RELAY_CREATE, {"input": relay}, token)
    if made["relayCreate"]["errors"]:
        raise BenchError(f"relayCreate: {made['relayCreate']['errors']}")
    relay_id = made["relayCreate"]["relay"]["id"]
    relay_pk = int(base64.b64decode(relay_id).decode().split(":", 1)[1])
    return Setup(campaign_id, relay_id, relay_pk, pickup)


def _unit(sku_id: int) -> dict[str, Any]:
    return {"skuId": global_id("Sku", sku_id), "quantity": 1}


async def checkouts(client: Any, sim: Any, tokens: dict[str, str], skus: Skus, concurrency: int,
                    label: str) -> Tally:
    tally = Tally()

    async def one(user: str) -> None:
        variables = {"input": {"delivery": {"address": ADDRESS}, "lines": [_unit(skus.checkout[0])],
                               "idempotencyKey": f"{label}-{user}"}}
        await place_and_pay(client, sim, tokens[user], ("Checkout", CHECKOUT, "checkout"), variables, tally)

    await in_parallel(list(tokens), concurrency, one)
    return tally


async def open_groups(client: Any, sim: Any, tokens: dict[str, str], setup: Setup, skus: Skus,
                      concurrency: int) -> list[str]:
    """Each leader starts a group and pays: the groups open (FORMING) once the notifications are in."""
    tally, groups = Tally(), []

    async def one(user: str) -> None:
        variables = {"input": {"campaignId": setup.campaign, "skuId": global_id("Sku", skus.group[0]),
                               "delivery": {"address": ADDRESS}, "idempotencyKey": f"lead-{user}"}}
        placed = await place_and_pay(client, sim, tokens[user], ("GroupBuyStart", GROUP_START, "groupBuyStart"),
                                     variables, tally)
        if placed is not None:
            groups.append(placed["group"]["id"])

    await in_parallel(list(tokens), concurrency, one)
    if tally.failures or tally.paid != len(tokens):
        raise BenchError(f"leaders: {tally.paid} paid of {len(tokens)}: {dict(tally.failures)}")
    return groups


async def group_joins(client: Any, sim: Any, tokens: dict[str, str], groups: list[str], seats: int, skus: Skus,
                      concurrency: int, label: str) -> Tally:
    """Customer i takes a seat in group i // seats: every group fills, its last payment makes it succeed."""
    tally = Tally()
    users = list(tokens)

    async def one(user: str) -> None:
        group = groups[users.index(user) // seats]
        variables = {"input": {"groupId": group, "skuId": global_id("Sku", skus.group[0]),
                               "delivery": {"address": ADDRESS}, "idempotencyKey": f"{label}-{user}"}}
        await place_and_pay(client, sim, tokens[user], ("GroupBuyJoin", GROUP_JOIN, "groupBuyJoin"), variables,
                            tally)

    await in_parallel(users, concurrency, one)
    return tally


async def relay_joins(client: Any, sim: Any, tokens: dict[str, str], setup: Setup, skus: Skus, concurrency: int,
                      label: str) -> Tally:
    tally = Tally()

    async def one(user: str) -> None:
        variables = {"input": {"relayId": setup.relay, "lines": [_unit(skus.relay[0])],
                               "delivery": {"pickupPointId": setup.pickup}, "idempotencyKey": f"{label}-{user}"}}
        await place_and_pay(client, sim, tokens[user], ("RelayJoin", RELAY_JOIN, "relayJoin"), variables, tally)

    await in_parallel(list(tokens), concurrency, one)
    return tally


async def timed(name: str, server_pid: int, work: Any) -> Phase:
    cpu_before = process_cpu_seconds(server_pid)
    start = time.perf_counter()
    tally = await work
    seconds = time.perf_counter() - start
    cpu_after = process_cpu_seconds(server_pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Phase(name, tally, seconds, cpu)


@dataclass(frozen=True)
class Run:
    phases: list[Phase]
    checks: Checks
    notifications: int
    delivered: int


async def drive(server: Server, wechat: WeChat, skus: Skus, password: str, args: argparse.Namespace) -> Run:
    import httpx

    assert server.process is not None
    pid = server.process.pid
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency,
                          keepalive_expiry=2.0)
    sim_url = simulator_base_url(server.port, wechat.pay.port)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", limits=limits, timeout=30.0) as client, \
            httpx.AsyncClient(base_url=sim_url, limits=limits, timeout=30.0) as sim:
        setup = await set_up(client, password, skus, args.group_size)
        seats = args.group_size - 1  # the leader holds one
        n, warm = args.customers, args.warmup
        groups_needed = -(-n // seats) + -(-warm // seats)
        names = {kind: [f"{kind}{i}" for i in range(n + warm)] for kind in ("co", "gb", "rl")}
        leaders = [f"lead{i}" for i in range(groups_needed)]
        print(f"  logging in {3 * (n + warm) + len(leaders)} customers", flush=True)
        tokens = await log_in(client, [*leaders, *(u for users in names.values() for u in users)], args.concurrency)
        print(f"  {len(leaders)} leaders open groups of {args.group_size}", flush=True)
        groups = await open_groups(client, sim, {u: tokens[u] for u in leaders}, setup, skus, args.concurrency)
        expected = len(leaders)
        await wait_for_notifications(sim, expected, args.notify_timeout)
        warm_groups, measured_groups = groups[:-(-warm // seats)], groups[-(-warm // seats):]

        def part(kind: str, measured: bool) -> dict[str, str]:
            users = names[kind][warm:] if measured else names[kind][:warm]
            return {u: tokens[u] for u in users}

        if warm:
            print(f"  warm-up: {warm} customers of each kind", flush=True)
            for tally in (await checkouts(client, sim, part("co", False), skus, args.concurrency, "warm"),
                          await group_joins(client, sim, part("gb", False), warm_groups, seats, skus,
                                            args.concurrency, "warm"),
                          await relay_joins(client, sim, part("rl", False), setup, skus, args.concurrency, "warm")):
                if tally.failures or tally.paid != warm:
                    raise BenchError(f"warm-up: {tally.paid} paid of {warm}: {dict(tally.failures)}")
            expected += 3 * warm
            await wait_for_notifications(sim, expected, args.notify_timeout)

        print(f"  measured: {n} customers per phase, {args.concurrency} at a time", flush=True)
        phases = []
        for name, work in (
            ("checkout", lambda: checkouts(client, sim, part("co", True), skus, args.concurrency, "bench")),
            ("group-buy join", lambda: group_joins(client, sim, part("gb", True), measured_groups, seats, skus,
                                                   args.concurrency, "bench")),
            ("relay join", lambda: relay_joins(client, sim, part("rl", True), setup, skus, args.concurrency,
                                               "bench")),
        ):
            phase = await timed(name, pid, work())
            phases.append(phase)
            expected += phase.tally.paid
            await wait_for_notifications(sim, expected, args.notify_timeout)  # each phase starts from quiet
        delivery = await wait_for_notifications(sim, expected, args.notify_timeout)
        await asyncio.sleep(0.5)  # the last notifications' transactions commit
        checks = await read_back(setup.relay_pk)
    return Run(phases, checks, delivery.notifications, delivery.delivered)


def report(run: Run, args: argparse.Namespace) -> bool:
    print()
    print(f"{'phase':<16} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'server ms/order':>16}")
    for phase in run.phases:
        t = phase.tally
        cpu = f"{1000 * phase.server_cpu / t.paid:16.2f}" if phase.server_cpu is not None and t.paid else f"{'-':>16}"
        print(f"{phase.name:<16} {t.paid:>7} {phase.seconds:>8.2f} {phase.rate:>9.1f} "
              f"{percentile(t.checkout_ms, 50):>8.1f} {percentile(t.checkout_ms, 99):>8.1f} {cpu}")
    base = run.phases[0].rate
    print()
    for phase in run.phases[1:]:
        ratio = phase.rate / base if base else 0.0
        verdict = "PASS" if ratio >= TARGET_RATIO else "BELOW"
        print(f"{phase.name} / checkout: {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    checks = run.checks
    print(f"\ngroups: {checks.groups} ({checks.groups_succeeded} succeeded), overfilled: {len(checks.overfilled)}")
    gapless = checks.relay_seqs == list(range(1, len(checks.relay_seqs) + 1))
    print(f"relay numbers: {len(checks.relay_seqs)}, gapless 1..n: {gapless}")
    print(f"notifications: {run.notifications}, delivered: {run.delivered}")
    problems = checks.problems()
    for phase in run.phases:
        if phase.tally.failures:
            problems.append(f"{phase.name}: failed requests {dict(phase.tally.failures)}")
        if phase.tally.paid != args.customers:
            problems.append(f"{phase.name}: {phase.tally.paid} paid of {args.customers}")
    if run.delivered != run.notifications:
        problems.append(f"{run.notifications - run.delivered} notifications not delivered")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    return not problems


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    password = secrets.token_urlsafe(16)
    delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    try:
        print(f"preparing {DATABASE}: migrations, demo catalog, an OWNER, three SKUs", flush=True)
        skus = asyncio.run(prepare_database(password))
        with tempfile.TemporaryDirectory(prefix="pond-bench-social-") as tmp, contextlib.ExitStack() as stack:
            workdir = Path(tmp)
            wechat = stack.enter_context(wechat_simulators(workdir))
            args.plain, args.pool_max = False, None  # what bench/_checkout_server.pond_server reads
            with running(pond_server(workdir, args, wechat)) as server:
                assert server.process is not None
                print(f"  server up on port {server.port}, pid {server.process.pid}", flush=True)
                try:
                    outcome = run_event_loop(drive(server, wechat, skus, password, args))
                except BenchError as exc:
                    raise BenchError(f"{exc}\n--- {server.name} log ---\n{server.log_tail()}") from None
    finally:
        delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    ok = report(outcome, args)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=300, help="customers per measured phase (default 300)")
    parser.add_argument("--concurrency", type=int, default=32, help="customers at a time (default 32)")
    parser.add_argument("--group-size", type=int, default=5, help="seats per group, the leader's included (default 5)")
    parser.add_argument("--warmup", type=int, default=16, help="customers per kind before measuring (default 16)")
    parser.add_argument("--notify-timeout", type=float, default=60.0, help="wait for notifications (default 60)")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.concurrency < 1 or args.warmup < 0 or not 2 <= args.group_size <= 50:
        parser.error("--customers >= 1, --concurrency >= 1, --warmup >= 0, 2 <= --group-size <= 50")
    return args


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "server")


if __name__ == "__main__":
    sys.exit(main())
