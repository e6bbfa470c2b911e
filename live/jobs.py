"""Livestream jobs (JOB_MODULES entry): store a session's figures when it ends; reconcile sessions
with Aliyun's online-stream list; sweep what a lost job or a lost callback left behind."""
from __future__ import annotations

import logging

from arq import Retry, cron
from redis.exceptions import RedisError
from tortoise.exceptions import DBConnectionError, OperationalError

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


async def watch_drain(ctx) -> bool:
    """Queued flash-sale tickets without a drain running or due (its worker was killed): a new one.
    Every 5 seconds, so a queued buyer waits seconds, not the minute of the sweepers (a ticket not
    started within QUEUE_WAIT_S fails)."""
    return await checkout.ensure_drain()


async def _reconcile_cron(ctx) -> None:
    try:
        await reconcile(ctx)
    except Exception:  # noqa: BLE001 - Aliyun down: the next minute tries again
        log.warning("live reconcile failed", exc_info=True)


async def place_order(ctx, ticket: str) -> str:
    """Write the order of one queued ticket (the jobs enqueued one per ticket before the order queue
    had its drain: kept so that those still queued when the worker is updated are written)."""
    return await checkout.place_order(ticket)


async def drain_orders(ctx) -> dict:
    """Write the buy button's queued orders, a batch at a time, until the queue is empty. Redis or
    the database gone mid-way: the same job again in a second (tickets are written once)."""
    try:
        return await checkout.drain_orders()
    except (RedisError, OSError, DBConnectionError, OperationalError) as exc:
        log.warning("live order queue drain interrupted; again in a second", exc_info=True)
        raise Retry(defer=1) from exc


JOBS = [("live.store_figures", store_figures), ("live.reconcile", reconcile), ("live.sweep", sweep),
        ("live.place_order", place_order), ("live.drain_orders", drain_orders)]
CRON = [cron(_reconcile_cron, name="live.reconcile.cron", second=15, run_at_startup=False, unique=True),
        cron(sweep, name="live.sweep.cron", second=45, unique=True),
        cron(watch_drain, name="live.watch_drain.cron", second=set(range(2, 60, 5)), unique=True)]
