"""Redis through redis.asyncio (real server) or fakeredis with lupa (embedded default): the same
client type (arq's ArqRedis), the same keys, the same Lua scripts."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson
from arq.connections import ArqRedis
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.exceptions import NoScriptError

from server.kit import runtime
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


def key(*parts: Any) -> str:
    """A namespaced key: every key this project writes goes through here."""
    return runtime.get().settings.redis_prefix + ":".join(str(p) for p in parts)


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
    trip and one connection instead of a thousand, each of which waits for a turn of a busy loop."""
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
        calls = _merged[name] = []
        _queue(None, (name, calls)).add_done_callback(lambda done: _split(done, calls))
    calls.append((keys, args, width, fut))
    return await fut


def _split(done: asyncio.Future, calls: list) -> None:
    """Hand each merged call its own values (or the error)."""
    exc = done.exception()
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
    return fut


def _send_batch() -> None:
    batch = []
    for command, call, fut in _batch:
        if command is None:  # the turn's merged calls of one script: one EVALSHA, closed to newcomers
            name, calls = call
            _merged.pop(name, None)
            command, call = _evalsha(name, [k for c in calls for k in c[0]], [a for c in calls for a in c[1]])
        batch.append((command, call, fut))
    _batch.clear()
    asyncio.ensure_future(_run_batch(batch))


async def _run_batch(batch: list) -> None:
    try:
        pipe = runtime.get().redis.pipeline(transaction=False)
        for command, _, _ in batch:
            pipe.execute_command(*command)
        results = await pipe.execute(raise_on_error=False)
    except BaseException as exc:  # noqa: BLE001 - every caller gets the error (Redis down: a 503)
        for *_, fut in batch:
            if not fut.done():
                fut.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
        return
    # A script Redis does not know (it restarted since): the plain call loads it again.
    retry = [i for i, res in enumerate(results) if isinstance(res, NoScriptError)]
    if retry:
        again = await asyncio.gather(*[script(*batch[i][1]) for i in retry], return_exceptions=True)
        for i, res in zip(retry, again):
            results[i] = res
    for (*_, fut), res in zip(batch, results):
        if fut.done():
            continue
        if isinstance(res, Exception):
            fut.set_exception(res)
        else:
            fut.set_result(res)


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
