"""Start and stop the process's connections; shared by the server, the worker and the CLI."""
from __future__ import annotations

import asyncio
import logging
import time

import redis as redis_sync

from config.settings import Settings
from server.kit import db, error_reporting, runtime
from server.kit import redis as kr

log = logging.getLogger("kazuo")


def sync_redis(settings: Settings):
    """A synchronous client on the same store (for SDKs that run in threads)."""
    if settings.embedded_redis:
        import fakeredis

        kr.create_redis("")  # make sure the shared fake server exists
        return fakeredis.FakeRedis(server=kr._fake_server)
    return redis_sync.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=2)


def _integrations(settings: Settings, rt: runtime.Runtime) -> None:
    if not INTEGRATION_HOOKS:
        raise RuntimeError("no start-up hooks registered: a composition root calls server.startup.install() "
                           "before lifecycle.start()")
    rt.extras["sync_redis"] = sync_redis(settings)
    for hook in INTEGRATION_HOOKS:
        hook(settings, rt)


# What the process starts after the connections (gateways, Lua scripts, checkout sources), in order:
# fn(settings, runtime) -> None. The composition roots register them (server/startup.py lists them);
# the kit names no domain.
INTEGRATION_HOOKS: list = []


def register(*hooks) -> None:
    """Add start-up hooks (once each, in the order given); called by the composition roots."""
    for hook in hooks:
        if hook not in INTEGRATION_HOOKS:
            INTEGRATION_HOOKS.append(hook)


async def start(settings: Settings) -> runtime.Runtime:
    """Connect the database and Redis, load the Lua scripts, build the integrations."""
    error_reporting.setup(settings)
    generate = settings.embedded_db
    await db.init_db(settings.db_url, generate_schemas=generate)
    client = kr.create_redis("" if settings.embedded_redis else settings.redis_url)
    scripts = kr.Scripts(client)
    rt = runtime.Runtime(settings=settings, redis=client, scripts=scripts)
    runtime.set_current(rt)
    for path in LUA_DIRS:
        scripts.load_dir(path)
    try:
        await scripts.preload()
    except Exception as exc:  # noqa: BLE001 - Redis down at start: /readyz says so; scripts load on use
        log.warning("could not load the Lua scripts into Redis: %r", exc)
    rt.extras["jwt_key"] = settings.jwt_key()
    _integrations(settings, rt)
    return rt


async def stop() -> None:
    await db.cancel_detached()  # before what they use is closed
    rt = runtime._current
    if rt is not None:
        kr.close_wire(rt.redis)
        try:
            await rt.redis.aclose()
        except Exception:  # noqa: BLE001 - closing on shutdown
            pass
        sync = rt.extras.get("sync_redis")
        if sync is not None:
            sync.close()
    runtime.set_current(None)
    await db.close_db()


LUA_DIRS = [kr.LUA_DIR]

# ---- where the server listens, for a worker of its own ------------------------------------------
# `serve --port P` changes only the serving process's settings; a separate `worker` builds the
# simulators' base URL and the notify URLs from its own. So the server records its address in the
# shared Redis at start, and the worker takes it from there (KAZUO_PUBLIC_BASE_URL, when set, wins).
SERVER_ADDRESS = ("server", "base_url")


async def record_server_address(settings: Settings) -> None:
    """Called by the server at start: where it listens, for the workers (shared Redis only)."""
    if not settings.embedded_redis:
        await runtime.get().redis.set(kr.key(*SERVER_ADDRESS), settings.base_url)


async def worker_settings(settings: Settings, *, wait_seconds: float = 120.0) -> Settings:
    """The worker's settings with the server's recorded address as its base URL (simulators, notify
    URLs). With the simulators on, they live in the server: wait for it to record its address
    (start `serve` first or alongside); otherwise fall back to http://host:port."""
    if settings.public_base_url or settings.embedded_redis:
        return settings
    client = kr.create_redis(settings.redis_url)
    deadline, told = time.monotonic() + wait_seconds, 0.0
    try:
        while True:
            raw = await client.get(kr.key(*SERVER_ADDRESS, prefix=settings.redis_prefix))
            if raw:
                address = raw.decode() if isinstance(raw, bytes) else str(raw)
                log.info("the server listens at %s: simulators and notify URLs go there", address)
                return settings.model_copy(update={"public_base_url": address})
            if not settings.simulators_on or time.monotonic() > deadline:
                log.warning("no server has recorded its address; using %s (set KAZUO_PUBLIC_BASE_URL)",
                            settings.base_url)
                return settings
            if time.monotonic() - told > 10:
                told = time.monotonic()
                log.warning("waiting for `serve` to record its address in Redis (or set KAZUO_PUBLIC_BASE_URL)")
            await asyncio.sleep(0.5)
    finally:
        await client.aclose()
