"""After-sales jobs (售后, issue #25): answer by silence at the merchant's deadline, and the sweeper that
re-finds lost work (deadlines passed, returns never sent, refunds done). Each takes ids and is safe to
run twice (the service claims with guarded updates).

A step's message to the buyer goes through the notify outbox (notify.deliver, re-found by notify.sweep).
`aftersales.notify` stays registered for the per-step jobs still queued when that changed: it owes the
step through the outbox (once) and delivers it there; nothing enqueues it any more."""
from __future__ import annotations

from arq import Retry, cron

from server.aftersales import service as aftersales
from server.kit import jobs
from server.kit.errors import UpstreamError


async def notify(ctx, case_id: int, step: str) -> dict:
    """A job of the old path, queued before an upgrade: delivered through the outbox."""
    try:
        return await aftersales.notify(int(case_id), str(step))
    except UpstreamError:
        raise Retry(defer=60) from None


async def deadline(ctx, case_id: int) -> bool:
    """The merchant's answer is due: silence approves."""
    return await aftersales.answer_by_silence(int(case_id))


async def sweep(ctx) -> dict:
    return await aftersales.sweep()


JOBS = [
    (aftersales.NOTIFY_JOB, notify),
    (aftersales.DEADLINE_JOB, deadline),
    ("aftersales.sweep", sweep),
]


def CRON() -> list:  # noqa: N802 - the name jobs/worker.py reads
    return [cron(sweep, name="cron:aftersales.sweep", second=jobs.sweep_seconds(23), run_at_startup=False,
                 unique=True)]
