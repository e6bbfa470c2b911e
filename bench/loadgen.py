"""Load generators: wrk (when installed) and a built-in asyncio HTTP/1.1 keep-alive client.

Both drive a list of requests round-robin over N persistent connections on loopback and return
Figures. The asyncio client also has a count mode (each request sent exactly once), for flows such
as a flash sale where every buyer tries once."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import orjson

MAX_CONNECTIONS = 2000
MAX_DURATION = 300.0
MAX_REQUESTS = 1_000_000


@dataclass
class Req:
    """One HTTP request to drive. A dict/list body is sent as JSON."""

    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict | list | None = None

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return orjson.dumps(self.body)

    def all_headers(self) -> dict[str, str]:
        h = dict(self.headers)
        if isinstance(self.body, (dict, list)) and not any(k.lower() == "content-type" for k in h):
            h["Content-Type"] = "application/json"
        return h

    def raw(self, host: str) -> bytes:
        body = self.body_bytes()
        lines = [f"{self.method.upper()} {self.path} HTTP/1.1", f"Host: {host}"]
        for k, v in self.all_headers().items():
            lines.append(f"{k}: {v}")
        if body or self.method.upper() in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Figures:
    """What one measurement produced. Latencies in milliseconds."""

    name: str
    connections: int
    duration: float
    requests: int
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int = 0                      # socket errors and timeouts
    client: str = "asyncio"              # wrk | asyncio
    statuses: dict[int, int] = field(default_factory=dict)   # asyncio client only
    extra: dict[str, Any] = field(default_factory=dict)      # scenario-specific figures
    baseline: "Figures | None" = None

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration > 0 else 0.0

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline.rps == 0:
            return None
        return self.rps / self.baseline.rps

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("name", "connections", "duration", "requests", "p50_ms",
                                             "p99_ms", "non2xx", "errors", "client")}
        out["extra"] = {k: v for k, v in self.extra.items() if k != "responses"}
        out["rps"] = round(self.rps, 1)
        out["statuses"] = {str(k): v for k, v in self.statuses.items()}
        if self.baseline is not None:
            out["baseline"] = self.baseline.as_dict()
            out["ratio"] = round(self.ratio or 0.0, 3)
        return out


def check_bounds(connections: int, duration: float | None = None, total: int | None = None) -> None:
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections must be 1..{MAX_CONNECTIONS}")
    if duration is not None and not 0 < duration <= MAX_DURATION:
        raise ValueError(f"duration must be in (0, {MAX_DURATION}] seconds")
    if total is not None and not 0 < total <= MAX_REQUESTS:
        raise ValueError(f"a count-mode run sends 1..{MAX_REQUESTS} requests")


def _loopback(base_url: str) -> tuple[str, int]:
    u = urlsplit(base_url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the harness only drives loopback servers")
    return u.hostname, u.port or 80


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


# ---- wrk ---------------------------------------------------------------------------------------
def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_str(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    out = []
    for b in data:
        ch = chr(b)
        if ch in '"\\' or b < 32 or b > 126:
            out.append("\\%03d" % b)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def wrk_script(requests: Sequence[Req]) -> str:
    """A wrk Lua script cycling through the requests and printing a JSON summary line."""
    items = []
    for r in requests:
        headers = ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in r.all_headers().items())
        body = _lua_str(r.body_bytes()) if r.body is not None else "nil"
        items.append(f"  {{{_lua_str(r.method.upper())}, {_lua_str(r.path)}, {{{headers}}}, {body}}},")
    return """-- generated by bench/loadgen.py
local reqs = {
%s
}
local formatted = {}
local i = 0
local counter = 0
function setup(thread)
  -- Each thread starts at a different place in the list, so threads do not move in lock-step.
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  for k, r in ipairs(reqs) do
    formatted[k] = wrk.format(r[1], r[2], r[3], r[4])
  end
  i = (offset or 0) %% #formatted
