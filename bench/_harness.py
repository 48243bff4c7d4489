"""Pieces every benchmark shares: servers as subprocesses, a wrk runner, the result table.

Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
RESULT_MARK = "BENCH_RESULT "
BUSY_THRESHOLD = 0.15  # share of the machine's CPU in use by others before a scenario that makes its numbers suspect

# The lines of wrk's done() hook that print one machine-readable result line (read back by run_wrk); latencies are
# in microseconds. A script with a done() hook of its own ends it with these lines.
LUA_RESULT_LINE = """  local e = summary.errors
  io.write(string.format(
    'MARK{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
""".replace("MARK", RESULT_MARK)
_LUA_DONE = f"""
function done(summary, latency, requests)
{LUA_RESULT_LINE}end
"""


class BenchError(Exception):
    """A server failed to start or answered wrongly: the run is void."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0,
            headers: dict[str, str] | None = None) -> Response:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


@dataclass
class Server:
    """A server subprocess in its own process group, its output kept in a log file."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/healthz"
    port: int = field(default_factory=free_port)
    cwd: Path = REPO
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> None:
        argv = [part.format(port=self.port, host=HOST) for part in self.argv]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")
        log = tempfile.NamedTemporaryFile(prefix=f"bench-{slug}-", suffix=".log", delete=False)
        self.log_path = Path(log.name)
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(f"{self.name}: exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                if request(self.port, "GET", self.ready_path, timeout=1.0).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name}: not ready after {timeout:.0f}s\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return f"--- last lines of {self.log_path}:\n{tail}"

    def remove_log(self) -> None:
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


@contextmanager
def running(server: Server, ready_timeout: float = 30.0) -> Iterator[Server]:
    """Start, wait for readiness, and always stop (exceptions and Ctrl-C included)."""
    keep_log = False
    try:
        server.start()
        server.wait_ready(ready_timeout)
        yield server
    except BenchError:
        keep_log = True  # for the post-mortem
        raise
    finally:
        server.stop()
        if not keep_log:
            server.remove_log()


def uvicorn_argv(app: str, *, factory: bool = False) -> list[str]:
    """One uvicorn worker with the same defaults `pond serve` uses (uvloop, httptools, no access log)."""
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "{host}", "--port", "{port}", "--workers", "1",
            "--app-dir", str(REPO), "--no-access-log", "--log-level", "warning"]
    return [*argv, "--factory"] if factory else argv


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let `kill <bench pid>` unwind like Ctrl-C, so every server is stopped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def bench_main(run: Callable[[Namespace], int], args: Namespace, what: str) -> int:
    """`run(args)` as a benchmark's exit status: 1 after a BenchError, 130 after Ctrl-C or SIGTERM.

    `what` names what was stopped on the way out ("server", "servers") in the interruption message."""
    try:
        with sigterm_as_interrupt():
            return run(args)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"bench: interrupted; {what} stopped", file=sys.stderr)
        return 130


# --------------------------------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    background_cpu: float | None = None  # share of the machine busy just before, with no load running

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench: wrk is not installed; run `apt-get install -y wrk` (Debian) and try again")
    return path


def lua_post_script(body: bytes, directory: Path, headers: Mapping[str, str] | None = None) -> Path:
    """A wrk script sending `body` as a JSON POST and reporting through done()."""
    text = body.decode()
    if "]==]" in text:
        raise ValueError("body cannot be embedded in a Lua long string")
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{text}]==]", 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in (headers or {}).items()]
    path = directory / "post.lua"
    path.write_text("\n".join(lines) + "\n" + _LUA_DONE)
    return path


def run_wrk(port: int, path: str, script: Path, *, seconds: float, connections: int = 32,
            threads: int = 2) -> WrkResult:
    argv = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "10s", "-s", str(script), f"http://{HOST}:{port}{path}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            data = json.loads(line.removeprefix(RESULT_MARK))
            errors = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout") if data[k]}
            return WrkResult(int(data["requests"]), data["duration_us"] / 1e6, data["p50_us"] / 1000,
                             data["p99_us"] / 1000, errors)
    raise BenchError(f"no result line in wrk's output:\n{output}")


# --------------------------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------------------------


def background_cpu(seconds: float = 0.5) -> float | None:
    """Share of all cores busy over `seconds` (Linux /proc/stat), for warning about a machine that is not idle."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    try:
        total_0, idle_0 = sample()
        time.sleep(seconds)
        total_1, idle_1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_1 - total_0
    return 1 - (idle_1 - idle_0) / total if total else None


def print_table(rows: Sequence[tuple[str, WrkResult]], busy_above: float = BUSY_THRESHOLD) -> None:
    width = max(len("scenario"), *(len(name) for name, _ in rows))
    print(f"{'scenario':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'idle cpu':>8}  errors")
    noisy = False
    for name, result in rows:
        errors = ", ".join(f"{k}={v}" for k, v in result.errors.items()) or "-"
        busy = result.background_cpu
        mark = "" if busy is None or busy <= busy_above else " *"
        noisy = noisy or bool(mark)
        idle = "?" if busy is None else f"{100 * (1 - busy):.0f}%{mark}"
        print(f"{name:<{width}}  {result.rps:>9.1f}  {result.p50_ms:>8.2f}  {result.p99_ms:>8.2f}  {idle:>8}  {errors}")
    if noisy:
        print(f"* the machine was more than {100 * busy_above:.0f}% busy just before this scenario: another process "
              "competed for the CPU, so its numbers (and the ratios built on them) are unreliable")


def print_ratio(label: str, numerator: WrkResult, denominator: WrkResult, target: float) -> bool:
    ratio = numerator.rps / denominator.rps if denominator.rps else 0.0
    verdict = "PASS" if ratio >= target else "BELOW"
    print(f"{label} = {ratio:.3f}  (target >= {target:g})  {verdict}")
    return ratio >= target


def delete_redis_keys(url: str, patterns: Sequence[str]) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = [key for pattern in patterns for key in client.scan_iter(match=pattern, count=500)]
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


# --------------------------------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc)
# --------------------------------------------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int | str) -> tuple[str, list[str]] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    return head.partition("(")[2], tail.split()


def process_rss_mb(pid: int) -> float | None:
    """A process's resident memory now, in MB (Linux /proc), None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds one process has used so far (its threads included), None if it is gone."""
    found = _stat_fields(pid)
    if found is None:
        return None
    fields = found[1]  # fields[0] is the state; utime and stime are the 14th and 15th fields of the line
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def command_cpu_seconds(commands: Sequence[str]) -> dict[str, float]:
    """CPU seconds used so far by every live process whose command name is one of `commands`, summed per name.

    Processes that exit between two calls drop out of the sum, so compare two calls only over a short stretch
    during which the set of processes stays the same (e.g. PostgreSQL backends held by a connection pool)."""
    totals = dict.fromkeys(commands, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        found = _stat_fields(entry.name)
        if found is None or found[0] not in totals:
            continue
        totals[found[0]] += (int(found[1][11]) + int(found[1][12])) / _CLOCK_TICKS
    return totals


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores together have spent busy since boot (Linux /proc/stat), None where unreadable."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _CLOCK_TICKS


def run_event_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run the client half of a benchmark on uvloop when it is installed (a lighter client), else on asyncio."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


async def fresh_demo_database(name: str, url: str, then: Callable[[], Awaitable[object]] | None = None) -> None:
    """Drop and recreate the database `name` (at `url`), apply Pond's migrations and seed the demo catalog; `then`
    runs afterwards with Pond's database open (to add staff, say)."""
    import asyncpg

    from domain.catalog.demo import seed_demo_catalog
    from domain.db import close_database, migrate_database, open_database

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    await migrate_database(url)
    await open_database(url)
    try:
        await seed_demo_catalog()
        if then is not None:
            await then()
    finally:
        await close_database()
