"""One request at a time: each console page's own server time against the console scenario's seeded
database (not a benchmark: nothing runs concurrently, it is light enough to run any time).

The first run makes a database that is kept (default `kazuo_console_seed` on the local PostgreSQL):
it is migrated and seeded once by bench/scenarios/console.py's seed (1,000 merchants, 100,000 orders;
a minute or two); later runs only apply new migrations. Each run starts the server in this process
(as the tests do) against that database, signs one admin in through /console/login, and GETs every page
of the scenario's plan `--repeat` times one after the other, timing every SQL statement the page ran.

    .venv/bin/python -m bench.console_pages                      # every page, slowest first
    .venv/bin/python -m bench.console_pages --only training --only payouts --explain 2
    .venv/bin/python -m bench.console_pages --reseed             # drop and seed the database again

Per page: the first request's ms (its caches cold, unless the plan's walk warmed them), the median of
the others, the statements per request and their total ms, the slowest statement. `--explain MS`
prints EXPLAIN (ANALYZE, BUFFERS) of every SELECT of the chosen pages that took MS ms or more.
The server's Redis caches stay in effect unless `--cold` forgets them before every request (a page
cached for a few seconds pays its cold cost after each expiry); `--profile N` prints where the time of
the timed requests went (cProfile, top N by cumulative time)."""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx

from tortoise.backends.asyncpg.client import AsyncpgDBClient

from bench.core import DEFAULT_PG_URL, DEFAULT_REDIS_URL, BenchContext, Stack, StackOptions, free_port
from bench.scenarios import console
from config.settings import Settings
from server.accounts import console as accounts_console, service as accounts_service
from server.app import create_app
from server.kit import redis as kr
from server.kit.protocol import FairHttpProtocol
from server.models.accounts import User

PHONE = "13900099999"


class _KeptStack(Stack):
    """The harness's stack on a fixed database that is neither created per run nor dropped."""

    def __init__(self, opts: StackOptions, db: str):
        super().__init__(opts)
        self.kept = db

    async def _create_database(self) -> None:
        self.database_url = self.opts.pg_url.rsplit("/", 1)[0] + "/" + self.kept
        self.env["KAZUO_DATABASE_URL"] = self.database_url
        await self.cli("migrate")


def _admin_dsn(pg_url: str) -> str:
    return pg_url.replace("postgres://", "postgresql://", 1)


