"""`python -m server <command>`: serve | worker | migrate | check | reconcile | settle | seed-demo |
grant-role | revoke-role."""
from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import sys
from pathlib import Path

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
    from server.kit.protocol import protocol_class

    busy = _port_busy(settings.host, settings.port)
    if busy:
        other = _suggest_port(settings.host, settings.port)
        print(f"error: cannot listen on {settings.host}:{settings.port}: {busy}. Another program (perhaps "
              f"another `serve`) is using that port; stop it, or choose another port with "
              f"`serve --port {other}` or KAZUO_PORT={other}.", file=sys.stderr)
        sys.exit(1)
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    print(f"喀左特色馆 serving on http://{settings.host}:{settings.port} "
          f"(docs: /docs; database: {'SQLite (embedded)' if settings.embedded_db else 'PostgreSQL'}; "
          f"redis: {'embedded' if settings.embedded_redis else 'server'}; "
          f"simulators: {'on' if settings.simulators_on else 'off'})", file=sys.stderr, flush=True)
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers, backlog=settings.backlog,
                access_log=False, single_process=settings.workers == 1, motd=False,
                protocol=protocol_class(settings.http_arrival_order))
    if settings.workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


class ProgressReport:
    """Steps of a long command: a bar redrawn in place on a terminal, else a plain line per step and
    per tenth of it (a log or a pipe gets no carriage returns)."""

    WIDTH = 30

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown: tuple[str, int] | None = None

    def __call__(self, step: str, done: int, total: int) -> None:
        total = max(total, 1)
        tenth = min(10, done * 10 // total)
        if self.tty:
            filled = self.WIDTH * done // total
            self.stream.write(f"\r{step:<18} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done * 100 // total:3d}%"
                              f" {done:,}/{total:,}" + ("\n" if done >= total else ""))
        elif self.shown != (step, tenth):
            self.stream.write(f"{step}: {done:,}/{total:,} ({done * 100 // total}%)\n")
        else:
            return
        self.shown = (step, tenth)
        self.stream.flush()


def history_summary(out: dict) -> str:
    """seed-demo --history's answer, for people."""
    if out.get("skipped"):
        return (f"demo history already present ({out['orders']:,} orders); nothing written "
                "(it is generated once, into a database without one)")
    secs = out.get("seconds", {})
    lines = [f"demo history written: {out['orders']:,} paid orders from {out['from']} to {out['to']}",
             "  " + ", ".join(f"{out[k]:,} {label}" for k, label in (
                 ("lines", "order lines"), ("refunds", "refunds"), ("pickups", "pickups"), ("parcels", "parcels"),
                 ("live_sessions", "live sessions"), ("ledger_entries", "ledger entries")) if k in out)]
    training = {k: v for k, v in out.items() if k.startswith("training") or k in ("trainees", "signins")}
    if training:
        lines.append("  training: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in training.items()
                                                if isinstance(v, int)))
    if secs:
        lines.append(f"  took {secs.get('total', 0):.1f} s (generating {secs.get('generate', 0):.1f} s, "
                     f"writing {secs.get('write', 0):.1f} s, daily rollups {secs.get('rollups', 0):.1f} s)")
    lines.append("  the figures: /api/v1/console/stats/summary; the big screen: /screen")
    return "\n".join(lines)


def _port_busy(host: str, port: int) -> str:
    """Why (host, port) cannot be listened on ('' when it can): checked before the banner, so a busy
    port is one clear sentence, not a banner and a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"the host does not resolve ({exc.strerror})"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            s.bind(addr)
        except OSError as exc:
            return "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return ""


def _suggest_port(host: str, port: int) -> int:
    for candidate in range(port + 1, min(port + 50, 65536)):
        if not _port_busy(host, candidate):
            return candidate
    return 8080


def _metrics_dir(settings) -> None:
    """prometheus-client's multiprocess mode for this process and its children (Sanic's workers), set
    before anything imports prometheus_client (server/kit/metrics.py). The files of processes that
    are gone are removed (their counts leave the sums: Prometheus reads that as a counter reset)."""
    path = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.metrics_dir or settings.data_dir / "metrics")
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    for f in path.glob("*.db"):
        pid = f.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            f.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _with_runtime(coro_fn):
    from server import startup
    from server.kit import lifecycle

    startup.install()
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
    sub.add_parser("check", help="preflight: report every configuration and dependency problem at once")
    sub.add_parser("reconcile", help="check the ledger: every paid order's entries sum to paid - refunded")
    p = sub.add_parser("settle", help="make the settlement statements of a period (idempotent)")
    p.add_argument("--period-end", help="the period's end: a date (Asia/Shanghai midnight starting it; "
                                        "weekly periods end on a Monday); default: the last ended period")
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
    p = sub.add_parser("revoke-role", help="take a role back from the user with this openid")
    p.add_argument("openid")
    p.add_argument("role", choices=["merchant", "livestreamer", "station_staff", "warehouse", "admin"])
    p.add_argument("--station", help="station code (station_staff)")
    p.add_argument("--merchant", type=int, help="merchant id (merchant)")
    args = parser.parse_args(argv)

    if args.cmd == "check":  # before get_settings(): a broken configuration is what it reports
        from server import preflight

        sys.exit(preflight.main())
    try:
        settings = get_settings()
        if args.cmd in ("serve", "worker"):
            _metrics_dir(settings)
        if args.cmd == "serve":
            _serve(args)
        elif args.cmd == "worker":
            from jobs.worker import run_worker

            run_worker()
        elif args.cmd == "migrate":
            print(asyncio.run(migrate()))
        elif args.cmd == "reconcile":
            from server.ledger import service as ledger

            broken = asyncio.run(_with_runtime(ledger.check_invariant))
            for row in broken:
                print(f"order {row['order_id']}: entries {row['entries']}, expected {row['expected']}")
            print(f"ledger {'broken for ' + str(len(broken)) + ' order(s)' if broken else 'holds'}")
            sys.exit(1 if broken else 0)
        elif args.cmd == "settle":
            from server.settlement import service as settlement

            try:
                end = settlement.parse_period_end(args.period_end) if args.period_end else None
            except ValueError as exc:
                parser.error(f"settle: --period-end: {exc}")
            out = asyncio.run(_with_runtime(lambda: settlement.run(end)))
            print(f"settled {out.period_start.isoformat()} ~ {out.period_end.isoformat()}: "
                  f"{out.statements_created} statement(s) made ({out.lines} line(s), {out.total_fen} fen), "
                  f"{out.statements_existing} already made")
        elif args.cmd == "makemigrations":
            from server.kit import migrations

            print(asyncio.run(migrations.make(args.name, args.server)))
        elif args.cmd == "seed-demo":
            from server import demo

            print(asyncio.run(_with_runtime(demo.seed)))
            if args.history:
                from server.stats import demo_history

                print(f"demo history: {args.orders:,} paid orders over {args.days} days "
                      "(a minute or so for 20,000 on SQLite)", flush=True)
                out = asyncio.run(_with_runtime(lambda: demo_history.generate(
                    orders=args.orders, days=args.days, only_if_empty=True, progress=ProgressReport(sys.stdout))))
                print(history_summary(out))
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
        elif args.cmd == "revoke-role":
            from server.accounts import service

            grant = asyncio.run(_with_runtime(lambda: service.revoke_role_by_openid(
                args.openid, args.role, station_code=args.station, merchant_id=args.merchant)))
            print(f"revoked {grant.role} from user {grant.user_id}"
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
