"""Catalog read benchmark: `products(first: 20)` with SKUs, prices and category, 32 connections, four servers.

    python bench/catalog.py [--duration 10]

(a) Pond uncached, (b) Pond with its response cache warm, (c) the GraphQL floor (a minimal strawberry schema from
in-memory objects), (d) the HTTP ceiling (plain Starlette returning (a)'s body). Each is one uvicorn worker on
127.0.0.1, loaded in turn by wrk. Prints req/s, p50 and p99 per server and the ratios a/c and b/d.
Needs PostgreSQL and Redis on 127.0.0.1 (database `pond_bench` is dropped and recreated) and wrk.
Exit status: 0 after a measurement whatever the ratios, 1 if a server failed to start or answered wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _catalog_data as catalog_data
from bench._harness import (
    BenchError,
    Response,
    Server,
    WrkResult,
    background_cpu,
    bench_main,
    delete_redis_keys,
    lua_post_script,
    print_ratio,
    print_table,
    request,
    require_wrk,
    run_wrk,
    running,
    uvicorn_argv,
)

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
DATABASE = "pond_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "bench"
REDIS_PATTERNS = (f"{REDIS_PREFIX}:*", f"{{{REDIS_PREFIX}:*")  # plain keys and hash-tagged ones ({bench:catalog}:…)
PAGE = 20
TARGETS = {"a/c": 0.5, "b/d": 0.3, "b2/b": 0.9, "t2/t": 1.7, "redis/read": 0.05}

QUERY = """query Catalog {
  products(first: 20) {
    edges { node {
      id title subtitle
      priceRange { min { amount currency } max { amount currency } }
      category { id name }
      skus { id specs { name value } price { amount currency } originalPrice { amount currency } available }
    } }
  }
}"""
BODY = json.dumps({"query": QUERY, "operationName": "Catalog"}, separators=(",", ":")).encode()
TRIVIAL = json.dumps({"query": "mutation TokenRefresh { tokenRefresh { token errors { code } } }",
                      "operationName": "TokenRefresh"}, separators=(",", ":")).encode()
"""The trivial authenticated mutation: the token checked against its account (cached in process), a new one signed."""
BENCH_CUSTOMER = 1


# --------------------------------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------------------------------


async def recreate_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()


def _checked(rows: list[catalog_data.ProductRow]) -> None:
    """Every generated product passes Pond's own catalog rules."""
    from domain.catalog.rules import ProductDraft, SkuDraft, Spec, check_product

    for row in rows:
        skus = [SkuDraft([Spec(s.spec_name, s.spec_value)], s.price, s.original_price, s.stock, "", s.weight)
                for s in row.skus]
        check_product(ProductDraft(row.title, row.category_id, row.subtitle, row.images, "", row.sort_order, skus))


def _models(rows: list[catalog_data.ProductRow]) -> list[list[Any]]:
    """Category, Product, Sku and StockMovement instances, in insertion order, ids as generated."""
    from domain.catalog.models import Category, Product, Sku, StockMovement

    skus = [sku for row in rows for sku in row.skus]
    return [
        [Category(id=c.id, name=c.name, parent_id=c.parent_id, sort_order=c.sort_order)
         for c in catalog_data.categories()],
        [Product(id=p.id, title=p.title, subtitle=p.subtitle, images=p.images, category_id=p.category_id,
                 sort_order=p.sort_order, published=True) for p in rows],
        [Sku(id=s.id, product_id=s.product_id, specs=[{"name": s.spec_name, "value": s.spec_value}],
             spec_key=f"{s.spec_name}={s.spec_value}", price=s.price, original_price=s.original_price,
             stock=s.stock, weight=s.weight) for s in skus],
        [StockMovement(sku_id=s.id, delta=s.stock, stock_after=s.stock, reason="initial stock", actor="system:bench")
         for s in skus if s.stock],
    ]


