"""Canaries: the hand-written Redis wire (server/kit/redis.py), the arrival-order HTTP protocol
(server/kit/protocol.py), the supervised worker (jobs/worker.py) and the batched request metrics
(server/kit/metrics.py) lean on private internals of redis-py, hiredis, Sanic, arq and
prometheus-client. Each test here checks one thing they rely on and, when an upgrade
changed it, fails naming the setting that falls back to the library's standard path while the code
is updated. The fallbacks themselves are tested at the end."""
from __future__ import annotations

import asyncio
import inspect
import os

import httpx
import pytest

from server.kit import metrics, protocol
from server.kit import redis as kr
from server.kit import runtime

WIRE = ("redis-py changed what server/kit/redis.py's own wire relies on ({}): set KAZUO_REDIS_OWN_WIRE=false "
        "(redis-py's pipelines) until the wire is brought up to date")
ARRIVAL = ("Sanic changed what server/kit/protocol.py relies on ({}): set KAZUO_HTTP_ARRIVAL_ORDER=false "
           "(Sanic's own protocol) until the protocol is brought up to date")
WORKER = "arq changed what jobs/worker.py's supervision relies on ({}): update jobs/worker.py"
HEADERS = ("Sanic changed how responses sanitise their headers ({}): set KAZUO_HTTP_FAST_HEADERS=false "
           "(Sanic's own) until server/kit/context.py is brought up to date")
METRICS = ("prometheus-client changed what server/kit/metrics.py's batched request metrics rely on ({}): set "
           "KAZUO_METRICS_BATCH=false (the library's observe per response) until it is brought up to date")


# ---- redis-py and hiredis (the wire) ---------------------------------------------------------------
def test_redis_py_parses_error_replies_as_the_wire_expects():
    from redis._parsers.base import BaseParser
    from redis.exceptions import NoScriptError, ResponseError

    parse = getattr(BaseParser(), "parse_error", None)
    assert callable(parse), WIRE.format("redis._parsers.base.BaseParser.parse_error is gone")
    assert isinstance(parse("NOSCRIPT No matching script"), NoScriptError), \
        WIRE.format("NOSCRIPT no longer parses to NoScriptError")
    assert isinstance(parse("ERR wrong"), ResponseError), WIRE.format("ERR no longer parses to ResponseError")


def test_hiredis_reads_replies_as_the_wire_expects():
    import hiredis
    from redis.exceptions import InvalidResponse, ResponseError

    from server.kit.redis import _PARSER

    reader = hiredis.Reader(protocolError=InvalidResponse, replyError=_PARSER.parse_error)
    reader.feed(b"+OK\r\n:7\r\n-ERR no\r\n*2\r\n$1\r\na\r\n$-1\r\n")
    got = [reader.gets() for _ in range(4)]
    assert got[:2] == [b"OK", 7] and isinstance(got[2], ResponseError) and got[3] == [b"a", None], \
        WIRE.format(f"hiredis.Reader answers {got!r}")
    assert reader.gets() is False, WIRE.format("hiredis.Reader.gets() no longer answers False: no reply yet")


@pytest.mark.parametrize("url, expected", [
    ("redis://:pw@10.0.0.5:6380/3", {"host": "10.0.0.5", "port": 6380, "password": "pw", "db": 3}),
    ("redis://kazuo:pw@10.0.0.5:6380/0", {"username": "kazuo", "password": "pw"}),
    ("unix:///run/redis.sock?db=2", {"path": "/run/redis.sock", "db": 2}),
])
def test_redis_py_pools_keep_the_connection_settings_the_wire_reads(url, expected):
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.connection import Connection, UnixDomainSocketConnection

    pool = BlockingConnectionPool.from_url(url, socket_timeout=3)
    kwargs = getattr(pool, "connection_kwargs", None)
    assert isinstance(kwargs, dict), WIRE.format("pool.connection_kwargs is gone")
    assert {k: kwargs.get(k) for k in expected} == expected and kwargs.get("socket_timeout") == 3, \
        WIRE.format(f"connection_kwargs of {url} hold {kwargs!r}")
    assert pool.connection_class in (Connection, UnixDomainSocketConnection), \
        WIRE.format(f"the pool's connection_class is {pool.connection_class!r}")


def test_arq_redis_is_still_a_redis_py_client():
    from arq.connections import ArqRedis
    from redis.asyncio import Redis

    assert issubclass(ArqRedis, Redis), WIRE.format("arq's ArqRedis is no longer redis.asyncio.Redis")
    params = inspect.signature(Redis.pipeline).parameters
    assert "transaction" in params, WIRE.format("Redis.pipeline(transaction=...) is gone")
    execute = inspect.signature(inspect.unwrap(__import__("redis.asyncio.client", fromlist=["Pipeline"])
                                               .Pipeline.execute)).parameters
    assert "raise_on_error" in execute, WIRE.format("Pipeline.execute(raise_on_error=...) is gone")


