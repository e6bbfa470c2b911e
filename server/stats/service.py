"""County statistics (县域电商统计) for the e-commerce office: figures for any date range from the
daily rollups, growth against the same period a year before and against the plan's targets, station
coverage, training progress, income reaching poor households; and the big screen's live figures."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from tortoise.functions import Count, Max, Sum

from server.kit import clock, runtime
from server.kit import redis as kr
from server.kit.errors import ValidationFailed
from server.models.live import LiveSession, SessionStatus
from server.models.orders import Order
from server.models.stats import StatDaily
from server.promotions import campaigns
from server.stats import rollup
from server.stations import network as stations_network
from server.training import outcomes as training_outcomes
from server.kit.jobs import enqueue
from server.collection import service as collection_service
from server.complaints import service as complaints_service  # complaints on the big screen (#26)

MAX_RANGE_DAYS = 3700  # ten years: any range the office asks for, bounded so a query stays bounded
SUM_COLS = ("orders", "units", "gmv_fen", "refund_fen", "total", "hits")
TABLES = {  # export name -> (dimension, title)
    "category": ("category", "按品类"), "town": ("town", "按产地乡镇"), "merchant_kind": ("merchant_kind", "按商户类型"),
    "dest_town": ("dest_town", "按收货乡镇"), "station": ("station", "服务站订单与自提"),
    "route": ("route", "配送准时率(按线路)"), "product": ("product", "商品排行"),
    "training_track": ("training_track", "培训人次(按类别)"), "training_group": ("training_group", "培训人次(按群体)"),
    "active": ("active", "活跃主体(日均/峰值)"),
}
HEADLINE = ("sales", "farm", "live", "poor_household")


def year_before(d: date) -> date:
    """The same calendar day a year earlier (29 Feb -> 28 Feb)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def check_range(start: date, end: date) -> None:
    """Reject reversed or unbounded ranges (a 4xx naming the field)."""
    if end < start:
        raise ValidationFailed.field("to", "must not be before 'from'")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValidationFailed.field("to", f"a range is at most {MAX_RANGE_DAYS} days")
    if start.year < 2000:
        raise ValidationFailed.field("from", "must be in 2000 or later")


def _pct(num: float, den: float) -> float | None:
    return round(num * 100 / den, 1) if den else None


def _growth(cur: int, prev: int) -> float | None:
    return round((cur - prev) * 100 / prev, 1) if prev else None


async def _sums(start: date, end: date, dimensions: tuple[str, ...] | None = None) -> dict[tuple[str, str], dict]:
    """Sums of every column by (dimension, key) over [start, end], in one grouped query."""
    q = StatDaily.filter(day__gte=start, day__lte=end)
    if dimensions:
        q = q.filter(dimension__in=dimensions)
    rows = await q.annotate(s_orders=Sum("orders"), s_units=Sum("units"), s_gmv=Sum("gmv_fen"),
                            s_refund=Sum("refund_fen"), s_total=Sum("total"), s_hits=Sum("hits"),
                            s_label=Max("label"), s_peak=Max("total"), s_days=Count("id")
                            ).group_by("dimension", "key").values(
        "dimension", "key", "s_orders", "s_units", "s_gmv", "s_refund", "s_total", "s_hits", "s_label", "s_peak",
        "s_days")
    return {(r["dimension"], r["key"]): {
        "label": r["s_label"] or r["key"], "orders": int(r["s_orders"] or 0), "units": int(r["s_units"] or 0),
        "gmv_fen": int(r["s_gmv"] or 0), "refund_fen": int(r["s_refund"] or 0), "total": int(r["s_total"] or 0),
        "hits": int(r["s_hits"] or 0), "peak": int(r["s_peak"] or 0), "days": int(r["s_days"] or 0)}
        for r in rows}