async def _db_state(pg_url: str, db: str) -> str:
    """'missing', 'partial' (made but never finished seeding) or 'seeded'."""
    conn = await asyncpg.connect(_admin_dsn(pg_url))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            return "missing"
    finally:
        await conn.close()
    conn = await asyncpg.connect(_admin_dsn(pg_url.rsplit("/", 1)[0] + "/" + db))
    try:
        done = await conn.fetchval("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                   "WHERE datname = current_database()")
        return "seeded" if done == "console seeded" else "partial"
    finally:
        await conn.close()


async def ensure_seeded(pg_url: str, db: str, reseed: bool) -> None:
    state = await _db_state(pg_url, db)
    if state == "seeded" and not reseed:
        return
    conn = await asyncpg.connect(_admin_dsn(pg_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{db}"')
    finally:
        await conn.close()
    print(f"seeding {db} (kept for later runs)...", file=sys.stderr, flush=True)
    stack = _KeptStack(StackOptions(pg=True, redis=True, seed_demo=True, env=dict(console.SERVER_ENV)),
                       db)
    try:
        await stack.start()
        ctx = BenchContext(stack, connections=1, duration=1, client="asyncio", options={})
        try:
            await console.seed(ctx, merchants=1000, orders=100_000, days=90)
            async with ctx.services():
                await ctx.sql(f"COMMENT ON DATABASE \"{db}\" IS 'console seeded'")
        finally:
            await ctx.aclose()
    finally:
        await stack.stop()


# ---- statements per request ------------------------------------------------------------------------
class Recorder:
    """Times every statement the ORM's asyncpg client runs (the pages' own and the session's)."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, list, float, float]] = []
        self.on = False

    def install(self) -> None:
        for name in ("execute_query", "execute_query_dict"):
            orig = getattr(AsyncpgDBClient, name)

            def wrap(orig=orig):
                async def timed(client, query, values=None):
                    t0 = time.perf_counter()
                    try:
                        return await orig(client, query, values)
                    finally:
                        if self.on:
                            t1 = time.perf_counter()
                            self.rows.append(((t1 - t0) * 1000, query, list(values or []), t0, t1))
                return timed

            setattr(AsyncpgDBClient, name, wrap())


def waves(rows: list) -> int:
    """The statements' sequential depth: how many times a statement began after every earlier one had
    ended. Under load each wave is one more turn of the event loop behind every request in flight."""
    n, end = 0, float("-inf")
    for _, _, _, t0, t1 in sorted(rows, key=lambda r: r[3]):
        if t0 >= end:
            n += 1
        end = max(end, t1)
    return n


async def serve(db_url: str, tmp: Path):
    port = free_port()
    s = Settings(_env_file=None, env="development", data_dir=tmp, database_url=db_url,
                 redis_url=DEFAULT_REDIS_URL, redis_prefix=f"kzp{secrets.token_hex(3)}:", port=port,
                 host="127.0.0.1", simulators="on", worker_mode="inline", seed_demo_on_first_run=False,
                 jwt_secret=secrets.token_urlsafe(48), login_rate_per_minute=100000,
                 console_signin_per_ip_per_hour=100000, access_log=False)
    app = create_app(s, name="kazuo_console_pages")
    server = await app.create_server(host=s.host, port=s.port, protocol=FairHttpProtocol,
                                     return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    await server.start_serving()
    return s, server


async def stop(s, server) -> None:
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()
    client = kr.create_redis(s.redis_url)
    keys = [k async for k in client.scan_iter(match=s.redis_prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _forget_caches(s) -> None:
    """Every key the server keeps under its prefix but the sessions and principals: each request
    then pays for its caches' misses (a page's cold cost, as after each expiry)."""
    client = kr.create_redis(s.redis_url)
    try:
        keep = (s.redis_prefix + "csess:", s.redis_prefix + "principal:")
        keys = [k async for k in client.scan_iter(match=s.redis_prefix + "*", count=1000)
                if not k.decode().startswith(keep)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _one_line(q: str) -> str:
    return re.sub(r"\s+", " ", q)


async def admin_cookie(base_url: str) -> str:
    user = await User.filter(phone=PHONE).first()
    if user is None:
        user = await accounts_console.create_operator("计时员", PHONE, actor_id=None)
        await accounts_service.grant_role(user.id, "admin")
    return await console.sign_in(SimpleNamespace(base_url=base_url), PHONE)


async def explain(db_url: str, rows: list[tuple[float, str, list]], min_ms: float) -> None:
    conn = await asyncpg.connect(_admin_dsn(db_url))
    try:
        seen = set()
        for ms, q, vals, _, _ in sorted(rows, key=lambda r: -r[0]):
            if ms < min_ms or q in seen or not q.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            seen.add(q)
            print(f"\n  -- {ms:.1f} ms: {q[:600]}\n  -- values {str(vals)[:200]}")
            try:
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + q, *vals)
            except Exception as exc:   # a value the driver cannot pass back as given
                print(f"     (no plan: {exc})")
                continue
            for r in plan:
                print("     " + r[0])
    finally:
        await conn.close()


async def main_async(a: argparse.Namespace) -> int:
    for name in ("httpx", "arq", "arq.worker", "sanic.server"):
        logging.getLogger(name).setLevel(logging.WARNING)
    db_url = a.pg_url.rsplit("/", 1)[0] + "/" + a.db
    await ensure_seeded(a.pg_url, a.db, a.reseed)
    await _KeptStack(StackOptions(pg=True), a.db)._create_database()   # new migrations (the stack only migrates)
    rec = Recorder()
    rec.install()
    tmp = Path(tempfile.mkdtemp(prefix="kazuo-pages-"))
    s, server = await serve(db_url, tmp)
    try:
        base = f"http://127.0.0.1:{s.port}"
        cookie = await admin_cookie(base)
        ctx = SimpleNamespace(base_url=base)
        pages = await console.plan(ctx, cookie, {"town": console.TOWNS[0]}, a.depth)
        if a.only:
            pages = [p for p in pages if any(re.sub(r" p\d+$", "", p[0]) == o or p[0] == o for o in a.only)]
        out = []
        prof = cProfile.Profile()
        async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Cookie": cookie}) as c:
            for label, path, title in pages:
                walls, per = [], []
                for _ in range(a.repeat):
                    if a.cold:
                        await _forget_caches(s)
                    rec.rows = []
                    rec.on = True
                    if a.profile:
                        prof.enable()
                    t0 = time.perf_counter()
                    r = await c.get(path)
                    walls.append((time.perf_counter() - t0) * 1000)
                    if a.profile:
                        prof.disable()
                    rec.on = False
                    if r.status_code != 200 or title not in r.text:
                        raise RuntimeError(f"{label} {path}: {r.status_code} {r.text[:200]}")
                    per.append(rec.rows)
                last = per[-1]
                slow = max(last, default=(0.0, "", [], 0.0, 0.0))
                out.append((statistics.median(walls[1:] or walls), walls[0], len(last), waves(last),
                            sum(x[0] for x in last), slow, label, path, per))
        out.sort(key=lambda r: -r[0])
        print(f"{'page':<24} {'first':>7} {'median':>7} {'stmts':>6} {'waves':>6} {'sql ms':>7}  slowest statement")
        for med, first, n, nw, sql_ms, slow, label, path, per in out:
            print(f"{label:<24} {first:>7.1f} {med:>7.1f} {n:>6} {nw:>6} {sql_ms:>7.1f}  "
                  f"{slow[0]:.1f} ms {_one_line(slow[1])[:100]}")
        print(f"pages {len(out)}, median of medians {statistics.median(r[0] for r in out):.1f} ms, "
              f"over 50 ms: {sum(1 for r in out if r[0] >= 50)}")
        if a.profile:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(a.profile)
        if a.statements:
            for med, first, n, nw, sql_ms, slow, label, path, per in out:
                print(f"\n== {label} {path} ({med:.1f} ms)")
                for ms, q, vals, _, _ in per[-1]:
                    print(f"  {ms:6.1f}  {_one_line(q)[:160]}")
        if a.explain is not None:
            for med, first, n, nw, sql_ms, slow, label, path, per in out:
                print(f"\n== {label} {path}")
                await explain(db_url, per[-1], a.explain)
    finally:
        await stop(s, server)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="kazuo_console_seed", help="the kept database's name")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help="admin URL of the PostgreSQL server")
    p.add_argument("--reseed", action="store_true", help="drop the kept database and seed it again")
    p.add_argument("--repeat", type=int, default=4, help="requests per page, one after the other (4)")
    p.add_argument("--depth", type=int, default=3, help="pages deep by each list's next link (3)")
    p.add_argument("--only", action="append", default=[], help="a page label (repeatable)")
    p.add_argument("--cold", action="store_true", help="forget the server's Redis caches (not the sessions) "
                   "before every request")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="cProfile the timed requests (server and client, one process) and print the top N")
    p.add_argument("--statements", action="store_true", help="list each page's statements and their ms")
    p.add_argument("--explain", type=float, default=None, metavar="MS",
                   help="EXPLAIN ANALYZE the chosen pages' SELECTs that took MS ms or more")
    return asyncio.run(main_async(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
