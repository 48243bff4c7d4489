"""Outbound HTTP to WeChat (wechat/http.py) against a raw local server: kept-alive connections are reused, and each
way a call can fail reaches the gateways as the httpx error they act on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio

from wechat.http import network_client

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"


@dataclass
class RawServer:
    """Answers request n of each connection as `answer(connection, n)` says: bytes to send, or None to hang up."""

    answer: Callable[[int, int], bytes | None]
    connections: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = self.connections
        self.connections += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                reply = self.answer(connection, n)
                n += 1
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Start = Callable[[Callable[[int, int], bytes | None]], Awaitable[tuple[str, RawServer]]]


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Start]:
    servers: list[asyncio.Server] = []

    async def start(answer: Callable[[int, int], bytes | None]) -> tuple[str, RawServer]:
        raw = RawServer(answer)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", raw

    yield start
    for server in servers:
        server.close()


async def test_calls_reuse_one_kept_alive_connection(serve):
    url, raw = await serve(lambda connection, n: OK)
    async with network_client(5.0) as client:
        for _ in range(5):
            response = await client.post(f"{url}/v3/pay", json={"a": 1})
            assert response.status_code == 200 and response.json() == {"ok": True}
    assert raw.connections == 1


async def test_a_kept_alive_connection_the_server_closed_is_a_remote_protocol_error(serve):
    """What the WeChat Pay gateway asks again for (its calls are idempotent): not a timeout, not a refusal."""
    url, _ = await serve(lambda connection, n: OK if n == 0 else None)
    async with network_client(5.0) as client:
        assert (await client.post(f"{url}/v3/pay", json={})).status_code == 200
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post(f"{url}/v3/pay", json={})


async def test_a_refused_connection_and_a_late_answer_are_transport_errors(serve):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    async with network_client(httpx.Timeout(0.3, connect=1.0)) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(f"http://127.0.0.1:{closed_port}/v3/pay", json={})
        never = asyncio.get_running_loop().create_future()  # a server that reads the request and never answers
        server = await asyncio.start_server(lambda reader, writer: never, "127.0.0.1", 0)
        try:
            with pytest.raises(httpx.TimeoutException):
                await client.post(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v3/pay", json={})
        finally:
            server.close()
