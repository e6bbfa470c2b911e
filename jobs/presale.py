"""Pre-sale jobs (issue #28): the sweep that ends deposit orders whose balance deadline has passed
(stock back, the deposit kept or refunded per KAZUO_PRESALE_REFUND_DEPOSIT_ON_DEFAULT). Idempotent:
an order already ended is skipped."""
from __future__ import annotations

from arq import cron

from server.kit import jobs
from server.presale import service as presale


async def sweep_balances(ctx) -> dict:
    return await presale.expire_due_balances()


JOBS: list = []


def CRON() -> list:  # noqa: N802 - the name jobs/worker.py reads
    return [cron(sweep_balances, name="presale.sweep_balances", second=jobs.sweep_seconds(25),
                 run_at_startup=False)]