end
function request()
  i = i %% #formatted + 1
  return formatted[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'KZBENCH {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
""" % "\n".join(items)


async def run_wrk(base_url: str, requests: Sequence[Req], *, connections: int, duration: float,
                  name: str, threads: int | None = None, timeout_s: float = 5.0) -> Figures:
    """Drive with wrk for `duration` seconds; wrk counts status >= 400 as non-2xx."""
    check_bounds(connections, duration)
    _loopback(base_url)
    if not requests:
        raise ValueError("no requests to drive")
    threads = threads or max(1, min(os.cpu_count() or 1, 2, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="kzbench-", delete=False) as f:
        f.write(wrk_script(requests))
        script = f.name
    try:
        proc = await asyncio.create_subprocess_exec(
            "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
            "--timeout", f"{int(timeout_s)}s", "-s", script, base_url,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), duration + 60)
        except asyncio.TimeoutError:
            proc.kill()
            raise RuntimeError("wrk did not finish in time") from None
        except BaseException:  # cancelled (Ctrl-C, SIGTERM): do not leave wrk loading the machine
            if proc.returncode is None:
                proc.kill()
            raise
    finally:
        os.unlink(script)
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("KZBENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode(errors='replace')}\n{text}")
    s = json.loads(line[len("KZBENCH "):])
    return Figures(name=name, connections=connections, duration=s["duration_us"] / 1e6,
                   requests=s["requests"], p50_ms=s["p50_us"] / 1000.0, p99_ms=s["p99_us"] / 1000.0,
                   non2xx=s["non2xx"], errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
                   client="wrk", extra={"max_ms": s["max_us"] / 1000.0})


# ---- the built-in asyncio client ---------------------------------------------------------------
class _ClientProtocol(asyncio.Protocol):
    """One keep-alive connection as a protocol: a response is parsed in data_received and handed to
    the waiting request's future. Streams (StreamReader.readuntil / readexactly, a waiter future
    each) cost this client about twice the CPU per request, and on a 2-core machine the load
    generator's CPU is taken from the server it measures."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        parsed = _parse_response(self.buf)
        if parsed is not None:
            answer, used = parsed
            del self.buf[:used]
            self.waiter.set_result(answer)

    def connection_lost(self, exc) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or asyncio.IncompleteReadError(bytes(self.buf), None))


