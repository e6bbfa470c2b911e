"""Orders and payments jobs: cancel unpaid orders (after asking WeChat), query and close prepay
orders at WeChat, submit and query refunds, the sweeper that re-finds lost jobs, the ledger check.
Every job takes ids and is safe to run twice (the services use guarded updates)."""
from __future__ import annotations

import logging

from arq import Retry, cron

from server.integrations.wechatpay import PayGatewayError
from server.kit import clock, jobs
from server.kit import redis as kr
from server.ledger import service as ledger
from server.orders import receipt
from server.orders import service as orders
from server.payments import service as payments

log = logging.getLogger("kazuo.jobs.orders")


async def cancel_unpaid(ctx, order_id: int) -> str:
    """The unpaid timeout: a payment WeChat has but did not tell us about wins; otherwise cancel."""
    try:
        if await payments.sync_with_wechat(order_id) in ("applied", "duplicate", "paid"):
            return "paid"
    except PayGatewayError as exc:  # WeChat unreachable: cancel anyway; a late payment is refunded
        log.warning("order query failed before cancel", extra={"order_id": order_id, "err": exc.err_code})
    return "cancelled" if await orders.cancel_unpaid(order_id, reason="timeout") else "skip"


async def query_payment(ctx, order_id: int) -> str:
    return await payments.sync_with_wechat(order_id)


async def close_payment(ctx, order_id: int) -> str:
    from datetime import timedelta

    from arq import Retry

    result = await payments.close_open_payments(order_id)
    if result == "later":
        raise Retry(defer=timedelta(minutes=5))
    return result


REFUND_JOB_TRIES = 5  # the worker's max_tries: past them the sweeper re-finds the refund when it is due


async def submit_refund(ctx, refund_id: int) -> str:
    """Submit a refund; one WeChat could not take is tried again by this job after its backoff."""
    result = await payments.submit_refund(refund_id)
    if result == "retry" and (ctx or {}).get("job_try", REFUND_JOB_TRIES) < REFUND_JOB_TRIES:
        delay = await payments.refund_retry_delay(refund_id)
        if delay is not None:
            raise Retry(defer=delay)
    return result


async def query_refund(ctx, refund_id: int) -> str:
    return await payments.query_refund(refund_id)


async def sweep(ctx) -> dict:
    return await payments.sweep()


async def check_ledger(ctx, days: int = 2) -> int:
    """Hourly: orders touched in the last days whose entries do not sum to paid - refunded (logged)."""
    from datetime import timedelta

    return len(await ledger.check_invariant(since=clock.now() - timedelta(days=days)))


async def auto_confirm(ctx, order_id: int) -> str:
    """自动确认收货: a courier order completes once its auto-confirm time has passed."""
    return await receipt.auto_confirm(int(order_id))


async def sweep_auto_confirm(ctx) -> int:
    """Courier orders due for automatic confirmation whose job was lost (or failed)."""
    ids = await receipt.due_auto_confirm()
    bucket = int(clock.now().timestamp()) // 600  # a job id per ten minutes: a failed one runs again
    for oid in ids:
        jobs.enqueue(receipt.JOB, oid, job_id=kr.key("job", f"{receipt.JOB}:{oid}:sweep:{bucket}"))
    return len(ids)


JOBS = [
    ("orders.cancel_unpaid", cancel_unpaid),
    ("payments.query", query_payment),
    ("payments.close", close_payment),
    ("payments.refund", submit_refund),
    ("payments.refund_query", query_refund),
    ("orders.sweep", sweep),
    ("ledger.check", check_ledger),
    (receipt.JOB, auto_confirm),
]


def CRON() -> list:  # noqa: N802 - the name jobs/worker.py reads; a function: built as a worker starts
    return [
        cron(sweep, name="cron:orders.sweep", second=jobs.sweep_seconds(7), run_at_startup=False,
             unique=True),
        cron(check_ledger, name="cron:ledger.check", minute={13}, second={0}, unique=True),
        cron(sweep_auto_confirm, name="cron:orders.sweep_auto_confirm", minute=set(range(3, 60, 10)), second={17},
             run_at_startup=False, unique=True),
    ]
