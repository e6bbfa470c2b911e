"""`python -m server <command>`: serve | worker | migrate | seed-demo | grant-role."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

from config.settings import ConfigError, get_settings


def _serve(args) -> None:
    from functools import partial

    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    for name in ("host", "port", "workers"):
        value = getattr(args, name)
        if value is not None:
            os.environ[f"KAZUO_{name.upper()}"] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    from server.app import create_app
    from server.kit.protocol import FairHttpProtocol

    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    print(f"喀左特色馆 serving on http://{settings.host}:{settings.port} "
          f"(docs: /docs; database: {'SQLite (embedded)' if settings.embedded_db else 'PostgreSQL'}; "
          f"redis: {'embedded' if settings.embedded_redis else 'server'}; "
          f"simulators: {'on' if settings.simulators_on else 'off'})", file=sys.stderr, flush=True)
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers, backlog=settings.backlog,
                access_log=settings.access_log, single_process=settings.workers == 1, motd=False,
                protocol=FairHttpProtocol)
    if settings.workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


async def _with_runtime(coro_fn):
    from server.kit import lifecycle

    await lifecycle.start(get_settings())
    try:
        return await coro_fn()
    finally:
        await lifecycle.stop()


async def migrate() -> str:
    """Bring the database schema up to date: aerich migrations on PostgreSQL, generated on SQLite."""
    from server.kit import migrations
    from server.kit.db import close_db, init_db

    settings = get_settings()
    if settings.embedded_db:
        await init_db(settings.db_url, generate_schemas=True)
        await close_db()
        return "SQLite schema generated"
    applied = await migrations.apply(settings.db_url)
    return f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description="Kazuo Pavilion backend")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="run the HTTP server")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    sub.add_parser("worker", help="run the arq background worker")
    sub.add_parser("migrate", help="apply database migrations")
    p = sub.add_parser("seed-demo", help="load the demo data (idempotent)")
    p.add_argument("--history", action="store_true",
                   help="also generate a realistic history of paid orders (for the figures and the big screen)")
    p.add_argument("--orders", type=int, default=20_000, help="orders in the history (default 20000)")
    p.add_argument("--days", type=int, default=730, help="days the history covers (default 730)")
    p = sub.add_parser("makemigrations", help="(developers) generate the next aerich migration")
    p.add_argument("name", nargs="?", default="update")
    p.add_argument("--server", default="postgres://postgres@127.0.0.1:5432/postgres",
                   help="a PostgreSQL server URL where a scratch database may be created")
    p = sub.add_parser("grant-role", help="grant a role to the user with this openid (or --phone)")
    p.add_argument("openid", nargs="?", help="the user's WeChat openid (or give --phone)")
    p.add_argument("role", choices=["merchant", "livestreamer", "station_staff", "warehouse", "admin"])
    p.add_argument("--station", help="station code (station_staff)")
    p.add_argument("--merchant", type=int, help="merchant id (merchant)")
    p.add_argument("--head", action="store_true", help="station head (station_staff)")
    p.add_argument("--phone", help="the user's mobile number (created when needed; signs in to /console/ by SMS)")
    p.add_argument("--name", default="", help="with --phone: the new user's name")
    args = parser.parse_args(argv)

    try:
        get_settings()
        if args.cmd == "serve":
            _serve(args)
        elif args.cmd == "worker":
            from jobs.worker import run_worker

            run_worker()
        elif args.cmd == "migrate":
            print(asyncio.run(migrate()))
        elif args.cmd == "makemigrations":
            from server.kit import migrations

            print(asyncio.run(migrations.make(args.name, args.server)))
        elif args.cmd == "seed-demo":
            from server import demo

            print(asyncio.run(_with_runtime(demo.seed)))
            if args.history:
                from server.stats import demo_history

                print(asyncio.run(_with_runtime(lambda: demo_history.generate(
                    orders=args.orders, days=args.days, only_if_empty=True))))
        elif args.cmd == "grant-role":
            from server.accounts import service

            from server.accounts import console

            if (args.openid is None) == (args.phone is None):
                parser.error("grant-role: give either an openid or --phone PHONE")
            grant = asyncio.run(_with_runtime(
                (lambda: console.grant_role_by_phone(args.phone, args.role, name=args.name,
                                                     station_code=args.station, merchant_id=args.merchant,
                                                     is_head=args.head)) if args.phone else
                (lambda: service.grant_role_by_openid(args.openid, args.role, station_code=args.station,
                                                      merchant_id=args.merchant, is_head=args.head))))
            print(f"granted {grant.role} to user {grant.user_id}"
                  + (f" at station {grant.station_id}" if grant.station_id else "")
                  + (f" for merchant {grant.merchant_id}" if grant.merchant_id else ""))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - a CLI prints the reason, not a traceback
        from server.kit.errors import AppError

        if isinstance(exc, AppError):
            print(f"error: {exc.message}", file=sys.stderr)
            sys.exit(1)
        raise
