"""The demo history generator, in its own throwaway database (its buyers, merchants and products must
not change what the shared suite's catalogue and training tests see): the figures the rollups give
are the ones the source tables and the ledger give, and every order's ledger balances."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("KAZUO_TEST_DATABASE_URL", "")

_SCRIPT = r'''
import asyncio, json, secrets, sys, tempfile
from datetime import timedelta
from pathlib import Path

from config.settings import Settings
from server import startup
from server.kit import lifecycle


async def main(pg_admin):
    tmp = Path(tempfile.mkdtemp(prefix="kazuo-hist-"))
    name = None
    if pg_admin:
        import asyncpg
        name = "kazuo_hist_" + secrets.token_hex(4)
        c = await asyncpg.connect(pg_admin.replace("postgres://", "postgresql://", 1))
        await c.execute(f'CREATE DATABASE "{name}"')
        await c.close()
        url = pg_admin.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite://{tmp / 'hist.sqlite3'}"
    s = Settings(_env_file=None, env="test", data_dir=tmp, database_url=url, redis_url="", simulators="on",
                 seed_demo_on_first_run=False, jwt_secret=secrets.token_urlsafe(48))
    startup.install()
    await lifecycle.start(s)
    try:
        from tortoise import Tortoise
        from tortoise.functions import Sum
        if pg_admin:
            await Tortoise.generate_schemas(safe=True)
        from server.kit import clock
        from server.ledger import service as ledger
        from server.models.orders import Order, OrderLine
        from server.models.payments import Refund
        from server.models.stats import StatDaily
        from server.stats import demo_history, service
        from server.training import outcomes

        out = await demo_history.generate(orders=1500, days=150)
        again = await demo_history.generate(orders=1500, days=150, only_if_empty=True)
        today = clock.local_today()
        start = today - timedelta(days=149)
        lo, _ = __import__("server.stats.rollup", fromlist=["x"]).day_bounds(start)
        line_sum = sum(await OrderLine.filter(order__paid_at__gte=lo).values_list("amount", flat=True))
        refund_sum = sum(await Refund.filter(status="succeeded", kind="order", succeeded_at__gte=lo)
                         .values_list("amount_fen", flat=True))
        summary = await service.summary(start, today)
        sales = next(h for h in summary["headline"] if h["key"] == "sales")
        person_times = sum(await StatDaily.filter(dimension="training_track").values_list("total", flat=True))
        progress = (await outcomes.progress()).total.actual
        towns = summary["tables"]["town"]
        cats = summary["tables"]["category"]
        print(json.dumps({
            "out": out, "again": again, "line_sum": line_sum, "rollup_gmv": sales["gmv_fen"],
            "refund_sum": refund_sum, "rollup_refunds": summary["refunds"]["amount_fen"],
            "town_sum": sum(t["gmv_fen"] for t in towns), "cat_sum": sum(c["gmv_fen"] for c in cats),
            "towns": len(towns), "ledger_bad": len(await ledger.check_invariant()),
            "person_times": person_times, "progress": progress,
            "on_time": [r["rate_pct"] for r in summary["tables"]["route"]][:3],
            "screen_orders": (await service.screen_figures())["today"]["orders"],
            "live_sessions_rolled": next(h for h in summary["headline"] if h["key"] == "live")["orders"],
        }))
    finally:
        await lifecycle.stop()
        if name:
            import asyncpg
            c = await asyncpg.connect(pg_admin.replace("postgres://", "postgresql://", 1))
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await c.close()


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
'''


def test_history_figures_are_true_to_their_sources():
    args = [sys.executable, "-c", _SCRIPT] + ([PG_URL] if PG_URL else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    out = r["out"]
    assert out["orders"] == 1500 and out["ledger_entries"] > out["lines"] > 1500
    assert out["refunds"] > 0 and out["pickups"] > 0 and out["promises"] >= out["parcels"]
    assert r["again"]["skipped"] is True  # only_if_empty: a first-run seed never doubles the history
    # The rollups say what the orders say, to the fen; breakdowns add up to the total.
    assert r["rollup_gmv"] == r["line_sum"] > 0
    assert r["rollup_refunds"] == r["refund_sum"] > 0
    assert r["town_sum"] == r["cat_sum"] == r["line_sum"]
    assert r["towns"] >= 10
    assert r["ledger_bad"] == 0  # every order: entries sum to paid - refunded
    assert r["person_times"] == r["progress"] > 0
    assert all(80 <= x <= 100 for x in r["on_time"])
    assert r["screen_orders"] >= 0 and r["live_sessions_rolled"] > 0
