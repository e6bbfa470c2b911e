"""The settlement run (server/settlement). Its cron fires every hour and settles the last ended period;
the run is idempotent (a statement per payee and period, once), so the cron is also its own sweeper:
a missed or failed run is made by the next hour's."""
from __future__ import annotations

from arq import cron

from server.settlement import service as settlement


async def settle(ctx) -> dict:
    return (await settlement.run()).model_dump(mode="json")


JOBS = [("settlement.run", settle)]
CRON = [cron(settle, name="cron:settlement.run", minute={41}, second={10}, unique=True, timeout=300)]
