"""Test harness: one real Sanic server per test session on a free port, in the tests' event loop,
with the inline arq worker, talking to the simulators over real HTTP.

Backends: set KAZUO_TEST_DATABASE_URL (a PostgreSQL server URL; a throwaway database is created and
dropped) and KAZUO_TEST_REDIS_URL (keys go under a unique prefix) to test on the real stack, as CI
does. Without them the suite runs on the embedded default (SQLite file + fakeredis)."""
from __future__ import annotations

import os
import secrets
import socket
import tempfile
from pathlib import Path

import httpx
import pytest

from config.settings import Settings

PG_URL = os.environ.get("KAZUO_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("KAZUO_TEST_REDIS_URL", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port (a server a test started)."""
    import time

    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    import asyncpg

    name = "kazuo_test_" + secrets.token_hex(4)
    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def _drop_pg_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def on_postgres() -> bool:
    return bool(PG_URL)


@pytest.fixture(scope="session")
async def settings():
    tmp = Path(tempfile.mkdtemp(prefix="kazuo-test-"))
    db_name = None
    if PG_URL:
        db_name, db_url = await _create_pg_database(PG_URL)
    else:
        db_url = f"sqlite://{tmp / 'test.sqlite3'}"
    s = Settings(_env_file=None, env="test", data_dir=tmp, database_url=db_url, redis_url=REDIS_URL,
                 redis_prefix=f"kzt{secrets.token_hex(3)}:", port=_free_port(), simulators="on",
                 worker_mode="inline", seed_demo_on_first_run=False,
                 jwt_secret=secrets.token_urlsafe(48), login_rate_per_minute=100000,
                 console_signin_per_ip_per_hour=100000)
    yield s
    if db_name:
        await _drop_pg_database(PG_URL, db_name)


@pytest.fixture(scope="session")
async def app(settings):
    from tortoise import Tortoise

    from server.app import create_app
    from server.kit.protocol import FairHttpProtocol

    application = create_app(settings, name="kazuo_test")
    server = await application.create_server(host=settings.host, port=settings.port, protocol=FairHttpProtocol,
                                             return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    if not settings.embedded_db:
        await Tortoise.generate_schemas(safe=True)
    await server.after_start()
    await server.start_serving()
    yield application
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()
    if not settings.embedded_redis:
        from server.kit import redis as kr

        client = kr.create_redis(settings.redis_url)
        keys = [k async for k in client.scan_iter(match=settings.redis_prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(scope="session")
async def client(app, settings):
    async with httpx.AsyncClient(base_url=settings.base_url, timeout=30) as c:
        yield c


class Actor:
    """A logged-in user and their client headers."""

    def __init__(self, client: httpx.AsyncClient, token: str, user: dict):
        self.client, self.token, self.user = client, token, user
        self.id = user["id"]
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, url, **kw):
        return await self.client.get(url, headers=self.headers, **kw)

    async def post(self, url, **kw):
        return await self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def put(self, url, **kw):
        return await self.client.put(url, headers=self.headers, **kw)

    async def patch(self, url, **kw):
        return await self.client.patch(url, headers=self.headers, **kw)

    async def delete(self, url, **kw):
        return await self.client.delete(url, headers=self.headers, **kw)


async def wait_for(pred, timeout: float = 5.0, step: float = 0.05):
    """Poll an async predicate until it returns a truthy value (jobs run in the inline worker);
    returns its last value, falsy when the time ran out."""
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await pred()
        if value or loop.time() > end:
            return value
        await asyncio.sleep(step)


async def login(client: httpx.AsyncClient, openid: str | None = None) -> Actor:
    openid = openid or "o-" + secrets.token_hex(8)
    r = await client.post("/__sim__/wechat/login-code", json={"openid": openid})
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
    assert r.status_code == 200, r.text
    body = r.json()
    return Actor(client, body["token"], body["user"])


async def login_as(client: httpx.AsyncClient, role: str | None = None, *, station_id: int | None = None,
                   merchant_id: int | None = None, is_head: bool = False) -> Actor:
    """A fresh user holding role (granted through the service), logged in again to carry it."""
    actor = await login(client)
    if role:
        from server.accounts import service

        await service.grant_role(actor.id, role, station_id=station_id, merchant_id=merchant_id,
                                 is_head=is_head)
        openid = (await _openid(actor.id))
        actor = await login(client, openid)
    return actor


async def _openid(user_id: int) -> str:
    from server.models.accounts import User

    return (await User.get(id=user_id)).openid


@pytest.fixture
async def consumer(client) -> Actor:
    return await login(client)


@pytest.fixture
async def admin(client) -> Actor:
    return await login_as(client, "admin")