def _row(key: str, cur: dict | None, prev: dict | None, dimension: str, days: int) -> dict:
    cur = cur or {c: 0 for c in SUM_COLS} | {"label": key, "peak": 0}
    prev = prev or {}
    out = {"key": key, "label": cur["label"], **{c: cur[c] for c in SUM_COLS},
           "net_fen": cur["gmv_fen"] - cur["refund_fen"],
           "last_year_gmv_fen": prev.get("gmv_fen", 0), "gmv_growth_pct": _growth(cur["gmv_fen"], prev.get("gmv_fen", 0))}
    if dimension in ("route", "station"):
        out["rate_pct"] = _pct(cur["hits"], cur["total"])
        out["last_year_rate_pct"] = _pct(prev.get("hits", 0), prev.get("total", 0))
    if dimension in ("training_track", "training_group"):
        out["last_year_total"] = prev.get("total", 0)
    if dimension == "active":
        out["daily_avg"] = round(cur["total"] / days, 1) if days else 0
        out["peak_day"] = cur["peak"]
    return out


def _table(dimension: str, cur: dict, prev: dict, days: int) -> list[dict]:
    keys = {k for d, k in cur if d == dimension} | {k for d, k in prev if d == dimension}
    rows = [_row(k, cur.get((dimension, k)), prev.get((dimension, k)), dimension, days) for k in keys]
    if dimension in ("route", "station", "training_track", "training_group", "active"):
        rows.sort(key=lambda r: (-r["total"], r["key"]))
    else:
        rows.sort(key=lambda r: (-r["gmv_fen"], r["key"]))
    return rows[:100] if dimension == "product" else rows


async def coverage() -> dict:
    """Station coverage (服务站覆盖率) of towns, villages and poor villages against the plan."""
    cov = await stations_network.coverage()
    s = runtime.settings()
    # Unknown (0): no percent and never "met" (dividing by the villages covered showed 100%).
    poor_total = s.stats_poor_villages_total or None
    targets = s.stats_coverage_targets_pct
    items = [("towns", "乡镇覆盖率", cov.towns_covered, s.stats_towns_total),
             ("villages", "行政村覆盖率", cov.villages_covered, s.stats_villages_total),
             ("poor_villages", "贫困村覆盖率", cov.poor_villages_covered, poor_total)]
    rows = []
    for key, label, covered, total in items:
        pct = _pct(covered, total) if total else None
        target = targets.get(key)
        rows.append({"key": key, "label": label, "covered": covered, "total": total, "percent": pct,
                     "target_pct": target, "met": pct is not None and target is not None and pct >= target})
    return {"rows": rows, "stations_by_level": cov.stations_by_level, "active_by_level": cov.active_by_level,
            "poor_villages_total_known": bool(s.stats_poor_villages_total)}


async def summary(start: date, end: date) -> dict:
    """Every table for [start, end] with the same period a year before and the plan's targets."""
    check_range(start, end)
    ly_start, ly_end = year_before(start), year_before(end)
    cur, prev = await _sums(start, end), await _sums(ly_start, ly_end)
    days = (end - start).days + 1
    s = runtime.settings()
    target_pct = {"sales": s.stats_sales_growth_target_pct, "farm": s.stats_farm_growth_target_pct}
    headline = []
    for key in HEADLINE:
        row = _row("all", cur.get((key, "all")), prev.get((key, "all")), key, days)
        row["key"], row["label"] = key, row["label"] if row["label"] != "all" else rollup.SUMMARY_LABELS[key]
        tp = target_pct.get(key)
        last = row["last_year_gmv_fen"]
        row["target_growth_pct"] = tp
        row["target_gmv_fen"] = last * (100 + tp) // 100 if tp is not None and last else None
        row["target_met"] = (row["gmv_fen"] >= row["target_gmv_fen"]) if row["target_gmv_fen"] else None
        row["target_progress_pct"] = _pct(row["gmv_fen"], row["target_gmv_fen"] or 0)
        headline.append(row)
    refunds = cur.get(("refunds", "all"), {})
    income = cur.get(("poor_income", "all"), {}).get("gmv_fen", 0)
    income_ly = prev.get(("poor_income", "all"), {}).get("gmv_fen", 0)
    progress = await training_outcomes.progress()
    return {
        "from": start.isoformat(), "to": end.isoformat(), "days": days,
        "last_year_from": ly_start.isoformat(), "last_year_to": ly_end.isoformat(),
        "headline": headline,
        "refunds": {"count": refunds.get("orders", 0), "amount_fen": refunds.get("refund_fen", 0)},
        "poor_income": {"income_fen": income, "last_year_income_fen": income_ly, "growth_pct": _growth(income, income_ly)},
        "shared": {k: cur.get(("share", "all"), {}).get(k, 0) for k in ("orders", "units", "gmv_fen")},
        "discounts": {"orders": cur.get(("discounts", "all"), {}).get("orders", 0),
                      **{f"{k}_fen": cur.get(("discounts", k), {}).get("gmv_fen", 0)
                         for k in ("all", "platform", "merchant")}},
        "tables": {name: _table(dim, cur, prev, days) for name, (dim, _) in TABLES.items()},
        "coverage": await coverage(),
        "training_progress": progress.model_dump(mode="json"),
    }


