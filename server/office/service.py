"""The county office's desk (首页 of the web console): every queue that waits for the office, with
its count, and today's figures. Each count comes from the service that owns the queue."""
from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import Field

from server.alerts import service as alerts
from server.catalog import service as catalog
from server.complaints import service as complaints  # (#26)
from server.fulfillment import shipping, sla
from server.kit import runtime
from server.kit import redis as kr
from server.kit.schemas import Out
from server.merchants import service as merchants
from server.orders import refunds
from server.stations import service as stations
from server.stats import service as stats
from server.trace import flags


class QueueOut(Out):
    key: str
    count: int


class AlertBrief(Out):
    kind: str
    title: str
    severity: str = "warning"
    count: int = 0
    since: datetime | None = None


class TodayOut(Out):
    queues: list[QueueOut]
    alerts: list[AlertBrief] = Field(description="the fault alerts that hold now (server/alerts), critical first")
    gmv_fen: int
    orders: int
    live_gmv_fen: int


async def current_alerts() -> list[AlertBrief]:
    """The fault alerts that hold now (server/alerts), for the desk."""
    return [AlertBrief(kind=a.kind, title=a.message, severity=a.severity, count=a.count, since=a.since)
            for a in await alerts.current_alerts()]


STALE_FACTOR = 12  # an expired desk is still shown (while it is recounted) up to this many TTLs old


async def today() -> TodayOut:
    """The office's queues (each a count of its list) and today's figures, a few seconds fresh
    (KAZUO_OFFICE_TODAY_CACHE_SECONDS, shared by every operator in Redis, as the big screen's figures
    are; past them the desk as it was is shown while it is recounted in the background: no operator
    waits for a recount); the fault alerts are read live."""
    # kept desk (Redis) beside the live alerts: each sequential read is one more event-loop turn under load
    desk, alerts_now = await asyncio.gather(
        kr.cached_stale(kr.key("office", "today"), runtime.settings().office_today_cache_seconds,
                        _queues_and_figures, field="desk", keep_factor=STALE_FACTOR),
        current_alerts())
    return TodayOut(**desk, alerts=alerts_now)


async def _queues_and_figures() -> dict:
    reviews = await catalog.count_pending_reviews()
    queues = [
        QueueOut(key="merchant_applications", count=await merchants.count_in_state("pending")),
        QueueOut(key="product_listings", count=reviews["listing"]),
        QueueOut(key="product_revisions", count=reviews["revision"]),
        QueueOut(key="refunds_waiting", count=await refunds.count_waiting()),
        QueueOut(key="shipping_uploads_late", count=await shipping.count_late_uploads()),
        QueueOut(key="station_alerts", count=await stations.count_open_alerts()),
        QueueOut(key="counterfeit_flags", count=await flags.count_open()),
        QueueOut(key="sla_breaches", count=await sla.count_open_breaches()),
    ]
    queues.append(QueueOut(key="complaints_open", count=(await complaints.count_waiting())["open"]))  # (#26)
    figures = (await stats.screen_figures())["today"]
    return {"queues": [q.model_dump(mode="json") for q in queues], "gmv_fen": figures["gmv_fen"],
            "orders": figures["orders"], "live_gmv_fen": figures["live_gmv_fen"]}
