"""Fulfilment jobs: handoff of paid orders, delivery-promise checks, WeChat shipping uploads, WMS
webhooks; cron sweepers re-find work whose job was lost. Every job takes ids and is idempotent."""
from __future__ import annotations

import logging
from datetime import timedelta

from arq import Retry, cron

from server.fulfillment import scans, shipping, sla, wms
from server.fulfillment import service as fulfillment
from server.kit import clock, jobs
from server.kit import redis as kr
from server.kit.errors import UpstreamError

log = logging.getLogger("kazuo.jobs.fulfillment")


async def handoff(ctx, order_id: int) -> int | None:
    """A paid order becomes its county-warehouse task (enqueued by the orders capability)."""
    return await fulfillment.handoff(int(order_id))


async def upload_shipping(ctx, task_id: int) -> str:
    """One upload attempt; a failure is recorded on the task with its next attempt time (the sweeper
    brings it back), so arq does not retry it too."""
    return await shipping.upload(int(task_id))


async def wms_deliver(ctx, outbox_id: int) -> str:
    try:
        return await wms.deliver(int(outbox_id))
    except UpstreamError:
        raise Retry(defer=wms.backoff(ctx.get("job_try", 1))) from None


# ---- sweepers ------------------------------------------------------------------------------------
async def sweep_handoffs(ctx) -> int:
    ids = await fulfillment.paid_orders_without_task()
    window = jobs.sweep_window()
    for oid in ids:
        jobs.enqueue("fulfillment.handoff", oid, job_id=kr.key("job", "handoff", oid, window))
    return len(ids)


async def sweep_closed(ctx) -> int:
    """Tasks of orders refunded or cancelled before shipping: release what is still in the warehouse."""
    return await fulfillment.cancel_closed()


async def sweep_breaches(ctx) -> int:
    return await sla.sweep_breaches()


async def sweep_uploads(ctx) -> int:
    due = await shipping.due_uploads()
    # One job id per attempt and window: a finished attempt never blocks the next one, and a lost job
    # is found again in the next window.
    bucket = int(clock.now().timestamp()) // 600
    for tid, attempts in due:
        jobs.enqueue("fulfillment.upload_shipping", tid, job_id=kr.key("job", "ship-upload", tid, attempts, bucket))
    return len(due)


async def sweep_wms(ctx) -> int:
    ids = await wms.pending_outbox(timedelta(minutes=15))
    for oid in ids:
        jobs.enqueue("fulfillment.wms_deliver", oid)
    return len(ids)


async def sweep_pickups(ctx) -> int:
    """Orders whose parcels were all handed over at the station but not made ready; uncollected returns."""
    pending = await scans.pickup_handovers_pending()
    for order_id, station_id in pending:
        await scans.retry_receive(order_id, station_id)
    return len(pending) + await scans.return_uncollected_orders()


JOBS = [
    ("fulfillment.handoff", handoff),
    ("fulfillment.upload_shipping", upload_shipping),
    ("fulfillment.wms_deliver", wms_deliver),
]


def CRON() -> list:  # noqa: N802 - the name jobs/worker.py reads; a function: built as a worker starts
    return [
        cron(sweep_handoffs, name="fulfillment.sweep_handoffs", second=jobs.sweep_seconds(5),
             run_at_startup=False),
        *_CRON]


_CRON = [
    cron(sweep_closed, name="fulfillment.sweep_closed", second={10}, run_at_startup=False),
    cron(sweep_breaches, name="fulfillment.sweep_breaches", second={20, 50}, run_at_startup=False),
    cron(sweep_uploads, name="fulfillment.sweep_uploads", minute=set(range(0, 60, 2)), second={35}),
    cron(sweep_wms, name="fulfillment.sweep_wms", minute=set(range(1, 60, 5)), second={40}),
    cron(sweep_pickups, name="fulfillment.sweep_pickups", minute=set(range(0, 60, 2)), second={50}),
]
