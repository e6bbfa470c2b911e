"""Training jobs: milestones recorded as they happen (an incremental, idempotent scan every few
minutes, plus a per-trainee recompute enqueued on sign-in and incubation)."""
from __future__ import annotations

from arq import cron

from server.training import outcomes
from server.kit.errors import NotFound


async def recompute_trainee(ctx, trainee_id: int) -> int:
    """Recompute one trainee's milestones (safe to run twice)."""
    try:
        return len(await outcomes.record_milestones(trainee_id))
    except NotFound:
        return 0


async def scan_milestones(ctx) -> dict:
    """The sweeper: every trainee touched since the last scan gets their milestones recorded."""
    return await outcomes.scan_milestones()


JOBS = [("training.recompute_trainee", recompute_trainee), ("training.scan_milestones", scan_milestones)]
CRON = [cron(scan_milestones, name="training.scan_milestones.cron", minute=set(range(0, 60, 5)),
             run_at_startup=False, unique=True, timeout=120)]
