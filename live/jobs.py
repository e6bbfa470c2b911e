"""Livestream jobs (JOB_MODULES entry): store a session's figures when it ends; reconcile sessions
with Aliyun's online-stream list; sweep what a lost job or a lost callback left behind."""
from __future__ import annotations

import logging

from arq import cron

from live import aliyun_live, checkout, service

log = logging.getLogger("kazuo.live.jobs")


async def store_figures(ctx, session_id: int) -> bool:
    """Copy an ended session's figures from Redis to the database (idempotent)."""
    return await service.store_figures(session_id)


async def reconcile(ctx) -> dict:
    """Match session states to DescribeLiveStreamsOnlineList (a missed callback cannot strand one)."""
    online = await aliyun_live.online_streams()
    return await service.reconcile(online)


async def sweep(ctx) -> dict:
    """Ended sessions without stored figures; flash-gate holds never confirmed (rolled back)."""
    return await service.sweep()


async def _reconcile_cron(ctx) -> None:
    try:
        await reconcile(ctx)
    except Exception:  # noqa: BLE001 - Aliyun down: the next minute tries again
        log.warning("live reconcile failed", exc_info=True)


async def place_order(ctx, ticket: str) -> str:
    """Write the order of a buyer the flash gate admitted (the buy button's queue)."""
    return await checkout.place_order(ticket)


JOBS = [("live.store_figures", store_figures), ("live.reconcile", reconcile), ("live.sweep", sweep),
        ("live.place_order", place_order)]
CRON = [cron(_reconcile_cron, name="live.reconcile.cron", second=15, run_at_startup=False, unique=True),
        cron(sweep, name="live.sweep.cron", second=45, unique=True)]
