"""The CLI against the running server: a role granted or revoked on the command line applies to the
server's next requests within 2 s, on both backends (embedded: through the principal_changes rows the
server reads every second; PostgreSQL + Redis: the shared cache's drop and its pub/sub message)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path


from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
WAVES = "/api/v1/console/warehouse/waves"


def server_env(settings) -> dict[str, str]:
    """The environment of a CLI run against the test session's server (its database, Redis, keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    env.update(PYTHONPATH=str(ROOT), KAZUO_DATA_DIR=str(settings.data_dir), KAZUO_DATABASE_URL=settings.database_url,
               KAZUO_REDIS_URL=settings.redis_url, KAZUO_REDIS_PREFIX=settings.redis_prefix,
               KAZUO_JWT_SECRET=settings.jwt_secret.get_secret_value(), KAZUO_SIMULATORS="on",
               KAZUO_SEED_DEMO_ON_FIRST_RUN="false", KAZUO_PORT=str(settings.port))
    return env


async def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", *args, env=server_env(settings),
                                                cwd=str(settings.data_dir), stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def status_within(actor, url: str, want: int, seconds: float) -> tuple[int, float]:
    start = time.monotonic()
    while True:
        status = (await actor.get(url)).status_code
        elapsed = time.monotonic() - start
        if status == want or elapsed > seconds:
            return status, elapsed
        await asyncio.sleep(0.05)


async def test_cli_grant_and_revoke_reach_the_running_server_within_2s(client, settings):
    openid = "o-cli-live-" + os.urandom(4).hex()
    user = await login(client, openid)
    for _ in range(3):  # the principal is now cached in the server (Redis and its own tier)
        assert (await user.get(WAVES)).status_code == 403
    r = await run_cli(settings, "grant-role", openid, "warehouse")
    assert r.returncode == 0, r.stderr
    status, elapsed = await status_within(user, WAVES, 200, 2.0)
    assert status == 200, f"the grant had not reached the server after {elapsed:.2f}s"
    for _ in range(3):
        assert (await user.get(WAVES)).status_code == 200
    r = await run_cli(settings, "revoke-role", openid, "warehouse")
    assert r.returncode == 0 and "revoked warehouse" in r.stdout, r.stderr
    status, elapsed = await status_within(user, WAVES, 403, 2.0)
    assert status == 403, f"the revocation had not reached the server after {elapsed:.2f}s"
    r = await run_cli(settings, "revoke-role", openid, "warehouse")
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


async def test_a_separate_worker_takes_the_address_the_server_recorded(app, settings):
    """`serve --port P` records where it listens; a worker started without --port (its own settings
    say 8000) builds simulator and notify URLs from that address; KAZUO_PUBLIC_BASE_URL still wins.
    (The README walk test runs a real `serve --port P` + `worker` pair on PostgreSQL + Redis.)"""
    from server.kit import lifecycle

    worker = settings.model_copy(update={"port": 8000, "public_base_url": ""})
    resolved = await lifecycle.worker_settings(worker, wait_seconds=5)
    if settings.embedded_redis:  # the worker is inline: it has the server's own settings
        assert resolved is worker
        return
    assert resolved.base_url == settings.base_url == f"http://127.0.0.1:{settings.port}"
    fixed = worker.model_copy(update={"public_base_url": "https://api.kazuo.example"})
    assert (await lifecycle.worker_settings(fixed)).base_url == "https://api.kazuo.example"
