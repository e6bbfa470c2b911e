"""Station jobs: pickup notifications, reminders, returns of uncollected parcels and their refunds,
and the sweeper that re-finds any of these whose job was lost."""
from __future__ import annotations

from arq import cron

from server.stations import uncollected


async def notify_ready(ctx, pickup_id: int):
    return await uncollected.notify_ready(pickup_id)


async def remind(ctx, pickup_id: int, n: int):
    return await uncollected.remind(pickup_id, n)


async def return_uncollected(ctx, pickup_id: int):
    return await uncollected.return_uncollected(pickup_id)


async def refund_return(ctx, return_id: int):
    return await uncollected.refund_return(return_id)


async def cancel_closed(ctx, pickup_id: int):
    return await uncollected.cancel_closed(pickup_id)


async def sweep(ctx):
    return await uncollected.sweep()


JOBS = [
    ("stations.notify_ready", notify_ready),
    ("stations.remind", remind),
    ("stations.return_uncollected", return_uncollected),
    ("stations.refund_return", refund_return),
    ("stations.cancel_closed", cancel_closed),
    ("stations.sweep", sweep),
]
CRON = [cron(sweep, name="stations.sweep.cron", minute=set(range(2, 60, 10)), run_at_startup=False,
             unique=True, timeout=120)]
