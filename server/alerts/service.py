"""Alerts as data: what needs a person now, computed from the database and Redis on each call. The
console's Today page, /metrics and GET /api/v1/console/alerts read `current_alerts()`; an alert
disappears by itself once its cause is gone (nothing to acknowledge).

Kinds: a paid order with no warehouse task after KAZUO_ALERT_HANDOFF_AFTER_SECONDS; an order still
pending payment past its expiry (the cancel job is behind); a stale worker heartbeat; refunds that
failed (WeChat refused them for good: the office retries or settles them); refunds WeChat has not taken
after several tries; reconciliation differences not yet resolved."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Literal

from tortoise.expressions import Q
from tortoise.functions import Count, Min

from server.kit import clock, metrics, runtime, worker_health
from server.kit.schemas import Out
from server.models.fulfillment import FulfillmentTask
from server.models.orders import Order, OrderStatus
from server.models.payments import ReconcileDifference, Refund, RefundStatus

SAMPLE = 20            # ids listed per alert, the newest first (the count is complete; `since` is the oldest)
RETRYING_ATTEMPTS = 5  # a refund WeChat has not taken after this many tries is shown


class AlertOut(Out):
    kind: str
    severity: Literal["critical", "warning"]
    count: int
    message: str
    ids: list[int]
    since: datetime | None  # the oldest cause's time (when known)


async def _handoff_overdue(now: datetime) -> AlertOut | None:
    after = runtime.settings().alert_handoff_after_seconds
    # A pre-sale order held until its ship-from date is not late (Order.ship_not_before).
    paid = await (Order.filter(Q(ship_not_before__isnull=True) | Q(ship_not_before__lt=now - timedelta(seconds=after)),
                               status=OrderStatus.PAID, paid_at__lt=now - timedelta(seconds=after))
                  .order_by("paid_at").limit(5000).values_list("id", "paid_at"))
    if not paid:
        return None
    handed = set(await FulfillmentTask.filter(order_id__in=[i for i, _ in paid]).values_list("order_id", flat=True))
    late = [(i, at) for i, at in paid if i not in handed]
    if not late:
        return None
    return AlertOut(kind="paid_without_warehouse_task", severity="critical", count=len(late),
                    message=f"{len(late)} 个已付款订单超过 {max(1, after // 60)} 分钟仍未交给仓库",
                    ids=[i for i, _ in reversed(late[-SAMPLE:])], since=late[0][1])


async def _sample(qs, time_field: str) -> tuple[int, list[int], datetime | None]:
    """(count, the newest SAMPLE ids, the oldest time) of a queryset."""
    # The count and the oldest time in one statement: three reads one after the other were two more
    # turns of the event loop behind every request in flight (the Today page reads these).
    got = (await qs.annotate(n=Count("id"), oldest=Min(time_field)).values("n", "oldest"))[0]
    if not got["n"]:
        return 0, [], None
    ids = await qs.order_by("-" + time_field, "-id").limit(SAMPLE).values_list("id", flat=True)
    return got["n"], list(ids), got["oldest"]


async def _expired_pending(now: datetime) -> AlertOut | None:
    cutoff = now - timedelta(seconds=runtime.settings().alert_expired_pending_after_seconds)
    count, ids, since = await _sample(Order.filter(status=OrderStatus.PENDING_PAYMENT, expires_at__lt=cutoff),
                                      "expires_at")
    if not count:
        return None
    return AlertOut(kind="expired_still_pending", severity="warning", count=count,
                    message=f"{count} 个订单已过支付期限仍待付款（取消任务未执行）", ids=ids, since=since)


async def _worker_heartbeat() -> AlertOut | None:
    limit = runtime.settings().worker_heartbeat_max_age_seconds  # the limit /readyz applies too
    age = await worker_health.heartbeat_age()
    if age is not None and age <= limit:
        return None
    message = "没有任何后台任务进程的心跳" if age is None else f"后台任务进程已 {int(age)} 秒没有心跳"
    since = None if age is None else clock.now() - timedelta(seconds=age)
    return AlertOut(kind="worker_heartbeat_stale", severity="critical", count=1, message=message, ids=[],
                    since=since)


async def _failed_refunds() -> AlertOut | None:
    count, ids, since = await _sample(Refund.filter(status=RefundStatus.FAILED), "created_at")
    if not count:
        return None
    return AlertOut(kind="refund_failed", severity="critical", count=count,
                    message=f"{count} 笔退款被微信支付拒绝，需重新发起或登记线下退款", ids=ids, since=since)


async def _refunds_retrying() -> AlertOut | None:
    count, ids, since = await _sample(
        Refund.filter(status=RefundStatus.APPROVED, attempts__gte=RETRYING_ATTEMPTS), "created_at")
    if not count:
        return None
    return AlertOut(kind="refund_retrying", severity="warning", count=count,
                    message=f"{count} 笔退款多次提交微信支付未成功，仍在自动重试", ids=ids, since=since)


async def _reconcile_open() -> AlertOut | None:
    count, ids, since = await _sample(ReconcileDifference.filter(resolved_at__isnull=True), "detected_at")
    if not count:
        return None
    return AlertOut(kind="reconcile_difference", severity="critical", count=count,
                    message=f"{count} 条与微信支付对账单的差异尚未处理", ids=ids, since=since)


async def current_alerts() -> list[AlertOut]:
    """Every alert that holds now, critical first."""
    now = clock.now()
    # Side by side on the pool: one after the other, each check's round trips wait behind every other
    # request's on a busy server (the console's Today page reads these on every load).
    found = await asyncio.gather(_handoff_overdue(now), _expired_pending(now), _worker_heartbeat(),
                                 _failed_refunds(), _refunds_retrying(), _reconcile_open())
    alerts = [a for a in found if a is not None]
    return sorted(alerts, key=lambda a: a.severity != "critical")


KINDS = ("paid_without_warehouse_task", "expired_still_pending", "worker_heartbeat_stale", "refund_failed",
         "refund_retrying", "reconcile_difference")


async def alert_gauges() -> list[metrics.Gauge]:
    """/metrics, at scrape time: each alert kind's count (0 when it does not hold) and the worker
    heartbeat's age (-1 when there has never been one)."""
    counts = {a.kind: a.count for a in await current_alerts()}
    age = await worker_health.heartbeat_age()
    return [metrics.Gauge("kazuo_alerts", "Causes of each alert kind that hold now (0: none)", ("kind",),
                          [((k,), counts.get(k, 0)) for k in dict.fromkeys([*KINDS, *counts])]),
            metrics.Gauge("kazuo_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat "
                          "(-1: none yet)", (), [((), -1.0 if age is None else age)])]
