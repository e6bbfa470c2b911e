"""The daily reconciliation with WeChat Pay's trade bill (server/reconcile). Its cron fires every hour;
the service runs yesterday's once the configured local hour has come and it is not done yet, so the
cron is also its own sweeper."""
from __future__ import annotations

from arq import cron

from server.ledger import service as ledger
from server.reconcile import service as reconcile


async def reconcile_daily(ctx) -> dict | None:
    result = await reconcile.run_due()
    return result.model_dump(mode="json") if result else None


async def ledger_overall(ctx) -> dict:
    """Hourly: money in - refunds - payouts - cash confirmed = the sum of all balances (logged when not)."""
    return await ledger.check_overall()


JOBS = [("reconcile.daily", reconcile_daily), ("reconcile.ledger_overall", ledger_overall)]
CRON = [cron(reconcile_daily, name="cron:reconcile.daily", minute={23}, second={30}, unique=True, timeout=300),
        cron(ledger_overall, name="cron:reconcile.ledger_overall", minute={27}, second={0}, unique=True, timeout=300)]
