"""Stock counter micro benchmark: concurrent admits (distinct holders) against the memory and the Redis counter.

    python bench/stock_counter.py [--admits 20000] [--concurrency 64] [--lines 1] [--stock N] [--duration 10]

Each admit asks for one unit of each of `--lines` SKUs; the stock (default: half the admits) makes about half of
them sold out, so both paths are measured. Prints admits/s and p50/p99 latency per counter, and checks that no
unit was oversold. Stops issuing admits after `--duration` seconds. The Redis keys use a fresh prefix
(`{bench-stock-<hex>:stock}:*`) and are deleted at the end.
Exit status: 0 after a consistent measurement, 1 if a counter oversold or Redis was not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make Pond's modules importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis

from domain.inventory.counter import StockCounter
from domain.inventory.memory_counter import MemoryStockCounter
from domain.inventory.redis_counter import RedisStockCounter

TTL_SECONDS = 900


@dataclass
class Result:
    name: str
    latencies_ns: list[int]
    admitted: int
    sold_out: int
    seconds: float
    consistent: bool

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6 if ordered else 0.0


async def run(name: str, counter: StockCounter, args: argparse.Namespace) -> Result:
    sku_ids = list(range(1, args.lines + 1))
    await counter.load({sku_id: args.stock for sku_id in sku_ids})
    latencies: list[int] = []
    outcome = {"admitted": 0, "sold_out": 0}
    issued = 0
    started = time.perf_counter()
    deadline = started + args.duration

    async def worker() -> None:
        nonlocal issued
        while issued < args.admits and time.perf_counter() < deadline:
            issued += 1
            lines = dict.fromkeys(sku_ids, 1)
            t0 = time.perf_counter_ns()
            result = await counter.admit(f"bench-{issued}", lines, TTL_SECONDS)
            latencies.append(time.perf_counter_ns() - t0)
            outcome["admitted" if result.admitted else "sold_out"] += 1

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    seconds = time.perf_counter() - started
    left = await counter.counts(sku_ids)
    consistent = outcome["admitted"] <= args.stock and all(
        count == args.stock - outcome["admitted"] for count in left.values()
    )
    return Result(name, latencies, outcome["admitted"], outcome["sold_out"], seconds, consistent)


async def drop_keys(client: aioredis.Redis, counter: RedisStockCounter) -> None:
    batch: list[bytes | str] = []
    async for key in client.scan_iter(match=f"{{{counter.prefix}:stock:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await client.delete(*batch)
            batch = []
    if batch:
        await client.delete(*batch)


async def run_redis(args: argparse.Namespace) -> Result | None:
    pool = aioredis.BlockingConnectionPool.from_url(args.redis_url, max_connections=args.concurrency, timeout=5)
    client = aioredis.Redis(connection_pool=pool)
    counter = RedisStockCounter(client, prefix=f"bench-stock-{uuid.uuid4().hex[:8]}")
    try:
        try:
            await asyncio.wait_for(client.ping(), 5)
        except (OSError, TimeoutError, aioredis.RedisError) as exc:
            print(f"redis: {args.redis_url} is not reachable ({type(exc).__name__}: {exc})", file=sys.stderr)
            return None
        try:
            await counter.admit("bench-warm-up", {0: 1}, 1)  # loads the scripts so the run measures EVALSHA only
            return await run("redis", counter, args)
        finally:
            await drop_keys(client, counter)
    finally:
        await client.aclose()
        await pool.aclose()


def print_results(results: list[Result], args: argparse.Namespace) -> None:
    print(f"{args.admits} admits max, {args.concurrency} concurrent, {args.lines} line(s) each, stock {args.stock}")
    print(
        f"{'counter':<8}  {'admits':>7}  {'admitted':>8}  {'sold out':>8}  {'admits/s':>10}  {'p50 ms':>7}  "
        f"{'p99 ms':>7}  consistent"
    )
    for r in results:
        rate = len(r.latencies_ns) / r.seconds if r.seconds else 0.0
        print(
            f"{r.name:<8}  {len(r.latencies_ns):>7}  {r.admitted:>8}  {r.sold_out:>8}  {rate:>10.0f}  "
            f"{r.percentile_ms(0.50):>7.3f}  {r.percentile_ms(0.99):>7.3f}  {'yes' if r.consistent else 'NO'}"
        )


async def main_async(args: argparse.Namespace) -> int:
    results = [await run("memory", MemoryStockCounter(), args)]
    redis_result = await run_redis(args)
    if redis_result is not None:
        results.append(redis_result)
    print_results(results, args)
    return 0 if redis_result is not None and all(r.consistent for r in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admits", type=int, default=20_000, help="admits to issue per counter")
    parser.add_argument("--concurrency", type=int, default=64, help="admits in flight (and Redis connections)")
    parser.add_argument("--lines", type=int, default=1, help="SKUs per admit, one unit each")
    parser.add_argument("--stock", type=int, default=None, help="units per SKU (default: half the admits)")
    parser.add_argument("--duration", type=float, default=10.0, help="stop issuing admits after this many seconds")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if min(args.admits, args.concurrency, args.lines) < 1 or args.duration <= 0:
        parser.error("--admits, --concurrency, --lines and --duration must be positive")
    if args.stock is None:
        args.stock = args.admits // 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
