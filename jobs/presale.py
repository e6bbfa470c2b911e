"""Pre-sale jobs (issue #28): the sweep that ends deposit orders whose balance deadline has passed
(stock back, the deposit kept or refunded per KAZUO_PRESALE_REFUND_DEPOSIT_ON_DEFAULT). WeChat is asked
first about an open balance prepay order, so a balance paid whose notification was lost is applied
rather than the order ended. Idempotent: an order already ended is skipped. The same sweep owes each
deposit order whose balance window has opened one reminder (尾款支付提醒, through the notify outbox)."""
from __future__ import annotations

import logging

from arq import cron

from server.kit import jobs
from server.payments import service as payments
from server.presale import service as presale

log = logging.getLogger("kazuo.jobs.presale")


async def sweep_balances(ctx) -> dict:
    out: dict[str, int] = {}
    # deposit orders whose balance window opened: the buyer is reminded once (through the notify outbox)
    try:
        out["reminded"] = len(await presale.remind_open_balances())
    except Exception:  # noqa: BLE001 - the reminders must not stop the deadline sweep; next sweep retries
        log.exception("pre-sale balance reminders not owed")
    for order_id in await presale.due_balances():
        try:
            await payments.sync_with_wechat(order_id)
            outcome = await presale.expire_balance(order_id)
        except Exception:  # noqa: BLE001 - one order's trouble must not stop the others; next sweep retries
            log.exception("pre-sale order %s not expired", order_id)
            outcome = "error"
        out[outcome] = out.get(outcome, 0) + 1
    return out


JOBS: list = []


def CRON() -> list:  # noqa: N802 - the name jobs/worker.py reads
    return [cron(sweep_balances, name="presale.sweep_balances", second=jobs.sweep_seconds(25),
                 run_at_startup=False)]