def _parse_response(buf: bytearray) -> tuple[tuple[int, bytes, bool], int] | None:
    """(status, body, server wants close) and the bytes used, or None while incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower() + b"\r\n"
    status = int(head[9:12])
    close = b"\r\nconnection: close\r\n" in head
    pos = end + 4
    if b"\r\ntransfer-encoding:" not in head or b"chunked" not in head:
        i = head.find(b"\r\ncontent-length:")
        length = int(head[i + 17:head.index(b"\r\n", i + 17)]) if i >= 0 else 0
        if len(buf) < pos + length:
            return None
        return (status, bytes(buf[pos:pos + length]), close), pos + length
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0].strip(), 16)
        pos = eol + 2
        if size == 0:
            if len(buf) < pos + 2:
                return None
            return (status, b"".join(parts), close), pos + 2
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos:pos + size]))
        pos += size + 2


class _Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.proto: _ClientProtocol | None = None
        self.sent_at = 0.0   # perf_counter of the request in flight (0: none), for the watchdog

    async def open(self) -> None:
        _, self.proto = await asyncio.get_running_loop().create_connection(_ClientProtocol, self.host, self.port)

    def close(self) -> None:
        if self.proto is not None and self.proto.transport is not None:
            self.proto.transport.close()
        self.proto = None

    def abort(self) -> None:
        """The watchdog's timeout: the request in flight fails, the connection is dropped."""
        p = self.proto
        if p is not None and p.waiter is not None and not p.waiter.done():
            p.waiter.set_exception(asyncio.TimeoutError())
        self.close()

    async def send(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Write one request, read one response: (status, body, server wants close)."""
        if self.proto is None or self.proto.transport is None:
            await self.open()
        p = self.proto
        assert p is not None and p.transport is not None
        p.waiter = asyncio.get_running_loop().create_future()
        p.transport.write(raw)
        return await p.waiter


async def _watchdog(conns: list[_Conn], timeout_s: float) -> None:
    """Times out requests in flight for longer than timeout_s, checked a few times a second: one
    task for all connections instead of a timer per request (client CPU on a shared machine)."""
    while True:
        await asyncio.sleep(min(0.25, timeout_s / 4))
        now = time.perf_counter()
        for c in conns:
            if c.sent_at and now - c.sent_at > timeout_s:
                c.abort()


async def run_asyncio(base_url: str, requests: Sequence[Req], *, connections: int,
                      duration: float | None = None, once: bool = False, name: str,
                      timeout_s: float = 10.0, keep_bodies: bool = False, preconnect: bool = False,
                      opener: Req | None = None, ready: Callable[[], Awaitable[Any]] | None = None) -> Figures:
    """Drive with raw asyncio streams: round-robin for `duration` seconds, or (once=True) send every
    request exactly once over `connections` connections. preconnect opens every connection before
    the clock starts (clients whose connections are already open, as a watching viewer's is), and
    sends `opener` once on each (a viewer's poll), so the server has taken up every connection;
    otherwise a connection's first request also times its opening. ready, when given, is awaited
    right before the clock starts (after the connections are open): a scenario reads its CPU
    counters there, so the openers are not counted as the measurement's. keep_bodies puts (status, body) of every
    response in extra["responses"], in the order of `requests` (count mode only)."""
    host, port = _loopback(base_url)
    if once:
        check_bounds(connections, total=len(requests))
    else:
        check_bounds(connections, duration)
    if not requests:
        raise ValueError("no requests to drive")
    hostport = f"{host}:{port}"
    raws = [r.raw(hostport) for r in requests]
    n = len(raws)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    responses: list[tuple[int, bytes] | None] = [None] * n if (once and keep_bodies) else []
    errors = 0
    next_index = 0
    stop_at = None if once else time.perf_counter() + float(duration or 0)
    hard_stop = time.perf_counter() + (MAX_DURATION if once else float(duration or 0) + timeout_s + 5)

    def take() -> int | None:
        nonlocal next_index
        if once:
            if next_index >= n:
                return None
            i = next_index
        else:
            if time.perf_counter() >= stop_at:  # type: ignore[operator]
                return None
            i = next_index % n
        next_index += 1
        return i

    async def worker(conn: _Conn) -> None:
        nonlocal errors
        try:
            while time.perf_counter() < hard_stop:
                i = take()
                if i is None:
                    return
                t0 = conn.sent_at = time.perf_counter()
                try:
                    status, body, close = await conn.send(raws[i])
                except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.TimeoutError):
                    errors += 1
                    conn.close()
                    continue
                finally:
                    conn.sent_at = 0.0
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if responses:
                    responses[i] = (status, body)
                if close:
                    conn.close()
        finally:
            conn.close()

    conns = [_Conn(host, port) for _ in range(connections)]
    if preconnect:
        await asyncio.gather(*(c.open() for c in conns))
        if opener is not None:
            raw = opener.raw(hostport)
            await asyncio.gather(*(asyncio.wait_for(c.send(raw), timeout_s) for c in conns))
    if ready is not None:
        await ready()
    dog = asyncio.ensure_future(_watchdog(conns, timeout_s))
    cpu0 = time.process_time()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        dog.cancel()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    latencies.sort()
    fig = Figures(name=name, connections=connections, duration=elapsed, requests=len(latencies),
                  p50_ms=percentile(latencies, 50) * 1000, p99_ms=percentile(latencies, 99) * 1000,
                  non2xx=sum(v for k, v in statuses.items() if not 200 <= k < 300), errors=errors,
                  client="asyncio", statuses=dict(sorted(statuses.items())))
    fig.extra["started_at"] = started  # time.perf_counter() when the clock started
    if latencies:
        # The load generator's own CPU (this whole process, so anything else its loop ran too):
        # on a shared machine, what the server measured could not use.
        fig.extra["client_cpu_ms_per_req"] = round(cpu * 1000 / len(latencies), 4)
    if latencies:
        fig.extra["max_ms"] = latencies[-1] * 1000
    if responses:
        fig.extra["responses"] = responses
    return fig