SUMMARY_STALE_FACTOR = 10   # an expired summary is still shown (while it is recounted) up to this many TTLs old


async def summary_cached(start: date, end: date) -> dict:
    """summary() kept for KAZUO_STATS_SUMMARY_CACHE_SECONDS in Redis (the console's statistics page): a
    year of rollups and the coverage and training figures are summed once for every operator. Past its
    seconds (the coverage and training figures move without a rollup), or once any day was rolled up
    again (rollup.NS's version), the kept one is shown while one background task per process sums it
    again (kr.cached_stale): a year of rollups at county scale is ~80 ms of work that no operator's load
    should wait for (a rollup every few minutes used to make the next load wait for it)."""
    check_range(start, end)
    k = kr.key("stats", "summary", start.isoformat(), end.isoformat())
    return await kr.cached_stale(k, runtime.settings().stats_summary_cache_seconds, lambda: summary(start, end),
                                 field="summary", keep_factor=SUMMARY_STALE_FACTOR,
                                 version=str(await kr.namespace_version(rollup.NS)))


async def daily_series(start: date, end: date) -> list[dict]:
    """Per-day headline figures (for charts and the daily export)."""
    check_range(start, end)
    rows = await StatDaily.filter(day__gte=start, day__lte=end, key="all",
                                  dimension__in=("sales", "farm", "live", "refunds", "poor_income")
                                  ).values("day", "dimension", "orders", "gmv_fen", "refund_fen")
    by_day: dict[date, dict] = {}
    for r in rows:
        d = by_day.setdefault(r["day"], {"day": r["day"].isoformat(), "orders": 0, "gmv_fen": 0, "refund_fen": 0,
                                         "farm_gmv_fen": 0, "live_gmv_fen": 0, "poor_income_fen": 0})
        if r["dimension"] == "sales":
            d.update(orders=r["orders"], gmv_fen=r["gmv_fen"], refund_fen=r["refund_fen"])
        elif r["dimension"] in ("farm", "live"):
            d[f"{r['dimension']}_gmv_fen"] = r["gmv_fen"]
        elif r["dimension"] == "poor_income":
            d["poor_income_fen"] = r["gmv_fen"]
    return [by_day[k] for k in sorted(by_day)]