# ---- Sanic (the protocol) --------------------------------------------------------------------------
def test_sanic_still_waits_for_bytes_on_the_event_the_protocol_replaces():
    from sanic.server.protocols.base_protocol import SanicProtocol

    assert "_data_received" in getattr(SanicProtocol, "__slots__", ()), \
        ARRIVAL.format("SanicProtocol has no _data_received slot")
    init = inspect.getsource(SanicProtocol.__init__)
    receive_more = inspect.getsource(SanicProtocol.receive_more)
    data_received = inspect.getsource(SanicProtocol.data_received)
    assert "self._data_received = asyncio.Event()" in init, ARRIVAL.format("_data_received is not an Event")
    assert "self._data_received.clear()" in receive_more and "self._data_received.wait()" in receive_more, \
        ARRIVAL.format("receive_more() no longer clears and waits on _data_received")
    assert "self._data_received.set()" in data_received, \
        ARRIVAL.format("data_received() no longer sets _data_received")
    assert "self.connections" in init, ARRIVAL.format("a protocol no longer holds its server's connections")


def test_sanic_connections_still_close_as_close_after_response_expects():
    from sanic.http import Http
    from sanic.server.protocols.http_protocol import HttpProtocol

    assert callable(getattr(HttpProtocol, "close_if_idle", None)), ARRIVAL.format("close_if_idle() is gone")
    assert "_http" in getattr(HttpProtocol, "__slots__", ()), ARRIVAL.format("HttpProtocol has no _http")
    assert "keep_alive" in getattr(Http, "__slots__", ()), ARRIVAL.format("Http has no keep_alive")
    assert issubclass(protocol.FairHttpProtocol, HttpProtocol)


# ---- arq (the supervised worker) -------------------------------------------------------------------
def test_arq_worker_keeps_what_the_supervisor_reads():
    import arq.worker
    from arq.worker import Worker

    assert callable(getattr(arq.worker, "log_redis_info", None)), WORKER.format("arq.worker.log_redis_info")
    params = inspect.signature(Worker.__init__).parameters
    for name in ("redis_pool", "handle_signals", "functions", "cron_jobs", "queue_name", "keep_result",
                 "max_jobs", "poll_delay", "health_check_interval"):
        assert name in params, WORKER.format(f"Worker(..., {name}=) is gone")
    source = inspect.getsource(Worker.__init__)
    for attribute in ("self.tasks", "self.main_task", "self.allow_pick_jobs"):
        assert attribute in source, WORKER.format(f"Worker no longer sets {attribute}")
    assert inspect.iscoroutinefunction(Worker.async_run), WORKER.format("Worker.async_run")


def test_sanic_still_sanitises_headers_as_the_fast_path_replaces():
    from sanic.response.types import HEADER_TRANSLATION_TABLE, BaseHTTPResponse

    from server.kit import context

    source = inspect.getsource(BaseHTTPResponse.processed_headers.fget)
    assert source.count("self._sanitize_header_value(") == 2, HEADERS.format("processed_headers")
    assert HEADER_TRANSLATION_TABLE == str.maketrans("", "", "\r\n\x00"), HEADERS.format("the characters removed")
    sanic = context._SANIC_SANITIZE.__func__
    for value in ("nosniff", "application/json", "a\r\nSet-Cookie: x=1", "\x00evil", "line\nbreak", "", "中文",
                  "\r", "tab\tkept"):
        assert context._sanitize_header_value(value) == sanic(value), HEADERS.format(repr(value))


# ---- prometheus-client (the batched request metrics) ---------------------------------------------------
def _samples(route: str) -> dict[tuple[str, str], float]:
    from prometheus_client import REGISTRY

    out = {}
    for family in REGISTRY.collect():
        if family.name in ("kazuo_http_requests", "kazuo_http_request_duration_seconds"):
            for s in family.samples:
                if s.labels.get("route") == route:
                    out[(s.name, s.labels.get("le", s.labels.get("status", "")))] = s.value
    return out


