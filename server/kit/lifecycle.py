"""Start and stop the process's connections; shared by the server, the worker and the CLI."""
from __future__ import annotations

import logging

from config.settings import Settings
from server.kit import db, error_reporting, runtime
from server.kit import redis as kr

log = logging.getLogger("kazuo")


def sync_redis(settings: Settings):
    """A synchronous client on the same store (for SDKs that run in threads)."""
    import redis as redis_sync

    if settings.embedded_redis:
        import fakeredis

        kr.create_redis("")  # make sure the shared fake server exists
        return fakeredis.FakeRedis(server=kr._fake_server)
    return redis_sync.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=2)


def _integrations(settings: Settings, rt: runtime.Runtime) -> None:
    from server.integrations.wechat import RedisSessionStorage, WeChat

    sim_base = settings.base_url + "/__sim__/"
    api_base = settings.wechat_api_base or (sim_base + "wechat/" if settings.simulators_on
                                            else "https://api.weixin.qq.com/")
    rt.extras["sync_redis"] = sync_redis(settings)
    rt.extras["wechat"] = WeChat(
        app_id=settings.wechat_app_id, app_secret=settings.secret("wechat_app_secret"),
        api_base=api_base,
        session=RedisSessionStorage(rt.extras["sync_redis"], settings.redis_prefix + "wechatpy:"))
    for hook in INTEGRATION_HOOKS:
        hook(settings, rt)


# Later capabilities register their gateway builders here: fn(settings, runtime) -> None.
INTEGRATION_HOOKS: list = []
INTEGRATION_HOOKS.append(lambda s, rt: __import__("server.integrations.wechatpay", fromlist=["install"]).install(s, rt))  # noqa: E501 (issue #4)
INTEGRATION_HOOKS.append(lambda s, rt: __import__("server.integrations.aliyun", fromlist=["install"]).install(s, rt))
INTEGRATION_HOOKS.append(lambda s, rt: __import__("live.setup", fromlist=["install"]).install(s, rt))  # issue #7
INTEGRATION_HOOKS.append(lambda s, rt: __import__("server.stations.setup", fromlist=["install"]).install(s, rt))  # noqa: E501 (issue #5)
INTEGRATION_HOOKS.append(lambda s, rt: __import__("server.integrations.oss", fromlist=["install"]).install(s, rt))  # noqa: E501 (issue #21)


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