# ---- the big screen (大屏): today, live, cached for every screen at once ---------------------------
async def _today() -> dict:
    today = clock.local_today()
    start, _ = rollup.day_bounds(today)
    lines = await rollup.sold_lines(start, clock.now() + timedelta(minutes=1), (
        "order_id", "product_id", "product_name", "amount", "discount_fen", "quantity", "order__paid_at", "order__station__town",
        "order__address", "order__live_session_id"))
    hours = [0] * 24
    towns: dict[str, dict] = {}
    products: dict[int, dict] = {}
    seen: set[int] = set()
    gmv = live_gmv = 0
    for ln in lines:
        ln["amount"] -= ln["discount_fen"]  # GMV is what the buyer paid for the goods, as in the rollup
        gmv += ln["amount"]
        if ln["order__live_session_id"]:
            live_gmv += ln["amount"]
        hours[ln["order__paid_at"].astimezone(clock.SHANGHAI).hour] += ln["amount"]
        addr = ln["order__address"] if isinstance(ln["order__address"], dict) else {}
        town = ln["order__station__town"] or addr.get("town") or "未知"
        t = towns.setdefault(town, {"town": town, "orders": 0, "gmv_fen": 0})
        t["gmv_fen"] += ln["amount"]
        if ln["order_id"] not in seen:
            seen.add(ln["order_id"])
            t["orders"] += 1
        p = products.setdefault(ln["product_id"], {"product_id": ln["product_id"], "name": ln["product_name"],
                                                   "gmv_fen": 0, "units": 0})
        p["gmv_fen"] += ln["amount"]
        p["units"] += ln["quantity"]
    top = sorted(products.values(), key=lambda p: (-p["gmv_fen"], p["product_id"]))[:10]
    # the newest 20 on air (a session never ended stays "live" and would be the oldest)
    on_air = await LiveSession.filter(status=SessionStatus.LIVE).order_by("-started_at").limit(20).values(
        "id", "title", "started_at", "livestreamer__livestreamer_profile__display_name")
    session_gmv: dict[int, int] = {}
    if on_air:
        for o in await Order.filter(live_session_id__in=[s["id"] for s in on_air], paid_at__isnull=False).values(
                "live_session_id", "goods_fen"):
            session_gmv[o["live_session_id"]] = session_gmv.get(o["live_session_id"], 0) + o["goods_fen"]
    return {
        "date": today.isoformat(), "gmv_fen": gmv, "orders": len(seen), "live_gmv_fen": live_gmv,
        "hourly_gmv_fen": hours,
        "towns": sorted(towns.values(), key=lambda t: (-t["orders"], t["town"]))[:22],
        "top_products": top,
        "live_on_air": [{"id": s["id"], "title": s["title"],
                         "livestreamer": s["livestreamer__livestreamer_profile__display_name"] or "",
                         "started_at": s["started_at"].isoformat() if s["started_at"] else None,
                         "gmv_fen": session_gmv.get(s["id"], 0)}
                        for s in sorted(on_air, key=lambda s: -session_gmv.get(s["id"], 0))],  # biggest first
    }


async def _slow() -> dict:
    """The screen's slower-moving figures (year to date, on-time rate, training): a minute is fresh."""
    today = clock.local_today()
    ytd_start = today.replace(month=1, day=1)
    cur = await _sums(ytd_start, today, ("sales", "farm", "route"))
    prev = await _sums(year_before(ytd_start), year_before(today), ("sales", "farm"))
    week = await _sums(today - timedelta(days=6), today, ("route",))
    s = runtime.settings()
    ytd = {}
    for key, tp in (("sales", s.stats_sales_growth_target_pct), ("farm", s.stats_farm_growth_target_pct)):
        c = cur.get((key, "all"), {}).get("gmv_fen", 0)
        p = prev.get((key, "all"), {}).get("gmv_fen", 0)
        ytd[key] = {"gmv_fen": c, "last_year_gmv_fen": p, "growth_pct": _growth(c, p), "target_growth_pct": tp}
    total = sum(v["total"] for (d, _), v in week.items() if d == "route")
    hits = sum(v["hits"] for (d, _), v in week.items() if d == "route")
    routes = sorted(({"label": v["label"], "rate_pct": _pct(v["hits"], v["total"]), "total": v["total"]}
                     for (d, _), v in week.items() if d == "route" and v["total"]), key=lambda r: -r["total"])[:8]
    progress = await training_outcomes.progress()
    cov = await coverage()
    return {"ytd": ytd, "on_time": {"days": 7, "rate_pct": _pct(hits, total), "total": total, "routes": routes},
            "training": progress.model_dump(mode="json"),
            "coverage": [{k: r[k] for k in ("key", "label", "percent", "target_pct", "met")} for r in cov["rows"]],
            "monthly": await monthly_series(today, TREND_MONTHS),
            # 农产品上行: the year's first-mile collections (#26)
            "collection": (await collection_service.stats(ytd_start, today)).model_dump(mode="json")}


TREND_MONTHS = 24


async def monthly_series(last_day: date, months: int) -> list[dict]:
    """Per-month GMV and orders of the `months` calendar months up to last_day's (the daily series
    summed by month; months without figures are zero, so a gap shows as one)."""
    first = last_day.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    sums: dict[str, dict] = {}
    d = first
    while d <= last_day:
        sums[d.strftime("%Y-%m")] = {"month": d.strftime("%Y-%m"), "gmv_fen": 0, "orders": 0}
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    for row in await daily_series(first, last_day):
        m = sums[row["day"][:7]]
        m["gmv_fen"] += row["gmv_fen"]
        m["orders"] += row["orders"]
    return list(sums.values())


