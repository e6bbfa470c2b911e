"""The README's walk, run as written: its `<!-- walk -->` blocks, in order, with bash, against a real
server started as a newcomer starts it (its own data directory and port; `B` points the walk at it).

Embedded: `serve` alone (SQLite, the in-process store, the inline worker). On PostgreSQL + Redis (when
the KAZUO_TEST_* variables are set): `migrate`, `seed-demo`, then `serve --port P` and a separate
`worker` with no port of its own, which must find the simulators and notify URLs where the server
listens (the refund and the live order are the worker's jobs)."""
from __future__ import annotations

import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, REDIS_URL, _create_pg_database, _drop_pg_database, _free_port

ROOT = Path(__file__).resolve().parents[2]
WALK = re.compile(r"<!-- walk -->\s*```sh\n(.*?)```", re.S)


def walk_script() -> str:
    blocks = WALK.findall((ROOT / "README.md").read_text())
    assert len(blocks) >= 5, "README.md lost its walk blocks"
    return "\n".join(blocks)


def test_the_walk_covers_the_whole_first_hour():
    """What the walk must show a newcomer (the steps are checked by running it, below)."""
    script = walk_script()
    for step in ("--data-urlencode q=小米", "/api/v1/orders", "/__sim__/wechatpay/v3/pay", "grant-role",
                 "--station $STATION_CODE", "/pick", "/parcels", "/dispatch", "handed_over", "/verify",
                 "/refunds", "/__sim__/aliyun-live/publish", "$L/tickets/", "/t/KZDEM0000001", "/screen"):
        assert step in script, step
    assert re.search(r"^B=\$\{B:-http://127\.0\.0\.1:8000\}", script, re.M)
    assert "python -m server" not in script.replace(".venv/bin/python -m server", "")


def _start(args: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server", *args], env=env, cwd=cwd,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_ready(base: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not become ready:\n" + log.read_text()[-3000:])


@pytest.fixture
def newcomer(tmp_path):
    """A project directory as a newcomer has it: `.venv/bin/python` (this interpreter) and a clean
    environment with only the data directory set."""
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # not a symlink: a venv's python finds
    python.chmod(0o755)                                              # its packages from where it is called
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    env.update(PYTHONPATH=str(ROOT), KAZUO_DATA_DIR=str(tmp_path / "var"))
    return tmp_path, env


def _run_walk(cwd: Path, env: dict, port: int) -> subprocess.CompletedProcess:
    r = subprocess.run(["bash", "-c", "set -euo pipefail\n" + walk_script()], cwd=cwd, env={**env, "B": f"http://127.0.0.1:{port}"},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"the walk stopped (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    assert "the big screen: open" in r.stdout and "Traceback" not in r.stderr
    return r


def test_the_readme_walk_runs_as_written_embedded(newcomer):
    cwd, env = newcomer
    port = _free_port()
    log = cwd / "serve.log"
    server = _start(["serve", "--port", str(port)], env, cwd, log)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", server, log)
        _run_walk(cwd, env, port)
    finally:
        _stop(server)
    with sqlite3.connect(cwd / "var" / "kazuo.sqlite3") as db:
        states = db.execute("SELECT status, source FROM orders ORDER BY id").fetchall()
        refunds = [r[0] for r in db.execute("SELECT status FROM refunds")]
        pickups = [r[0] for r in db.execute("SELECT status FROM pickups")]
    assert [s for s, _ in states[:2]] == ["completed", "closed"], states  # picked up; refunded in full
    assert refunds == ["succeeded"] and pickups == ["picked_up"]
    assert states[-1][1] == "live" and states[-1][0] == "pending_payment"


async def _wait_worker(prefix: str, proc: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Until the separate worker polls its queue (arq's health-check key): it runs niced, and on a
    busy machine its start-up takes a while."""
    import asyncio

    from server.kit import redis as kr

    client = kr.create_redis(REDIS_URL)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            assert proc.poll() is None, log.read_text()[-3000:]
            if await client.exists(prefix + "arq:queue:health-check"):
                return
            await asyncio.sleep(0.3)
    finally:
        await client.aclose()
    raise AssertionError("the worker did not start:\n" + log.read_text()[-3000:])


@pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="PostgreSQL + Redis mode (KAZUO_TEST_* variables)")
async def test_the_readme_walk_on_postgres_with_a_separate_worker_on_another_port(newcomer):
    import asyncpg

    cwd, env = newcomer
    name, url = await _create_pg_database(PG_URL)
    prefix = f"kzw{secrets.token_hex(3)}:"
    env.update(KAZUO_DATABASE_URL=url, KAZUO_REDIS_URL=REDIS_URL, KAZUO_REDIS_PREFIX=prefix,
               KAZUO_WORKER_MODE="separate", KAZUO_SIMULATORS="on")
    procs: list[subprocess.Popen] = []
    try:
        for step in (["migrate"], ["seed-demo"]):  # the README's order on PostgreSQL
            r = subprocess.run([sys.executable, "-m", "server", *step], cwd=cwd, env=env, capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 0, r.stderr
        port = _free_port()
        log = cwd / "processes.log"
        procs.append(_start(["worker"], env, cwd, log))          # before the server: it waits for its address
        procs.append(_start(["serve", "--port", str(port)], env, cwd, log))
        _wait_ready(f"http://127.0.0.1:{port}", procs[-1], log)
        await _wait_worker(prefix, procs[0], log)
        _run_walk(cwd, env, port)
    finally:
        for p in reversed(procs):
            _stop(p)
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            refunds = [r["status"] for r in await conn.fetch("SELECT status FROM refunds")]
            live = await conn.fetchval("SELECT count(*) FROM orders WHERE source = 'live'")
        finally:
            await conn.close()
        await _drop_pg_database(PG_URL, name)
        from server.kit import redis as kr

        client = kr.create_redis(REDIS_URL)
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    assert refunds == ["succeeded"] and live == 1
