"""The committed aerich migrations build exactly the schema the models describe (PostgreSQL)."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = """SELECT table_name, column_name, data_type, is_nullable, character_maximum_length
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'aerich'"""
INDEXES = "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'aerich'"
FOREIGN_KEYS = """SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
                  WHERE contype = 'f' AND connamespace = 'public'::regnamespace"""


async def _schema(url: str) -> tuple[set, set, set]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        cols = {tuple(r) for r in await conn.fetch(COLUMNS)}
        idx = {(r["tablename"], r["indexdef"]) for r in await conn.fetch(INDEXES)}
        fks = {tuple(r) for r in await conn.fetch(FOREIGN_KEYS)}
    finally:
        await conn.close()
    return cols, idx, fks


async def test_migrations_match_the_models(settings, app, on_postgres):
    if not on_postgres:
        pytest.skip("aerich migrations are PostgreSQL's; SQLite generates its schema")
    server = settings.database_url.rsplit("/", 1)[0]
    name = "kazuo_migr_" + secrets.token_hex(3)
    admin = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1) + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "KAZUO_DATABASE_URL": f"{server}/{name}", "KAZUO_DATA_DIR": str(settings.data_dir)}
        out = subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "applied" in out.stdout
        migrated = await _schema(f"{server}/{name}")
        generated = await _schema(settings.database_url)
        assert migrated[0] == generated[0], "columns differ: run `python -m server makemigrations`"
        assert migrated[1] == generated[1], "indexes differ: run `python -m server makemigrations`"
        assert migrated[2] == generated[2], "foreign keys differ (aerich does not follow db_constraint: by hand)"
        again = subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "none pending" in again.stdout
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
