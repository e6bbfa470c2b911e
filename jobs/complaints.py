"""Complaint jobs: a deadline check at each complaint's deadlines, telling the reporter the outcome, and
the sweeper (breaches whose job was lost, outcomes not told yet)."""
from __future__ import annotations

from arq import cron

from server.complaints import service as complaints


async def check_deadlines(ctx, complaint_id: int) -> dict:
    return await complaints.check_deadlines(complaint_id)


async def notify_outcome(ctx, complaint_id: int) -> str:
    return await complaints.notify_outcome(complaint_id)


async def sweep(ctx) -> dict:
    return await complaints.sweep()


JOBS = [("complaints.check_deadlines", check_deadlines), ("complaints.notify_outcome", notify_outcome)]
CRON = [cron(sweep, name="complaints.sweep", minute=set(range(4, 60, 5)), second={15}, run_at_startup=False)]
