"""County statistics: time to roll up one day and to answer a one-year range query, at growing history sizes.

Setup (untimed) writes a year of demo history (server.stats.demo_history: orders across towns with
seasons and livestream peaks, ledger postings, refunds, pickups, parcels, promises, training) up to
each size in --opt sizes=10000,1000000 (default 10000,100000), rolling every day up. Then, per size:
  * "day rollup": server.stats.rollup.rollup_day on sample days (an ordinary day and the busiest,
    Double 11), run in the harness process against the server's database; median and max ms, and the
    orders of those days, are printed under the table (not a load figure: one job at a time);
  * "year summary": GET /api/v1/console/stats/summary for the last 365 days as an admin (uncached:
    every request sums a year of rollups, compares with the year before and reads coverage and
    training progress), at --opt range_connections (default 4) connections;
  * "screen data": GET /screen/data, what every big screen polls (cached for 2 s in Redis).
Use --pg --redis for the large sizes (COPY-based bulk load); the embedded default tops out near 100k."""
from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

from bench import Req

CONNECTIONS = 50
SETUP_TIMEOUT = 3600
DEMO_DATA = True


async def _grow(ctx, total: int, days: int) -> dict:
    """Bring the history orders up to `total` over the last `days` days; returns what was done."""
    async with ctx.services():
        from server.models.orders import Order
        from server.stats import demo_history

        have = await Order.filter(order_no__startswith="H").count()
        if have >= total:
            return {"orders": have, "seconds": {}}
        t0 = time.perf_counter()
        out = await demo_history.generate(orders=total - have, days=days, seed=total)
        ctx.log(f"history +{total - have} orders in {time.perf_counter() - t0:.1f}s: {out['seconds']}")
        return {"orders": total, "seconds": out["seconds"]}


async def _time_rollups(ctx, days: int) -> dict:
    async with ctx.services():
        from server.kit import clock
        from server.models.orders import Order
        from server.stats import rollup

        today = clock.local_today()
        eleven = date(today.year if (today.month, today.day) > (11, 11) else today.year - 1, 11, 11)
        samples = {"ordinary day": today - timedelta(days=40), "Double 11": eleven}
        out = {}
        for label, d in samples.items():
            lo, hi = rollup.day_bounds(d)
            n = await Order.filter(paid_at__gte=lo, paid_at__lt=hi).count()
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                await rollup.rollup_day(d)
                runs.append((time.perf_counter() - t0) * 1000)
            out[f"rollup {label} ({n} orders) ms median/max"] = f"{statistics.median(runs):.0f}/{max(runs):.0f}"
        return out


async def run(ctx):
    sizes = [int(s) for s in str(ctx.option("sizes", "10000,100000")).split(",")]
    days = int(ctx.option("days", 365))
    conns = int(ctx.option("range_connections", 4))
    admin = await ctx.login_as("admin")
    out = []
    for size in sizes:
        grown = await _grow(ctx, size, days)
        label = f"{size // 1000}k" if size < 1_000_000 else f"{size / 1_000_000:g}M"
        rollups = await _time_rollups(ctx, days)
        end = date.today()
        q = f"from={(end - timedelta(days=364)).isoformat()}&to={end.isoformat()}"
        reqs = [Req("GET", f"/api/v1/console/stats/summary?{q}", headers=admin.headers)]
        await ctx.warmup(reqs, 1.0)
        fig = await ctx.load(reqs, name=f"year summary @{label}", connections=conns)
        fig.extra.update({"orders": grown["orders"], **rollups})
        if grown["seconds"]:
            fig.extra["history load s (generate/write/rollups)"] = "/".join(
                str(grown["seconds"].get(k, "")) for k in ("generate", "write", "rollups"))
        out.append(fig)
        screen = [Req("GET", "/screen/data", headers=admin.headers)]
        await ctx.warmup(screen, 1.0)
        out.append(await ctx.load(screen, name=f"screen data @{label}"))
    return out