def test_batched_request_metrics_equal_the_librarys_own():
    """The same responses counted through prometheus-client's observe and through count_request +
    flush_requests give the same exposition (counts, every bucket, the sum)."""
    direct, batched = "canary.direct-" + os.urandom(4).hex(), "canary.batched-" + os.urandom(4).hex()
    seen = [(201, 0.0005), (201, 0.002), (409, 0.03), (409, 0.1), (500, 7.0), (201, 42.0), (201, None)]
    for status, seconds in seen:
        metrics.observe_request(direct, status, seconds)
        metrics.count_request(batched, status, seconds)
    try:
        metrics.flush_requests()
    except AttributeError as exc:
        raise AssertionError(METRICS.format(exc)) from None
    assert _samples(batched) == _samples(direct), METRICS.format("a histogram's buckets or sum differ")
    assert _samples(direct)[("kazuo_http_request_duration_seconds_bucket", "0.002")] == 2


# ---- the fallbacks ---------------------------------------------------------------------------------
@pytest.fixture
def own_wire(monkeypatch):
    def use(on: bool) -> None:
        rt = runtime.get()
        monkeypatch.setattr(rt, "settings", rt.settings.model_copy(update={"redis_own_wire": on}))
    return use


async def test_without_the_own_wire_batches_take_redis_py_pipelines(client, own_wire, monkeypatch):
    from redis.asyncio import Redis

    plain = Redis(host="127.0.0.1", port=1)  # never connected: only asked which path it takes
    try:
        own_wire(True)
        assert isinstance(kr._wire_of(plain), kr._Wire)
        own_wire(False)
        assert kr._wire_of(plain) is None
        piped = []
        real_run = kr._run_batch
        monkeypatch.setattr(kr, "_run_batch", lambda batch: piped.append(len(batch)) or real_run(batch))
        key = kr.key("test", "fallback-counter")
        await kr.redis().delete(key)
        answers = await asyncio.gather(*[kr.script_batched("rate_hit", [key], [60_000]) for _ in range(30)])
        assert sorted(int(a[0]) for a in answers) == list(range(1, 31))
        assert sum(piped) == 30
    finally:
        kr.close_wire(plain)
        await plain.aclose()


def test_the_headers_setting_picks_sanics_own_sanitising():
    from sanic.response import HTTPResponse
    from sanic.response.types import BaseHTTPResponse

    from server.kit import context

    try:
        for fast in (False, True):
            context.install_header_sanitizer(fast)
            assert (BaseHTTPResponse.__dict__["_sanitize_header_value"] is context._SANIC_SANITIZE) is not fast
            r = HTTPResponse(b"{}", headers={"X-Bad": "a\r\nSet-Cookie: x=1"}, content_type="application/json")
            assert dict(r.processed_headers)[b"X-Bad"] == b"aSet-Cookie: x=1"
    finally:
        context.install_header_sanitizer(runtime.get().settings.http_fast_headers)


async def test_the_metrics_setting_picks_the_librarys_observe():
    from types import SimpleNamespace

    from config.settings import Settings
    from server.kit.observe import make_observer

    for on in (False, True):
        name = f"kazuo.canary.setting-{on}-" + os.urandom(4).hex()
        request = SimpleNamespace(route=SimpleNamespace(name=name), stream=SimpleNamespace(perft0=None))
        make_observer(Settings(metrics_batch=on, access_log=False))(request, 200)
        route = name.split(".", 1)[1]
        written = _samples(route).get(("kazuo_http_requests_total", "200"))
        assert written == (None if on else 1.0)  # the library's path writes at once
        metrics.flush_requests()
        assert _samples(route)[("kazuo_http_requests_total", "200")] == 1.0


def test_the_protocol_setting_picks_sanics_own():
    from sanic.server.protocols.websocket_protocol import WebSocketProtocol

    assert protocol.protocol_class(True) is protocol.FairHttpProtocol
    standard = protocol.protocol_class(False)
    assert standard is protocol.TrackedHttpProtocol and standard.__bases__ == (WebSocketProtocol,)
    assert "_data_received" not in vars(standard) and "__init__" in vars(standard)


async def test_a_server_on_sanics_own_protocol_answers_and_stops():
    from bench.core import Stack, StackOptions

    pg, redis_url = os.environ.get("KAZUO_TEST_DATABASE_URL", ""), os.environ.get("KAZUO_TEST_REDIS_URL", "")
    opts = StackOptions(pg=bool(pg), redis=bool(redis_url), worker="inline",
                        env={"KAZUO_HTTP_ARRIVAL_ORDER": "false", "KAZUO_REDIS_OWN_WIRE": "false",
                             "KAZUO_LOG_LEVEL": "WARNING"})
    if pg:
        opts.pg_url = pg
    if redis_url:
        opts.redis_url = redis_url
    stack = Stack(opts)
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
            answers = await asyncio.gather(*[http.get("/api/v1/home") for _ in range(20)])
            assert {r.status_code for r in answers} == {200}
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await stack.stop()
    assert stack.server is not None and not stack.server.alive()