async def _insert(rows: list[catalog_data.ProductRow]) -> None:
    from tortoise.transactions import in_transaction

    from domain.identity.models import Customer

    async with in_transaction() as conn:
        await Customer.create(id=BENCH_CUSTOMER, openid="bench-customer", using_db=conn)
        for instances in _models(rows):
            await type(instances[0]).bulk_create(instances, batch_size=1000, using_db=conn)
        # explicit ids: move the sequences on
        for table in ("identity_customer", "catalog_category", "catalog_product", "catalog_sku"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            await conn.execute_query(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")


async def prepare_database(products: int) -> None:
    """Fresh `pond_bench`, Pond's migrations, then the catalog in one transaction."""
    from domain.db import close_database, migrate_database, open_database

    rows = catalog_data.products(products)
    _checked(rows)
    await recreate_database()
    await migrate_database(DATABASE_URL)
    await open_database(DATABASE_URL)
    try:
        await _insert(rows)
    finally:
        await close_database()


# --------------------------------------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------------------------------------


SECRET = secrets.token_urlsafe(48)
"""Every Pond server of the run signs with it, so the bench can sign a customer's token."""


def customer_token() -> str:
    """The bench customer's bearer token, as the mini-program sends after `wx.login`."""
    from datetime import timedelta

    from domain.identity.tokens import TokenService

    return TokenService(SECRET, timedelta(days=1), timedelta(hours=1)).issue_customer(BENCH_CUSTOMER)


def redis_commands() -> int:
    """Commands Redis has processed since it started (`INFO stats`)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def pond_server(name: str, cache_seconds: int, workdir: Path, *, redis: bool = True, workers: int = 1) -> Server:
    env = {
        "POND_DATABASE_URL": DATABASE_URL,
        "POND_REDIS_URL": REDIS_URL if redis else "",
        "POND_REDIS_PREFIX": REDIS_PREFIX,
        "POND_CATALOG_CACHE_SECONDS": str(cache_seconds),
        "POND_SEED_DEMO": "false",
        "POND_LOG_LEVEL": "WARNING",
        "POND_SECRET_KEY": SECRET,  # else `pond serve` writes one under ./.pond
    }
    argv = [sys.executable, "-c", "from app import main; main()", "serve", "--host", "{host}", "--port", "{port}",
            "--workers", str(workers)]
    return Server(name, argv, env, ready_path="/readyz", cwd=workdir)


def ask(server: Server, headers: dict[str, str] | None = None) -> Response:
    return request(server.port, "POST", "/graphql", BODY, headers=headers)


def check_page(server: Server, reply: Response) -> Any:
    """The parsed answer if it is a 200 with `data.products.edges` of PAGE items and no errors, else BenchError."""
    if reply.status != 200:
        raise BenchError(f"{server.name}: HTTP {reply.status}: {reply.body[:300]!r}")
    try:
        answer: Any = reply.json()
        edges = answer["data"]["products"]["edges"]
    except (ValueError, KeyError, TypeError):
        raise BenchError(f"{server.name}: not a products page: {reply.body[:300]!r}") from None
    if answer.get("errors") or len(edges) != PAGE:
        raise BenchError(f"{server.name}: {len(edges)} edges, errors {answer.get('errors')}")
    return answer


def check_cache_hit(server: Server, headers: dict[str, str] | None = None) -> None:
    reply = ask(server, headers)
    check_page(server, reply)
    if reply.headers.get("x-pond-cache") != "hit":
        raise BenchError(f"{server.name}: expected x-pond-cache: hit, got {reply.headers.get('x-pond-cache')!r}")


def measure(server: Server, script: Path, args: argparse.Namespace) -> WrkResult:
    busy = background_cpu()
    print(f"  {server.name}: {args.warmup:g}s warm-up, {args.duration:g}s measured at {args.connections} connections",
          flush=True)
    if args.warmup > 0:
        run_wrk(server.port, "/graphql", script, seconds=args.warmup, connections=args.connections)
    result = run_wrk(server.port, "/graphql", script, seconds=args.duration, connections=args.connections)
    return dataclasses.replace(result, background_cpu=busy)


def bench_pond_uncached(args: argparse.Namespace, script: Path, workdir: Path) -> tuple[WrkResult, Response]:
    with running(pond_server("(a) pond uncached", 0, workdir)) as server:
        reply = ask(server)
        check_page(server, reply)
        if "x-pond-cache" in reply.headers:
            raise BenchError(f"{server.name}: the cache answered although POND_CATALOG_CACHE_SECONDS=0")
        return measure(server, script, args), reply


@dataclasses.dataclass(frozen=True)
class Cached:
    name: str
    redis: bool = True
    workers: int = 1
    token: bool = False
    """Sent with a customer's bearer token (the mini-program's case: `wx.login` runs at launch)."""


def bench_pond_cached(args: argparse.Namespace, workdir: Path, expected: Response,
                      how: Cached) -> tuple[WrkResult, float | None]:
    """The result, and Redis commands per request while measuring (None without Redis)."""
    headers = {"Authorization": f"Bearer {customer_token()}"} if how.token else None
    script = lua_post_script(BODY, workdir, headers)
    with running(pond_server(how.name, 3600, workdir, redis=how.redis, workers=how.workers)) as server:
        for _ in range(3 * how.workers):
            reply = ask(server, headers)
            check_page(server, reply)
        if reply.json() != expected.json():
            raise BenchError(f"{server.name}: the cached answer differs from (a)'s")
        check_cache_hit(server, headers)
        before = redis_commands() if how.redis else 0
        result = measure(server, script, args)
        per_request = (redis_commands() - before) / max(result.requests, 1) if how.redis else None
        check_cache_hit(server, headers)
        return result, per_request


def bench_floor(args: argparse.Namespace, script: Path, expected: Response) -> WrkResult:
    server = Server("(c) graphql floor", uvicorn_argv("bench._catalog_apps:floor_app", factory=True))
    with running(server):
        reply = ask(server)
        if check_page(server, reply) != expected.json():
            raise BenchError(f"{server.name}: its answer differs from Pond's, so it is no floor for the same query")
        return measure(server, script, args)


def bench_ceiling(args: argparse.Namespace, script: Path, workdir: Path, expected: Response) -> WrkResult:
    body_file = workdir / "ceiling.json"
    body_file.write_bytes(expected.body)
    server = Server("(d) http ceiling", uvicorn_argv("bench._catalog_apps:ceiling_app", factory=True),
                    {"BENCH_CEILING_BODY": str(body_file)})
    with running(server):
        reply = ask(server)
        check_page(server, reply)
        if reply.body != expected.body:
            raise BenchError(f"{server.name}: body differs from (a)'s")
        return measure(server, script, args)


def bench_trivial(args: argparse.Namespace, workdir: Path, name: str, workers: int) -> WrkResult:
    """`tokenRefresh` with the bench customer's token on `workers` uvicorn workers (the cache plays no part)."""
    headers = {"Authorization": f"Bearer {customer_token()}"}
    script = lua_post_script(TRIVIAL, workdir, headers)
    with running(pond_server(name, 3600, workdir, workers=workers)) as server:
        for _ in range(3 * workers):
            reply = request(server.port, "POST", "/graphql", TRIVIAL, headers=headers)
            answer: Any = reply.json() if reply.status == 200 else {}
            if not (answer.get("data") or {}).get("tokenRefresh", {}).get("token"):
                raise BenchError(f"{name}: tokenRefresh did not answer a token: {reply.body[:300]!r}")
        return measure(server, script, args)


# --------------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------------


def report(results: dict[str, WrkResult], redis_per_request: dict[str, float | None]) -> None:
    print()
    print_table(list(results.items()))
    print()
    a, b, b_local, b_token, b_two, c, d, t, t_two = results.values()
    print_ratio("a/c  (pond uncached / graphql floor)          ", a, c, TARGETS["a/c"])
    print_ratio("b/d  (pond cached in Redis / http ceiling)    ", b, d, TARGETS["b/d"])
    print_ratio("b'/d (pond cached in-process / http ceiling)  ", b_local, d, TARGETS["b/d"])
    print_ratio("bt/d (cached, customer token / http ceiling)  ", b_token, d, TARGETS["b/d"])
    print_ratio("b2/b (cached, 2 workers / 1 worker)           ", b_two, b, TARGETS["b2/b"])
    print_ratio("t2/t (tokenRefresh, 2 workers / 1 worker)     ", t_two, t, TARGETS["t2/t"])
    for name, per_request in redis_per_request.items():
        if per_request is not None:
            verdict = "PASS" if per_request <= TARGETS["redis/read"] else "FAIL"
            print(f"Redis commands per cached read, {name:<34} = {per_request:.3f}  "
                  f"(target <= {TARGETS['redis/read']})  {verdict}")


def run(args: argparse.Namespace) -> int:
    require_wrk()
    started = time.perf_counter()
    print(f"seeding {DATABASE}: {args.products} products x {len(catalog_data.SIZES)} SKUs", flush=True)
    asyncio.run(prepare_database(args.products))
    print(f"  seeded in {time.perf_counter() - started:.1f}s", flush=True)
    delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    try:
        with tempfile.TemporaryDirectory(prefix="pond-bench-") as tmp:
            workdir = Path(tmp)
            script = lua_post_script(BODY, workdir)
            a, pond_reply = bench_pond_uncached(args, script, workdir)
            results = {"(a) pond uncached": a}
            redis_per_request: dict[str, float | None] = {}
            for how in (Cached("(b) pond cache warm, Redis"), Cached("(b') pond cache warm, in-process", redis=False),
                        Cached("(bt) cache warm, customer token", token=True),
                        Cached("(b2) cache warm, Redis, 2 workers", workers=2)):
                results[how.name], redis_per_request[how.name] = bench_pond_cached(args, workdir, pond_reply, how)
            script = lua_post_script(BODY, workdir)
            results["(c) graphql floor"] = bench_floor(args, script, pond_reply)
            results["(d) http ceiling"] = bench_ceiling(args, script, workdir, pond_reply)
            results["(t) tokenRefresh, 1 worker"] = bench_trivial(args, workdir, "(t) tokenRefresh, 1 worker", 1)
            results["(t2) tokenRefresh, 2 workers"] = bench_trivial(args, workdir, "(t2) tokenRefresh, 2 workers", 2)
    finally:
        delete_redis_keys(REDIS_URL, REDIS_PATTERNS)
    report(results, redis_per_request)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    bad = {name: r.errors["status"] for name, r in results.items() if r.errors.get("status")}
    if bad:
        print(f"bench: FAILED: non-2xx answers under load: {bad}", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--products", type=int, default=1000, help="products to seed (default 1000)")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.products < PAGE:
        parser.error(f"--duration >= 1, --warmup >= 0, --connections >= 1, --products >= {PAGE}")
    return args


def main(argv: list[str] | None = None) -> int:
    return bench_main(run, parse_args(argv), "servers")


if __name__ == "__main__":
    sys.exit(main())
