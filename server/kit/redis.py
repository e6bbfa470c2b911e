"""Redis through redis.asyncio (real server) or fakeredis with lupa (embedded default): the same
client type (arq's ArqRedis), the same keys, the same Lua scripts."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path
from typing import Any, Awaitable, Callable

import hiredis
import orjson
from arq.connections import ArqRedis
from redis._parsers.base import BaseParser
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, InvalidResponse, NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.kit import clock, runtime
from server.kit.errors import RateLimited

LUA_DIR = Path(__file__).parent / "lua"
_fake_server = None


def create_redis(url: str) -> ArqRedis:
    """A client for url, or for the process-wide embedded store when url is empty."""
    if not url:
        import fakeredis
        from fakeredis.aioredis import FakeConnection

        global _fake_server
        if _fake_server is None:
            _fake_server = fakeredis.FakeServer()
        pool = ConnectionPool(connection_class=FakeConnection, server=_fake_server)
        return ArqRedis(connection_pool=pool)
    # BlockingConnectionPool, not ConnectionPool: redis-py 5's ConnectionPool checks each connection
    # (an await) while holding the pool's lock, so N concurrent commands queue behind one another
    # for an event-loop turn each (a 50 ms .. 1 s tail under load); this pool checks outside its
    # lock, and when all connections are busy it waits up to `timeout` instead of failing at once.
    pool = BlockingConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=3,
                                           health_check_interval=30, max_connections=200, timeout=3)
    return ArqRedis(connection_pool=pool)


def key(*parts: Any, prefix: str | None = None) -> str:
    """A namespaced key: every key this project writes goes through here (prefix: the settings'
    redis_prefix, for a caller that reads before the runtime starts)."""
    return (runtime.get().settings.redis_prefix if prefix is None else prefix) + ":".join(map(str, parts))


def redis() -> ArqRedis:
    return runtime.get().redis


# ---- Lua scripts ---------------------------------------------------------------------------
class Scripts:
    """Loads server/kit/lua/*.lua (and any registered extra dirs) once; EVALSHA with EVAL fallback."""

    def __init__(self, client: ArqRedis):
        self._client = client
        self._scripts: dict[str, Any] = {}

    def load_dir(self, path: Path) -> None:
        for f in sorted(path.glob("*.lua")):
            self._scripts[f.stem] = self._client.register_script(f.read_text())

    async def __call__(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    async def preload(self) -> None:
        """SCRIPT LOAD every script (batched calls send EVALSHA only)."""
        for script_obj in self._scripts.values():
            await self._client.script_load(script_obj.script)

    def sha(self, name: str) -> str:
        return self._scripts[name].sha


async def script(name: str, keys: list[str], args: list[Any]) -> Any:
    return await runtime.get().scripts(name, keys, args)


# Commands waiting for the next event-loop turn: [(command, script call or None, future)].
_batch: list[tuple[tuple, tuple | None, asyncio.Future]] = []


async def batched(*command: Any) -> Any:
    """One Redis command, sent with the others of the same turn of the event loop as one pipeline:
    under a crowd (a flash sale's first second, a checkout rush) a thousand calls cost one round
    trip and one connection instead of a thousand, each of which waits for a turn of a busy loop.
    The reply is Redis's own (b"OK", an int, a list), without redis-py's conversions (True, a dict):
    meant for GET and scripts, whose replies the two agree on."""
    return await _queue(command, None)


async def script_batched(name: str, keys: list[str], args: list[Any]) -> Any:
    """script(), batched as batched() is."""
    return await _queue(*_evalsha(name, keys, args))


def _evalsha(name: str, keys: list[str], args: list[Any]) -> tuple[tuple, tuple]:
    """A script call as a pipeline command, and the call itself (to load the script if Redis forgot it)."""
    return ("EVALSHA", runtime.get().scripts.sha(name), len(keys), *keys, *args), (name, keys, args)


# Calls of script_merged() waiting for the next event-loop turn, by script: [(keys, args, width, future)].
_merged: dict[str, list[tuple[list, list, int, asyncio.Future]]] = {}


async def script_merged(name: str, keys: list[str], args: list[Any], width: int) -> list:
    """script_batched() for a script that takes any number of calls' keys and args one after another
    and answers `width` values for each (rate_hit.lua): the calls of one loop turn become ONE call of
    the script in the same pipeline, which Redis runs once instead of once a caller. Returns this
    call's values."""
    fut = asyncio.get_running_loop().create_future()
    calls = _merged.get(name)
    if calls is None:
        # This call is in the list before the list is queued: queuing may fill the batch (FLUSH_AT)
        # and send it at once, and a script called with no calls would answer nobody.
        calls = _merged[name] = [(keys, args, width, fut)]
        _queue(None, (name, calls)).add_done_callback(lambda done: _split(done, calls))
    else:
        calls.append((keys, args, width, fut))
    return await fut


def _split(done: asyncio.Future, calls: list) -> None:
    """Hand each merged call its own values (or the error)."""
    exc = RedisConnectionError("the batch was cancelled") if done.cancelled() else done.exception()
    at = 0
    for _, _, width, fut in calls:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(done.result()[at:at + width])
        at += width


def _queue(command: tuple | None, call: tuple | None) -> asyncio.Future:
    """Send command with the others of this loop turn (command None: script_merged's calls of the
    script in call, merged when the turn's pipeline is sent)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    _batch.append((command, call, fut))
    if len(_batch) == 1:
        loop.call_soon(_send_batch)
    elif len(_batch) >= FLUSH_AT:
        _send_batch()
    return fut


# A turn that has queued this many commands sends them at once and starts a new batch: Redis runs
# them while the turn's other handlers still run, and their callers are answered sooner. A flash
# sale's first wave is one turn of hundreds of handlers; its p99 over alternating runs: one batch a
# turn 75-127 ms, batches of 64 72-120 ms, of 24 75-96 ms (9 of 9 under 100), of 8 100-106 ms.
FLUSH_AT = 24


def _send_batch() -> None:
    if not _batch:  # flushed early (FLUSH_AT) since this call was scheduled
        return
    queued = _batch[:]
    _batch.clear()  # first: whatever happens below, the next command starts a new batch
    for command, call, _ in queued:
        if command is None:  # the turn's merged calls of one script: closed to newcomers
            _merged.pop(call[0], None)
    batch = []
    try:
        for command, call, fut in queued:
            if command is None:  # one EVALSHA for the merged calls
                name, calls = call
                keys, args = [k for c in calls for k in c[0]], [a for c in calls for a in c[1]]
                command, call = _evalsha(name, keys, args)
            batch.append((command, call, fut))
    except Exception as exc:  # noqa: BLE001 - no runtime (stopped), an unknown script: every caller is told
        _fail_all(queued, exc)
        return
    _transmit(batch)


def _fail_all(batch: list, exc: BaseException) -> None:
    for *_, fut in batch:
        if not fut.done():
            fut.set_exception(exc if isinstance(exc, Exception) else RedisConnectionError(repr(exc)))


def _transmit(batch: list) -> None:
    """Send a batch: on the client's wire, or as a pipeline where it has none."""
    try:
        wire = _wire_of(runtime.get().redis)
        if wire is None:
            asyncio.ensure_future(_run_batch(batch))
        else:
            wire.send(batch)
    except Exception as exc:  # noqa: BLE001 - e.g. an argument Redis cannot take: every caller is told
        _fail_all(batch, exc)


async def _run_batch(batch: list) -> None:
    """A batch as a redis-py pipeline: the embedded store (no socket) and TLS connections."""
    try:
        pipe = runtime.get().redis.pipeline(transaction=False)
        for command, _, _ in batch:
            pipe.execute_command(*command)
        results = await pipe.execute(raise_on_error=False)
    except BaseException as exc:  # noqa: BLE001 - every caller gets the error (Redis down: a 503)
        _fail_all(batch, exc)
        return
    try:
        for (_, call, fut), res in zip(batch, results):
            _settle(fut, call, res)
    except Exception as exc:  # noqa: BLE001 - the callers not yet answered are told
        _fail_all(batch, exc)


def _settle(fut: asyncio.Future, call: tuple | None, res: Any) -> None:
    """Hand a batched command's reply to its caller; a script Redis does not know (it restarted
    since) is run again by the plain call, which loads it."""
    if fut.done():
        return
    if isinstance(res, NoScriptError) and call is not None:
        asyncio.ensure_future(script(*call)).add_done_callback(lambda t: _settle_from(fut, t))
    elif isinstance(res, Exception):
        fut.set_exception(res)
    else:
        fut.set_result(res)


def _settle_from(fut: asyncio.Future, task: asyncio.Task) -> None:
    if fut.done():
        return
    if task.cancelled():
        fut.cancel()
    elif task.exception() is not None:
        fut.set_exception(task.exception())
    else:
        fut.set_result(task.result())


def _wire_of(client: ArqRedis) -> "_Wire | None":
    if not runtime.get().settings.redis_own_wire:
        return None  # KAZUO_REDIS_OWN_WIRE=false: redis-py's pipelines (_run_batch)
    """The client's wire for batched commands (made on first use), or None where there is no plain
    socket to speak to (the embedded store, TLS): those batches go as a pipeline."""
    wire = getattr(client, "_kazuo_wire", False)
    if wire is False:
        pool = getattr(client, "connection_pool", None)
        plain = getattr(pool, "connection_class", None) in (Connection, UnixDomainSocketConnection)
        wire = client._kazuo_wire = _Wire(pool.connection_kwargs) if plain else None
    return wire


def close_wire(client: ArqRedis) -> None:
    wire = getattr(client, "_kazuo_wire", None)
    if wire:
        wire.close()


class _Wire:
    """The one connection per client that carries every batched command: RESP written by hand,
    replies read with hiredis and handed to their callers in order (Redis answers in order).

    Why not a redis-py pipeline: each one takes a connection from the pool and gives it back,
    checks it, and reads its replies in a task of its own, which costs several turns of the event
    loop, and a turn is long exactly when a crowd arrives (in a flash sale's first second one turn
    runs hundreds of handlers). Here a batch is written in the turn after its commands were queued,
    and its callers are answered in the turn its replies arrive. Batches follow one another on the
    one connection (pipelining), so none waits for a connection either."""

    def __init__(self, kwargs: dict):
        self._kw = kwargs
        self._link: _Link | None = None

    def send(self, batch: list) -> None:
        data = b"".join(_pack(command) for command, _, _ in batch)
        if self._link is None or self._link.failed or self._link.closing():
            self._link = _Link(self._kw)
        self._link.send(data, [(fut, call) for _, call, fut in batch])

    def close(self) -> None:
        if self._link is not None:
            self._link.fail(RedisConnectionError("closed"))
            self._link = None


class _Link(asyncio.Protocol):
    """One TCP (or Unix socket) connection of a _Wire; once it fails, it is never used again."""

    def __init__(self, kw: dict):
        self._kw = kw
        self.failed = False
        self._transport: asyncio.Transport | None = None
        self._unsent: list[bytes] = []
        self._waiting: deque[tuple[asyncio.Future | None, tuple | None]] = deque()
        self._reader = hiredis.Reader(protocolError=InvalidResponse, replyError=_PARSER.parse_error)
        self._timeout = kw.get("socket_timeout") or 3
        self._heard = 0.0  # loop time of the last reply
        self._deadline: asyncio.TimerHandle | None = None
        asyncio.ensure_future(self._connect())

    def send(self, data: bytes, callers: list) -> None:
        if not self._waiting:  # the time the oldest command waiting for its reply was sent
            self._heard = asyncio.get_running_loop().time()
        self._waiting.extend(callers)
        if self._transport is None:
            self._unsent.append(data)
            return
        try:
            self._transport.write(data)
        except Exception as exc:  # noqa: BLE001 - closed under us before connection_lost ran (uvloop raises)
            self.fail(RedisConnectionError(f"Redis connection lost: {exc!r}"))
            return
        self._arm()

    async def _connect(self) -> None:
        kw, loop = self._kw, asyncio.get_running_loop()
        try:
            if "path" in kw:
                opening = loop.create_unix_connection(lambda: self, kw["path"])
            else:
                opening = loop.create_connection(lambda: self, kw.get("host", "localhost"), kw.get("port", 6379))
            await asyncio.wait_for(opening, kw.get("socket_connect_timeout") or 2)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, a bad address: every caller is told
            self.fail(RedisConnectionError(f"Error connecting to Redis: {exc!r}"))
        except asyncio.CancelledError:  # the loop is closing: its callers are not left waiting
            self.fail(RedisConnectionError("the connection attempt was cancelled"))
            raise

    def connection_made(self, transport) -> None:
        if self.failed:
            transport.abort()
            return
        self._transport = transport
        try:
            self._hello(transport)
        except Exception as exc:  # noqa: BLE001 - e.g. a password Redis cannot take: every caller is told
            self.fail(RedisConnectionError(f"Redis handshake failed: {exc!r}"))

    def _hello(self, transport) -> None:
        hello = []
        if self._kw.get("password"):
            user = self._kw.get("username")
            hello.append(("AUTH", user, self._kw["password"]) if user else ("AUTH", self._kw["password"]))
        if self._kw.get("db"):
            hello.append(("SELECT", self._kw["db"]))
        # The handshake's replies come first; an error there (a wrong password) fails everything.
        self._waiting.extendleft([(None, None)] * len(hello))
        self._heard = asyncio.get_running_loop().time()
        transport.write(b"".join([_pack(c) for c in hello] + self._unsent))
        self._unsent.clear()
        self._arm()

    def data_received(self, data: bytes) -> None:
        try:
            self._received(data)
        except Exception as exc:  # noqa: BLE001 - a reply that is not RESP: the connection is unusable
            self.fail(RedisConnectionError(f"Redis sent what cannot be read: {exc!r}"))

    def _received(self, data: bytes) -> None:
        self._reader.feed(data)
        self._heard = asyncio.get_running_loop().time()
        while self._waiting:
            res = self._reader.gets()
            if res is False:
                return
            fut, call = self._waiting.popleft()
            if fut is not None:
                _settle(fut, call, res)
            elif isinstance(res, Exception):
                self.fail(RedisConnectionError(f"Redis refused the connection: {res}"))
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"Redis connection lost: {exc!r}" if exc else "Redis closed the connection"))

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().call_later(self._timeout, self._overdue)

    def _overdue(self) -> None:
        """No reply for socket_timeout while some are due (counted from the last reply, or from the
        send of the oldest waiting command if later): the connection is dropped, its callers fail."""
        self._deadline = None
        if not self._waiting or self.failed:
            return
        quiet = asyncio.get_running_loop().time() - self._heard
        if quiet < self._timeout:
            self._deadline = asyncio.get_running_loop().call_later(self._timeout - quiet, self._overdue)
        else:
            self.fail(RedisTimeoutError("Redis did not answer in time"))

    def closing(self) -> bool:
        return self._transport is not None and self._transport.is_closing()

    def fail(self, exc: Exception) -> None:
        self.failed = True
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        waiting, self._waiting = self._waiting, deque()
        for fut, _ in waiting:
            if fut is not None and not fut.done():
                fut.set_exception(exc)


_PARSER = BaseParser()


def _pack(command: tuple) -> bytes:
    """A command in RESP, as redis-py writes it: hiredis's packer (in C) for the str, bytes, int and
    float arguments our callers pass, the packer below for anything else (int subclasses, which
    hiredis refuses; memoryviews, which it packs wrongly when strided; what neither takes: DataError)."""
    if memoryview not in map(type, command):
        try:
            return hiredis.pack_command(command)
        except TypeError:
            pass
    return _pack_each(command)


def _pack_each(command: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(command)]
    for a in command:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            b = repr(a).encode()
        elif isinstance(a, memoryview):
            b = a.tobytes()
        else:
            raise DataError(f"Invalid input of type: {type(a).__name__!r}. Convert to a bytes, string, int or float first.")
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(parts)


# ---- cache ---------------------------------------------------------------------------------
async def cache_get(k: str) -> Any | None:
    raw = await redis().get(k)
    return None if raw is None else orjson.loads(raw)


async def cache_set(k: str, value: Any, ttl: int) -> None:
    await redis().set(k, orjson.dumps(value), ex=ttl)


async def cache_delete(*keys: str) -> None:
    if keys:
        await redis().delete(*keys)


async def cached(k: str, ttl: int, loader: Callable[[], Awaitable[Any]]) -> Any:
    """Read-through cache of a JSON-able value."""
    hit = await cache_get(k)
    if hit is not None:
        return hit
    value = await loader()
    await cache_set(k, value, ttl)
    return value


# A value kept past its freshness: read while one background task per process computes it again.
_stale_locks: dict[str, asyncio.Lock] = {}
refreshing: set[asyncio.Task] = set()  # the background recounts in flight (a reference keeps each alive)


async def cached_stale(k: str, fresh_s: int, loader: Callable[[], Awaitable[Any]], *, field: str,
                       keep_factor: int, version: str = "") -> Any:
    """A JSON-able value kept in Redis as {"at": when, "v": version, field: value} for fresh_s ×
    keep_factor seconds. Past fresh_s, or once the version it was computed at is not `version` (the
    data under it changed: a rollup), it is still answered while one background task per process
    computes it again, so no reader waits for a recount once there is a value; with none yet, one
    request per process computes it and the others wait for that one. For figures that take a while
    and may be seconds old (the office's Today desk, the console's statistics summary)."""
    lock = _stale_locks.get(k)
    if lock is None:
        if len(_stale_locks) > 1000:
            _stale_locks.clear()
        lock = _stale_locks[k] = asyncio.Lock()
    hit = await cache_get(k)
    if hit is None or field not in hit:
        async with lock:
            hit = await cache_get(k)
            if hit is None or field not in hit:
                hit = await _store_stale(k, fresh_s, loader, field, keep_factor, version)
    elif _stale(hit, fresh_s, version) and not lock.locked():
        task = asyncio.create_task(_refresh_stale(k, fresh_s, loader, field, keep_factor, version, lock))
        refreshing.add(task)
        task.add_done_callback(refreshing.discard)
    return hit[field]


def _stale(hit: dict, fresh_s: int, version: str) -> bool:
    return clock.now().timestamp() - hit["at"] > fresh_s or hit.get("v", "") != version


async def _store_stale(k: str, fresh_s: int, loader, field: str, keep_factor: int, version: str) -> dict:
    value = {"at": clock.now().timestamp(), "v": version, field: await loader()}
    await cache_set(k, value, fresh_s * keep_factor)
    return value


async def _refresh_stale(k: str, fresh_s: int, loader, field: str, keep_factor: int, version: str,
                         lock: asyncio.Lock) -> None:
    try:
        async with lock:
            hit = await cache_get(k)
            if hit is None or field not in hit or _stale(hit, fresh_s, version):
                await _store_stale(k, fresh_s, loader, field, keep_factor, version)
    except Exception:  # noqa: BLE001 - a background task: the next read tries again; the kept value stays
        logging.getLogger("kazuo.cache").warning("recounting a kept value failed", extra={"key": k},
                                                 exc_info=True)


async def namespace_version(ns: str) -> int:
    """The current version of a cache namespace; bump it to invalidate every key built on it."""
    v = await redis().get(key("nsv", ns))
    return int(v) if v else 0


async def bump_namespace(*namespaces: str) -> None:
    if namespaces:
        pipe = redis().pipeline(transaction=False)
        for ns in namespaces:
            pipe.incr(key("nsv", ns))
        await pipe.execute()


# ---- rate limits ---------------------------------------------------------------------------
async def hit_limit(name: str, ident: str, limit: int, window_seconds: int, *,
                    message: str = "too many requests") -> int:
    """Count one hit in a fixed window; raise RateLimited past limit. Returns the count.
    (Batched: a busy loop turn's hits, e.g. a crowd's checkouts, go to Redis as one pipeline.)"""
    count, ttl_ms = await script_merged("rate_hit", [key("rl", name, ident)], [window_seconds * 1000], 2)
    if int(count) > limit:
        raise RateLimited(message, retry_after=(int(ttl_ms) + 999) // 1000)
    return int(count)


async def check_limit(name: str, ident: str, limit: int, *, message: str = "too many requests") -> None:
    """Raise RateLimited when the window already holds limit hits (without counting one)."""
    k = key("rl", name, ident)
    pipe = redis().pipeline(transaction=False)
    pipe.get(k)
    pipe.pttl(k)
    count, ttl_ms = await pipe.execute()
    if count is not None and int(count) >= limit:
        raise RateLimited(message, retry_after=(max(int(ttl_ms), 0) + 999) // 1000)


async def reset_limit(name: str, ident: str) -> None:
    await redis().delete(key("rl", name, ident))
