"""Payouts (server/payouts): make an approved batch's WeChat transfers, and the sweeper that asks
WeChat about every transfer whose outcome is not known yet (also making one whose job was lost, and
cancelling one left unconfirmed too long) until each is final."""
from __future__ import annotations

from arq import cron

from server.payouts import service as payouts


async def submit_transfer(ctx, line_id: int) -> str:
    return await payouts.submit_transfer(int(line_id))


async def sweep(ctx) -> dict:
    return await payouts.sweep()


JOBS = [(payouts.SUBMIT_JOB, submit_transfer), ("payouts.sweep", sweep)]
CRON = [cron(sweep, name="cron:payouts.sweep", minute=set(range(2, 60, 5)), second={40}, unique=True, timeout=300)]
