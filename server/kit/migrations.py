"""aerich migrations (PostgreSQL): apply them (`migrate`) and generate the next one from the models
(`makemigrations`, for developers). SQLite (the embedded default) gets its schema generated instead."""
from __future__ import annotations

import secrets
from pathlib import Path

from tortoise import Tortoise
from server.kit.db import tortoise_config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
APP = "models"


def _command(db_url: str):
    from aerich import Command

    return Command(tortoise_config=tortoise_config(db_url), app=APP, location=str(MIGRATIONS_DIR))


def committed() -> list[str]:
    """The committed migrations' versions, as aerich records them (file names), in order."""
    return sorted((p.name for p in (MIGRATIONS_DIR / APP).glob("*.py") if p.name[:1].isdigit()),
                  key=lambda name: int(name.split("_", 1)[0]))


async def pending() -> list[str]:
    """What the connected database lacks of the committed schema (empty: up to date). PostgreSQL:
    the committed migrations aerich has not applied. A database whose schema was generated from the
    models (SQLite, the embedded default; the tests on PostgreSQL: aerich's table empty or absent):
    the models' tables it does not have."""
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        exists = await conn.execute_query_dict("SELECT to_regclass('aerich') IS NOT NULL AS present")
        applied = set()
        if exists[0]["present"]:
            rows = await conn.execute_query_dict("SELECT version FROM aerich WHERE app = $1", [APP])
            applied = {r["version"] for r in rows}
        if applied:
            return [v for v in committed() if v not in applied]
        rows = await conn.execute_query_dict(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()")
    else:
        rows = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'table'")
    have = {r["name"] for r in rows}
    return sorted({m._meta.db_table for m in Tortoise.apps[APP].values()} - have)


async def apply(db_url: str) -> list[str]:
    """Apply every pending migration in one transaction each; returns the applied versions."""
    cmd = _command(db_url)
    try:
        if not (MIGRATIONS_DIR / APP).exists():
            raise RuntimeError(f"no migrations in {MIGRATIONS_DIR / APP}")
        await cmd.init()
        return await cmd.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


async def make(name: str, server_url: str) -> str:
    """Generate the next migration by diffing the models against a scratch database at the head."""
    import asyncpg

    scratch = "kazuo_makemigrations_" + secrets.token_hex(3)
    admin = server_url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{scratch}"')
    await conn.close()
    db_url = server_url.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + "/" + scratch
    try:
        cmd = _command(db_url)
        if not (MIGRATIONS_DIR / APP).exists():
            await cmd.init_db(safe=True)
            result = "initial migration generated"
        else:
            await cmd.init()
            await cmd.upgrade(run_in_transaction=True)
            await cmd.init()  # aerich reads the head's models from the database: again, now that it has them
            result = await cmd.migrate(name, no_input=True) or "no changes"
        await Tortoise.close_connections()
        return result
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        await conn.close()
