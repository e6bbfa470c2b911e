"""`python -m server check`: every broken rule reported at once — the production start-up rules (the
same loader), migrations pending, Redis persistence off, clock skew against the database."""
from __future__ import annotations

import shutil
import subprocess
import time

import asyncpg
import pytest

from server import preflight
from server.kit.migrations import APP, MIGRATIONS_DIR
from tests.conftest import PG_URL, REDIS_URL, _create_pg_database, _drop_pg_database, _free_port, wait_for_port
from tests.platform.test_config import clean_env, production_env, run_cli  # noqa: F401 (fixture)

needs_pg = pytest.mark.skipif(not PG_URL or not REDIS_URL, reason="needs KAZUO_TEST_DATABASE_URL and _REDIS_URL")


def by_topic(findings):
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.topic, []).append(f)
    return out


async def test_every_missing_production_setting_is_reported_not_just_the_first(clean_env):
    clean_env(production_env(KAZUO_JWT_SECRET=None, KAZUO_WECHAT_APP_SECRET=None,
                             KAZUO_DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
                             KAZUO_REDIS_URL="redis://127.0.0.1:1/0"))
    findings = await preflight.run()
    problems = [f.detail for f in findings if f.level == "problem"]
    assert any("KAZUO_JWT_SECRET" in p for p in problems)
    assert any("KAZUO_WECHAT_APP_SECRET" in p for p in problems)
    assert any("KAZUO_METRICS_TOKEN" in p for p in problems)
    # ...and it went on to the services, though the configuration failed.
    topics = by_topic(findings)
    assert topics["database"][0].level == "problem" and "cannot connect" in topics["database"][0].detail
    assert topics["redis"][0].level == "problem"


def test_the_cli_prints_each_problem_and_exits_1(tmp_path):
    env = production_env(KAZUO_ALIYUN_ACCESS_KEY_SECRET=None, KAZUO_DATABASE_URL="postgres://x@127.0.0.1:1/x",
                         KAZUO_REDIS_URL="redis://127.0.0.1:1/0")
    r = run_cli(["check"], env, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("PROBLEM") and "KAZUO_ALIYUN_ACCESS_KEY_SECRET" in line for line in lines)
    assert any(line.startswith("PROBLEM") and line.split()[1] == "database:" for line in lines)
    assert lines[-1].endswith("warning(s)") and "problem(s)" in lines[-1]


async def test_the_embedded_default_passes(clean_env):
    findings = await preflight.run()
    assert [f for f in findings if f.level == "problem"] == []


@pytest.fixture
async def fresh_db():
    name, url = await _create_pg_database(PG_URL)
    yield url
    await _drop_pg_database(PG_URL, name)


@needs_pg
async def test_pending_migrations_persistence_off_and_clock_skew(clean_env, fresh_db):
    clean_env(production_env(KAZUO_DATABASE_URL=fresh_db, KAZUO_REDIS_URL=REDIS_URL,
                             KAZUO_METRICS_TOKEN="m" * 32))
    # A clock 30 s ahead of the database's (injected), on a database no migration reached.
    topics = by_topic(await preflight.run(clock=lambda: time.time() + 30))
    assert topics["configuration"][0].level == "ok"
    n = len(list(MIGRATIONS_DIR.joinpath(APP).glob("*.py")))
    assert topics["migrations"][0].level == "problem"
    assert f"{n} not applied" in topics["migrations"][0].detail
    assert "python -m server migrate" in topics["migrations"][0].detail
    assert topics["clock"][0].level == "problem" and "ahead of" in topics["clock"][0].detail
    # The machine's shared Redis runs without persistence (CI starts it so).
    if await _redis_config(REDIS_URL) == ("no", ""):
        assert topics["redis persistence"][0].level == "problem"
    # Every migration applied (as aerich records them) and the clock right: both pass.
    db = await asyncpg.connect(fresh_db.replace("postgres://", "postgresql://", 1))
    try:
        await db.execute("CREATE TABLE aerich (id serial primary key, version varchar(255), app varchar(100), "
                         "content jsonb)")
        for f in MIGRATIONS_DIR.joinpath(APP).glob("*.py"):
            await db.execute("INSERT INTO aerich (version, app, content) VALUES ($1, $2, '{}')", f.name, APP)
    finally:
        await db.close()
    topics = by_topic(await preflight.run())
    assert topics["migrations"][0].level == "ok"
    assert topics["clock"][0].level == "ok"
    topics = by_topic(await preflight.run(clock=lambda: time.time() - 30))
    assert topics["clock"][0].level == "problem" and "behind" in topics["clock"][0].detail


async def _redis_config(url: str) -> tuple[str, str]:
    from redis import asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        return ((await client.config_get("appendonly"))["appendonly"], (await client.config_get("save"))["save"])
    finally:
        await client.aclose()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_redis_persistence_is_read_from_the_server(clean_env, tmp_path):
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
                             "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        s = preflight.load_settings(redis_url=f"redis://127.0.0.1:{port}/0")
        topics = by_topic(await preflight._redis_findings(s))
        assert topics["redis persistence"][0].level == "ok"
        from redis import asyncio as aioredis

        client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
        await client.config_set("appendonly", "no")
        await client.aclose()
        topics = by_topic(await preflight._redis_findings(s))
        assert topics["redis persistence"][0].level == "problem"
    finally:
        proc.terminate()
        proc.wait(10)