_loading: dict[str, asyncio.Lock] = {}


async def _cached_once(k: str, ttl: int, loader) -> Any:
    """Read-through cache where one request per process recomputes an expired value and the others
    wait for it (every screen polls at once: without this each poll at expiry recomputed it)."""
    hit = await kr.cache_get(k)
    if hit is not None:
        return hit
    async with _loading.setdefault(k, asyncio.Lock()):
        return await kr.cached(k, ttl, loader)


async def screen_figures() -> dict:
    """What the big screen polls: today's figures (a few seconds fresh) and the slower ones."""
    s = runtime.settings()
    today = await _cached_once(kr.key("stats", "screen", "today"), s.stats_screen_cache_seconds, _today)
    slow = await _cached_once(kr.key("stats", "screen", "slow"), 60, _slow)
    slow = {**slow, "complaints": await _cached_once(kr.key("stats", "screen", "complaints"), 60,
                                                   complaints_service.screen_figures)}  # (#26)
    # the festival campaign running now and its figures (#28), as fresh as today's
    campaign = await _cached_once(kr.key("stats", "screen", "campaign"), s.stats_screen_cache_seconds,
                                  _running_campaign)
    return {"now": clock.now().isoformat(), "poll_seconds": s.stats_screen_poll_seconds, "today": today, **slow,
            "campaign": campaign or None}


async def _running_campaign() -> dict:
    return await campaigns.screen_figures() or {}


async def rollup_range(start: date, end: date) -> int:
    """Enqueue a rollup job for every day of [start, end] (re-computation after a correction)."""
    check_range(start, end)
    if (end - start).days > 400:
        raise ValidationFailed.field("to", "at most 400 days per request")
    if start > clock.local_today():
        raise ValidationFailed.field("from", "must not be in the future")
    end = min(end, clock.local_today())
    n, d, minute = 0, start, int(clock.now().timestamp() // 60)
    while d <= end:
        # The minute in the job id: repeated clicks collapse, a later correction still re-runs the day.
        enqueue("stats.rollup_day", d.isoformat(), job_id=f"stats:rollup:{d.isoformat()}:{minute}")
        d += timedelta(days=1)
        n += 1
    return n


def flatten(summary_: dict, name: str) -> tuple[list[str], list[list[Any]]]:
    """One table of a summary as a header row and value rows (for CSV and xlsx)."""
    if name == "headline":
        cols = ["key", "label", "orders", "units", "gmv_fen", "refund_fen", "net_fen", "last_year_gmv_fen",
                "gmv_growth_pct", "target_growth_pct", "target_gmv_fen", "target_met", "target_progress_pct"]
        return cols, [[r.get(c) for c in cols] for r in summary_["headline"]]
    if name == "coverage":
        cols = ["key", "label", "covered", "total", "percent", "target_pct", "met"]
        return cols, [[r.get(c) for c in cols] for r in summary_["coverage"]["rows"]]
    if name == "training_progress":
        p = summary_["training_progress"]
        cols = ["section", "key", "label", "target", "actual", "percent"]
        rows = [["total", *[p["total"].get(c) for c in cols[1:]]]]
        rows += [["track", *[r.get(c) for c in cols[1:]]] for r in p["tracks"]]
        rows += [["group", *[r.get(c) for c in cols[1:]]] for r in p["groups"]]
        return cols, rows
    if name == "poor_income":
        pi = summary_["poor_income"]
        return list(pi), [list(pi.values())]
    rows = summary_["tables"][name]
    cols = list(rows[0]) if rows else ["key", "label", *SUM_COLS]
    return cols, [[r.get(c) for c in cols] for r in rows]


EXPORTS = ("headline", "poor_income", "coverage", "training_progress", *TABLES, "daily")
EXPORT_TITLES = {"headline": "总览与目标", "poor_income": "贫困户收入", "coverage": "服务站覆盖率",
                 "training_progress": "培训目标进度", "daily": "每日", **{k: v[1] for k, v in TABLES.items()}}
# first-mile collections (农产品上行, #26): the period's collections per town and village (exports.py)
EXPORTS = (*EXPORTS, "collections")
EXPORT_TITLES["collections"] = "农产品上行揽收"
