"""A real local Redis Cluster for tests: three masters (`redis-server --cluster-enabled yes`) on spare ports in a
temporary directory, joined with `redis-cli --cluster create`, started once per session when a test asks for it
and stopped at the end. In CI a cluster that cannot start fails the run; elsewhere its tests are skipped.

Use the `redis_cluster` fixture (session-scoped, no event loop: it hands out addresses) and make a client per test
with `cluster_client(...)`, since a client belongs to the loop of the test that made it.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from server.wiring import redis_client
from tests.support.backends import unavailable

MASTERS = 3
START_SECONDS = 20.0
BUS_PORT_OFFSET = 10_000  # Redis Cluster's node-to-node port is the client port + 10000


@dataclass
class LocalCluster:
    ports: list[int]
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """What POND_REDIS_URL says for it (see server.wiring.redis_client)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def cluster_client(cluster: LocalCluster) -> RedisCluster:
    """The client the server makes for this cluster's URL."""
    client = redis_client(cluster.url)
    assert isinstance(client, RedisCluster)
    return client


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spare_ports(count: int) -> list[int]:
    """Ports free for both the client and the cluster bus (port + 10000)."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(20_000, 30_000)
        if port not in ports and _free(port) and _free(port + BUS_PORT_OFFSET):
            ports.append(port)
    return ports


def _cli(*args: str, timeout: float = 10) -> str:
    done = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


def _wait(ready: object, what: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except (subprocess.SubprocessError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready in {START_SECONDS:.0f} s")


def start_cluster(directory: Path, masters: int = MASTERS) -> LocalCluster:
    cluster = LocalCluster(spare_ports(masters), directory)
    deadline = time.monotonic() + START_SECONDS
    try:
        for port in cluster.ports:
            node_dir = directory / str(port)
            node_dir.mkdir(parents=True)
            cluster.processes.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--dir", str(node_dir), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        for port in cluster.ports:
            _wait(lambda port=port: _cli("-p", str(port), "ping").strip() == "PONG", f"redis-server :{port}", deadline)
        _cli("--cluster", "create", *(f"127.0.0.1:{port}" for port in cluster.ports),
             "--cluster-replicas", "0", "--cluster-yes", timeout=START_SECONDS)
        for port in cluster.ports:
            _wait(lambda port=port: "cluster_state:ok" in _cli("-p", str(port), "cluster", "info"),
                  f"the cluster seen from :{port}", deadline)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    except (OSError, subprocess.SubprocessError, TimeoutError) as exc:
        unavailable("a local Redis Cluster (redis-server --cluster-enabled yes)", exc)
    try:
        yield cluster
    finally:
        cluster.stop()
