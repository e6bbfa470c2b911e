"""Statistics jobs: the daily rollup of one day (idempotent, any day), a cron that keeps yesterday and
today-so-far fresh, and a nightly sweeper that re-rolls the last weeks (late refunds, late scans,
lost jobs all converge there)."""
from __future__ import annotations

from datetime import date, timedelta

from arq import cron

from config.settings import get_settings
from server.kit import clock
from server.stats import rollup

SWEEP_DAYS = 35


async def rollup_day(ctx, day: str) -> int:
    """Recompute one Asia/Shanghai day (ISO date); safe to run any number of times."""
    return await rollup.rollup_day(date.fromisoformat(day))


async def rollup_recent(ctx) -> dict:
    """Today so far and yesterday (a payment or refund near midnight lands in yesterday)."""
    today = clock.local_today()
    return {d.isoformat(): await rollup.rollup_day(d) for d in (today - timedelta(days=1), today)}


async def sweep(ctx) -> int:
    """Re-roll the last five weeks: figures that change after their day (promises met late, training
    sign-ins recorded afterwards) and any day whose job was lost."""
    today = clock.local_today()
    for i in range(SWEEP_DAYS):
        await rollup.rollup_day(today - timedelta(days=i))
    return SWEEP_DAYS


_every = get_settings().stats_rollup_every_minutes
JOBS = [("stats.rollup_day", rollup_day), ("stats.rollup_recent", rollup_recent), ("stats.sweep", sweep)]
CRON = [cron(rollup_recent, name="stats.rollup_recent.cron", minute=set(range(0, 60, _every)),
             run_at_startup=True, unique=True, timeout=120),
        # 03:17 Asia/Shanghai = 19:17 UTC: quiet hours, off the round minutes other jobs use.
        cron(sweep, name="stats.sweep.cron", hour={19}, minute={17}, unique=True, timeout=600)]
