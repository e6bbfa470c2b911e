"""The restore drill: dump the seeded test database with config/deploy/backup.sh, restore it into a new
database with restore.sh, and the ledger reconcile (`python -m server reconcile`) passes on the copy."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from server.ledger import service as ledger
from tests.conftest import PG_URL, _drop_pg_database, wait_for
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "config" / "deploy"

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="the restore drill needs KAZUO_TEST_DATABASE_URL (PostgreSQL)"),
    pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None
                       or shutil.which("psql") is None, reason="needs pg_dump, pg_restore and psql"),
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_restore_drill(client, settings, tmp_path):
    # Seed: a paid order (its sale in the ledger).
    buyer = await login(client)
    sku, station = await make_sku(stock=5, price=2300), await make_station()
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2)))
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    await pay_and_notify(buyer, order_id)
    assert await wait_for(lambda: _count(settings.database_url,
                                         f"SELECT count(*) FROM ledger_entries WHERE order_id = {order_id}"))
    original_broken = {row["order_id"] for row in await ledger.check_invariant()}
    assert order_id not in original_broken

    # Back up (the pool options on the URL are the server's, stripped by the script).
    dump = subprocess.run([str(DEPLOY / "backup.sh"), settings.database_url + "?minsize=2&maxsize=2",
                           str(tmp_path / "backups")], capture_output=True, text=True, timeout=300, env=_env())
    assert dump.returncode == 0, dump.stderr
    path = Path(dump.stdout.strip().splitlines()[-1])
    assert path.exists() and path.suffix == ".dump" and not list(path.parent.glob("*.partial"))

    # Restore into a new database; the copy has the same orders and entries.
    name = "kazuo_test_restore_" + secrets.token_hex(4)
    copy_url = PG_URL.rsplit("/", 1)[0] + "/" + name
    try:
        rest = subprocess.run([str(DEPLOY / "restore.sh"), str(path), copy_url], capture_output=True, text=True,
                              timeout=300, env=_env())
        assert rest.returncode == 0, rest.stderr
        for table in ("orders", "ledger_entries", "payments"):
            assert await _count(copy_url, f"SELECT count(*) FROM {table}") == \
                await _count(settings.database_url, f"SELECT count(*) FROM {table}"), table
        again = subprocess.run([str(DEPLOY / "restore.sh"), str(path), copy_url], capture_output=True, text=True,
                               timeout=120, env=_env())
        assert again.returncode != 0  # never over an existing database

        def reconcile() -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "server", "reconcile"], capture_output=True, text=True,
                                  timeout=300, cwd=tmp_path,
                                  env=_env(KAZUO_DATABASE_URL=copy_url, KAZUO_DATA_DIR=str(tmp_path / "data"),
                                           KAZUO_SEED_DEMO_ON_FIRST_RUN="false"))

        ok = reconcile()
        if not original_broken:
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert ok.stdout.strip().endswith("ledger holds")
        assert f"order {order_id}:" not in ok.stdout
        # The check can fail: a tampered entry on the copy is found.
        conn = await asyncpg.connect(copy_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE id = "
                               f"(SELECT min(id) FROM ledger_entries WHERE order_id = {order_id})")
        finally:
            await conn.close()
        broken = reconcile()
        assert broken.returncode == 1 and f"order {order_id}:" in broken.stdout
    finally:
        await _drop_pg_database(PG_URL, name)
