"""Daily rollups (日汇总): one Asia/Shanghai calendar day of every figure the county office reports,
computed from the source tables and upserted into stats_daily by (day, dimension, key).

Re-running a day rewrites exactly its rows (stale keys are deleted), so the job is idempotent and can
be run for any past day after a correction. Definitions (the same everywhere in server/stats):
  * a sale (网络交易额) belongs to the day its order was PAID — the day its sale was posted to the
    settlement ledger, in the same transaction; GMV is what the buyer paid for the goods: the order
    lines' amounts less their coupon savings (fen, live prices included; freight not counted); the
    savings are their own figure (dimension discounts);
  * a refund belongs to the day it SUCCEEDED and is attributed to the lines it names; the automatic
    refund of a stray payment (kind=stray) is not a sales refund: that money never became a sale;
  * income reaching poor households (贫困户增收) is the settlement ledger's merchant share (net of
    reversals) posted that day to merchants marked as registered poor households;
  * a training person-time (人次) belongs to the day of the trainee's first sign-in to the session,
    so the days sum to the training capability's progress figure;
  * a delivery promise belongs to the day it was due; it counts once its outcome is known (met, or
    due and not met), and it is on time when it was met by its deadline.

Dimensions and what the columns hold:
  sales/all, farm/all, poor_household/all, live/all, category/<top category id>, town/<origin town>,
  merchant_kind/<kind>, product/<product id>, dest_town/<destination town>:
      orders, units, gmv_fen, refund_fen (live/all: total = sessions started that day);
      sales/all: total = distinct buyers
  station/<station id>:  orders = pickup orders paid for it, total = parcels received, hits = picked up
  route/<leg>:<town station id>: total = promises with a known outcome, hits = met on time
  training_track/<track>, training_group/<group>:  total = person-times
  active/<merchants|livestreamers|trainees|buyers>:  total = distinct that day
  refunds/all:  orders = refunds, refund_fen = amount
  poor_income/all:  gmv_fen = merchant share posted to poor-household merchants (net)
  share/all:  orders, units, gmv_fen of the day's sales whose order a share brought (server/sharing)
  discounts/<all|platform|merchant>:  orders = orders paid that day with a coupon saving, units = the
      lines' units, gmv_fen = the saving (fen) in all / funded by the platform / by the shops
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from server.kit import clock
from server.kit import redis as kr
from server.kit.db import atomic
from server.models.catalog import Category
from server.models.ledger import LedgerEntry
from server.models.live import LiveSession
from server.models.merchants import Merchant
from server.models.fulfillment import DeliveryPromise
from server.models.orders import OrderLine
from server.models.payments import Refund, RefundStatus
from server.models.pickup import Pickup
from server.models.stations import Station
from server.models.stats import StatDaily
from server.models.training import SignIn, Trainee, TrainingSession
from server.sharing import service as sharing
from server.training import outcomes as training_outcomes

NS = "stats_rollups"  # the cache namespace of everything summed from the rollups (bumped by rollup_day)
MERCHANT_KINDS = {"household": "农户", "cooperative": "合作社", "enterprise": "企业"}
LEGS = {"county_town": "县→乡", "town_village": "乡→村", "county_village": "县→村"}
ACTIVE = {"merchants": "活跃商户", "livestreamers": "活跃主播", "trainees": "参训学员", "buyers": "下单买家"}
SUMMARY_LABELS = {"sales": "网络零售额(特色馆)", "farm": "农产品网络零售额", "poor_household": "贫困户商户销售额",
                  "live": "直播带货", "refunds": "退款", "poor_income": "贫困户结算收入",
                  "share": "分享带来的销售", "discounts": "优惠券减免"}
DISCOUNT_LABELS = {"all": "优惠券减免", "platform": "平台券减免", "merchant": "店铺券减免"}
LINE_FIELDS = ("id", "order_id", "amount", "discount_fen", "platform_discount_fen", "quantity", "merchant_id", "product_id", "product_name",
               "order__buyer_id", "order__station_id", "order__fulfilment", "order__address",
               "order__live_session_id", "order__livestreamer_id", "product__category_id", "product__origin_town",
               "merchant__kind", "merchant__is_poor_household", "merchant__town")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of an Asia/Shanghai calendar day."""
    start = datetime.combine(day, time(0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC)
    return start, start + timedelta(days=1)


@dataclass
class Row:
    label: str = ""
    orders: int = 0
    units: int = 0
    gmv_fen: int = 0
    refund_fen: int = 0
    total: int = 0
    hits: int = 0


class _Acc:
    """Rows of one day keyed by (dimension, key); order counts are distinct order ids per row."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.order_ids: dict[tuple[str, str], set[int]] = defaultdict(set)

    def row(self, dim: str, key: object, label: str = "") -> Row:
        k = (dim, str(key)[:64])
        r = self.rows.get(k)
        if r is None:
            r = self.rows[k] = Row(label=(label or str(key))[:64])
        return r

    def sale(self, dim: str, key: object, label: str, line: dict) -> None:
        r = self.row(dim, key, label)
        r.units += line["quantity"]
        r.gmv_fen += line["amount"] - line["discount_fen"]  # what the buyer paid for the goods
        self.order_ids[(dim, str(key)[:64])].add(line["order_id"])

    def finish(self) -> dict[tuple[str, str], Row]:
        for k, ids in self.order_ids.items():
            self.rows[k].orders = len(ids)
        return self.rows


class _Catalog:
    """Category tree lookups: the top-level category of a category and whether it is a farm product."""

    def __init__(self, cats: list[dict]):
        self.by_id = {c["id"]: c for c in cats}

    def top(self, cat_id: int | None) -> dict | None:
        c, seen = self.by_id.get(cat_id), 0
        while c and c["parent_id"] and seen < 10:  # a bounded walk: a cycle must not hang the job
            c, seen = self.by_id.get(c["parent_id"], c), seen + 1
            if not c["parent_id"]:
                break
        return c

    def is_farm(self, cat_id: int | None) -> bool:
        c, top = self.by_id.get(cat_id), self.top(cat_id)
        return bool((c and c["is_farm_product"]) or (top and top["is_farm_product"]))


def _dest_town(line: dict, stations: dict[int, dict]) -> str:
    sid = line["order__station_id"]
    if sid and sid in stations:
        return stations[sid]["town"] or stations[sid]["name"]
    addr = line["order__address"] or {}
    return (addr.get("town") if isinstance(addr, dict) else "") or "未知"


def _sale_dims(acc: _Acc, line: dict, cat: _Catalog) -> None:
    """The per-line breakdowns shared by sales and refunds."""
    top = cat.top(line["product__category_id"])
    if top:
        acc.sale("category", top["id"], top["name"], line)
    town = line["product__origin_town"] or line["merchant__town"] or "未知"
    acc.sale("town", town, town, line)
    kind = line["merchant__kind"] or ""
    acc.sale("merchant_kind", kind, MERCHANT_KINDS.get(kind, kind), line)
    if cat.is_farm(line["product__category_id"]):
        acc.sale("farm", "all", SUMMARY_LABELS["farm"], line)
    if line["merchant__is_poor_household"]:
        acc.sale("poor_household", "all", SUMMARY_LABELS["poor_household"], line)


async def sold_lines(start: datetime, end: datetime, fields: tuple[str, ...] = LINE_FIELDS) -> list[dict]:
    """The order lines sold (paid) in [start, end), found through the ledger: every paid line has
    exactly one merchant_share posting, made in the transaction that applied the payment, and the
    ledger is indexed by time (order_lines has no index on order_id, so a join from orders.paid_at
    would scan every line ever sold)."""
    ids = await LedgerEntry.filter(created_at__gte=start, created_at__lt=end, kind="merchant_share",
                                   order_line_id__isnull=False).values_list("order_line_id", flat=True)
    out: list[dict] = []
    ids = sorted(set(ids))
    for i in range(0, len(ids), 5000):
        out += await OrderLine.filter(id__in=ids[i:i + 5000]).values(*fields)
    return out


async def compute_day(day: date) -> dict[tuple[str, str], Row]:
    """Every figure of one day, from the source tables (read-only)."""
    start, end = day_bounds(day)
    cat = _Catalog(await Category.all().values("id", "name", "parent_id", "is_farm_product"))
    stations = {s["id"]: s for s in await Station.all().values("id", "name", "town", "level")}
    acc = _Acc()

    lines = await sold_lines(start, end)
    buyers, merchants, streamers = set(), set(), set()
    for ln in lines:
        acc.sale("sales", "all", SUMMARY_LABELS["sales"], ln)
        _sale_dims(acc, ln, cat)
        acc.sale("product", ln["product_id"], ln["product_name"], ln)
        dest = _dest_town(ln, stations)
        acc.sale("dest_town", dest, dest, ln)
        if ln["order__live_session_id"]:
            acc.sale("live", "all", SUMMARY_LABELS["live"], ln)
            if ln["order__livestreamer_id"]:
                streamers.add(ln["order__livestreamer_id"])
        sid = ln["order__station_id"]
        if sid and ln["order__fulfilment"] == "pickup" and sid in stations:
            acc.sale("station", sid, stations[sid]["name"], ln)
        buyers.add(ln["order__buyer_id"])
        merchants.add(ln["merchant_id"])
    acc.row("sales", "all", SUMMARY_LABELS["sales"]).total = len(buyers)
    # Coupon savings (优惠券减免, #28): their own figure, by who funded them.
    for ln in lines:
        if ln["discount_fen"]:
            platform = ln["platform_discount_fen"]
            for key, saved in (("all", ln["discount_fen"]), ("platform", platform),
                               ("merchant", ln["discount_fen"] - platform)):
                if saved:
                    acc.sale("discounts", key, DISCOUNT_LABELS[key],
                             {**ln, "amount": saved, "discount_fen": 0})
    # Sales a share brought (分享带来的订单, #29: one level, no commission).
    shared = await sharing.attributed_orders({ln["order_id"] for ln in lines})
    for ln in lines:
        if ln["order_id"] in shared:
            acc.sale("share", "all", SUMMARY_LABELS["share"], ln)

    # Refunds, attributed to the lines they name.
    refunds = await Refund.filter(status=RefundStatus.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end,
                                  kind="order").values("id", "amount_fen", "lines")
    line_ids = {int(x["line_id"]) for r in refunds for x in (r["lines"] or []) if "line_id" in x}
    ref_lines = {ln["id"]: ln for ln in await OrderLine.filter(id__in=line_ids).values(*LINE_FIELDS)} \
        if line_ids else {}
    rf = acc.row("refunds", "all", SUMMARY_LABELS["refunds"])
    refund_acc = _Acc()
    for r in refunds:
        rf.orders += 1
        rf.refund_fen += r["amount_fen"]
        for x in r["lines"] or []:
            ln = ref_lines.get(int(x.get("line_id", 0)))
            if ln is None:
                continue
            # a refund part's amount is already what was paid back (net of the line's coupons)
            part = {**ln, "amount": int(x.get("amount", 0)), "discount_fen": 0, "quantity": int(x.get("qty", 0))}
            _sale_dims(refund_acc, part, cat)
            if ln["order__live_session_id"]:
                refund_acc.sale("live", "all", SUMMARY_LABELS["live"], part)
    for (dim, key), r in refund_acc.finish().items():
        acc.row(dim, key, r.label).refund_fen += r.gmv_fen
    if refunds:
        acc.row("sales", "all", SUMMARY_LABELS["sales"]).refund_fen = rf.refund_fen

    # Livestream sessions that went on air this day (直播场次).
    sessions = await LiveSession.filter(started_at__gte=start, started_at__lt=end).values("id", "livestreamer_id")
    live = acc.row("live", "all", SUMMARY_LABELS["live"])
    live.total = len(sessions)
    streamers |= {s["livestreamer_id"] for s in sessions}

    # Stations: pickups received and picked up (自提核销).
    for p in await Pickup.filter(received_at__gte=start, received_at__lt=end).values("station_id"):
        if p["station_id"] in stations:
            acc.row("station", p["station_id"], stations[p["station_id"]]["name"]).total += 1
    for p in await Pickup.filter(picked_up_at__gte=start, picked_up_at__lt=end).values("station_id"):
        if p["station_id"] in stations:
            acc.row("station", p["station_id"], stations[p["station_id"]]["name"]).hits += 1

    # Delivery promises due this day, by route (leg + town).
    now = clock.now()
    for p in await DeliveryPromise.filter(due_at__gte=start, due_at__lt=end).values(
            "leg", "town_station_id", "due_at", "met_at"):
        if p["met_at"] is None and p["due_at"] > now:
            continue  # still in time: not known yet
        town = stations.get(p["town_station_id"], {}).get("town", "") if p["town_station_id"] else ""
        r = acc.row("route", f"{p['leg']}:{p['town_station_id'] or 0}",
                    f"{LEGS.get(p['leg'], p['leg'])} {town}".strip())
        r.total += 1
        r.hits += int(p["met_at"] is not None and p["met_at"] <= p["due_at"])

    # Training person-times (人次) whose first sign-in was this day.
    todays = await SignIn.filter(day=day).values_list("session_id", "trainee_id")
    trainees_today = {t for _, t in todays}
    pairs = set(todays)
    if pairs:
        earlier = set(await SignIn.filter(day__lt=day, session_id__in={s for s, _ in pairs},
                                          trainee_id__in=trainees_today).values_list("session_id", "trainee_id"))
        pairs -= earlier
    if pairs:
        track_of = dict(await TrainingSession.filter(id__in={s for s, _ in pairs}).values_list("id", "course__track"))
        people = {t["id"]: t for t in await Trainee.filter(id__in={t for _, t in pairs}).values("id", "groups")}
        for sid, tid in pairs:
            track = track_of.get(sid)
            if track is None or tid not in people:
                continue
            acc.row("training_track", track, training_outcomes.TRACK_LABELS.get(track, track)).total += 1
            for g in set(people[tid]["groups"] or []):
                acc.row("training_group", g, training_outcomes.GROUP_LABELS.get(g, g)).total += 1

    # Income reaching registered poor households: the ledger's merchant share, net of reversals.
    poor = list(await Merchant.filter(is_poor_household=True).values_list("id", flat=True))
    if poor:
        amounts = await LedgerEntry.filter(created_at__gte=start, created_at__lt=end, account_type="merchant",
                                           account_id__in=poor,
                                           kind__in=("merchant_share", "merchant_share_reversal")
                                           ).values_list("amount_fen", flat=True)
        if amounts:
            acc.row("poor_income", "all", SUMMARY_LABELS["poor_income"]).gmv_fen = sum(amounts)

    for name, ids in (("merchants", merchants), ("livestreamers", streamers), ("trainees", trainees_today),
                      ("buyers", buyers)):
        if ids:
            acc.row("active", name, ACTIVE[name]).total = len(ids)
    return acc.finish()


async def rollup_day(day: date) -> int:
    """Recompute one day's rows and upsert them (idempotent); returns the number of rows kept."""
    rows = await compute_day(day)
    now = clock.now()
    objs = [StatDaily(day=day, dimension=dim, key=key, label=r.label, orders=r.orders, units=r.units,
                      gmv_fen=r.gmv_fen, refund_fen=r.refund_fen, total=r.total, hits=r.hits, computed_at=now)
            for (dim, key), r in sorted(rows.items())]
    async with atomic() as conn:
        existing = await StatDaily.filter(day=day).using_db(conn).values_list("id", "dimension", "key")
        stale = [i for i, dim, key in existing if (dim, key) not in rows]
        if stale:
            await StatDaily.filter(id__in=stale).using_db(conn).delete()
        if objs:
            # Upsert: two runs of the same day at once both succeed and leave the same rows.
            await StatDaily.bulk_create(objs, batch_size=500, on_conflict=["day", "dimension", "key"],
                                        update_fields=["label", "orders", "units", "gmv_fen", "refund_fen",
                                                       "total", "hits", "computed_at"], using_db=conn)
    # Cached summaries built on the rollups (stats.service.summary_cached) are stale from now on.
    await kr.bump_namespace(NS)
    return len(objs)
