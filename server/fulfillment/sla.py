"""Delivery promises (时效承诺): each parcel carries a deadline per leg; a cron sweep every 30 s
flags breaches as they happen (a late scan flags its own at once); the county office sees on-time
rates."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Case, F, Q, Value, When

from server.fulfillment.schemas import BreachOut, BreachQuery, SlaOut, SlaRow
from server.kit import clock
from server.kit.db import id_page
from server.kit.schemas import Page
from server.models.fulfillment import DeliveryPromise
from server.models.stations import Station


async def add_promise(parcel_id: int, leg: str, due: datetime, town_id: int | None, conn: Any) -> None:
    """Give a parcel a deadline for one leg (checked by the breach sweep every 30 seconds)."""
    await DeliveryPromise.create(parcel_id=parcel_id, leg=leg, due_at=due, town_station_id=town_id,
                                 using_db=conn)


async def mark_met(parcel_id: int, legs: tuple[str, ...], at: datetime, conn: Any) -> None:
    """The parcel reached the end of these legs; a late arrival is flagged as a breach at once."""
    # One statement: met now, and flagged now if the deadline passed and nobody flagged it yet.
    await DeliveryPromise.filter(parcel_id=parcel_id, leg__in=legs, met_at=None).using_db(conn).update(
        met_at=at, breached_at=Case(When(Q(due_at__lt=at, breached_at=None), then=Value(at)),
                                    default=F("breached_at")))


async def sweep_breaches() -> int:
    """Flag every unmet promise whose deadline passed (idempotent: flagged ones are left alone).
    One indexed UPDATE every 30 s instead of a deferred job per promise: a job per promise would put
    a Redis round trip on every pack and town arrival, and a lost job would still need this sweep."""
    now = clock.now()
    return await DeliveryPromise.filter(met_at=None, breached_at=None, due_at__lte=now).update(breached_at=now)


def _row(key: str, rows: list[dict], now: datetime) -> SlaRow:
    on_time = sum(1 for r in rows if r["met_at"] is not None and r["met_at"] <= r["due_at"])
    late = sum(1 for r in rows if r["met_at"] is not None and r["met_at"] > r["due_at"])
    open_b = sum(1 for r in rows if r["met_at"] is None and r["due_at"] <= now)
    total = on_time + late + open_b
    return SlaRow(key=key, total=total, on_time=on_time, late=late, open_breached=open_b,
                  on_time_rate=round(on_time / total, 4) if total else None)


async def stats(since: datetime | None, until: datetime | None) -> SlaOut:
    """On-time rate by route leg and by town, for promises due in [since, until)."""
    q = DeliveryPromise.all()
    if since:
        q = q.filter(due_at__gte=since)
    if until:
        q = q.filter(due_at__lt=until)
    rows = await q.values("leg", "town_station_id", "due_at", "met_at")
    now = clock.now()
    by_leg: dict[str, list[dict]] = {}
    by_town: dict[int | None, list[dict]] = {}
    for r in rows:
        by_leg.setdefault(r["leg"], []).append(r)
        by_town.setdefault(r["town_station_id"], []).append(r)
    names = dict(await Station.filter(id__in=[t for t in by_town if t]).values_list("id", "town"))
    return SlaOut(by_route=[_row(k, v, now) for k, v in sorted(by_leg.items())],
                  by_town=[_row(names.get(k, "") or f"station {k}", v, now)
                           for k, v in sorted(by_town.items(), key=lambda kv: kv[0] or 0)])


async def count_open_breaches() -> int:
    """Breached delivery promises not met yet."""
    return await DeliveryPromise.filter(breached_at__isnull=False, met_at=None).count()


async def breaches(query: BreachQuery) -> Page[BreachOut]:
    """Flagged breaches, newest first."""
    q = DeliveryPromise.filter(breached_at__isnull=False)
    if query.open_only:
        q = q.filter(met_at=None)
    # the parcel's label and order joined in: one statement for the page, not a lookup after it
    q = q.annotate(listed_label=F("parcel__label"), listed_order_id=F("parcel__order_id"))
    rows, next_cursor = await id_page(q, query.cursor, query.limit, newest_first=True)
    items = [BreachOut(parcel_id=r.parcel_id, label=r.listed_label, order_id=r.listed_order_id, leg=r.leg,
                       town_station_id=r.town_station_id, due_at=r.due_at, breached_at=r.breached_at,
                       met_at=r.met_at) for r in rows]
    return Page[BreachOut](items=items, next_cursor=next_cursor)
