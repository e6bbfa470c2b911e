"""Demo history (演示历史数据): a realistic stretch of the county's online trade, written in bulk so the
dashboard and the growth figures show something true to their computation on a first run.

    from server.stats import demo_history
    await demo_history.generate(orders=100_000, days=730)   # after lifecycle.start(); CLI-callable

What it writes, consistent with the rest of the system:
  * buyers, extra merchants across the 22 towns (households, cooperatives, enterprises; some registered
    poor households) with products in the demo categories;
  * orders (status completed, or closed when fully refunded) paid over `days` days: a year-on-year
    trend (about +27% for all goods, +38% for farm products), seasons (fruit and vegetables peak July
    to October, grains after the autumn harvest, vinegar and pottery before the Spring Festival),
    weekends, 618 and Double 11 peaks, livestream evenings (sessions three times a week whose orders
    carry the session and livestreamer);
  * order lines, the settlement ledger's sale postings (the same split as server.ledger), refunds with
    their reversals (so every order's entries sum to paid - refunded), pickups verified at their
    stations, warehouse tasks, parcels and delivery promises (met or late by route);
  * training sessions by track with enrolments and sign-ins over the period;
  * then the daily rollups of every generated day.
PostgreSQL: COPY (asyncpg copy_records_to_table) with id blocks reserved from each sequence; SQLite
(embedded default): bulk INSERTs. Calling it again adds more history (unless `only_if_empty`)."""
from __future__ import annotations

import bisect
import logging
import math
import random
import time as _time
from datetime import date, datetime, timedelta
from typing import Any, Callable

import orjson
from tortoise import Tortoise
from tortoise.fields.data import JSONField

from server.inventory import service as inventory
from server.kit import clock, runtime
from server.kit.db import atomic
from server.ledger import service as ledger
from server.models.accounts import User
from server.models.catalog import Category, Product, Sku
from server.models.fulfillment import DeliveryPromise, FulfillmentTask, Parcel
from server.models.inventory import StockReason
from server.models.ledger import LedgerEntry
from server.models.live import LiveRoom, LiveSession, LivestreamerProfile
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.payments import Refund
from server.models.pickup import Pickup
from server.models.stations import Station
from server.models.training import Course, Enrolment, SignIn, Trainee, TrainingSession
from server.stats import rollup
from server import demo

log = logging.getLogger("kazuo.stats.history")

# progress(step, done, total): called as the history is written (the CLI draws it).
Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None

# Month weights (Jan..Dec) by top category slug: 果蔬 in summer and autumn, 杂粮 after the harvest,
# 陈醋 and 紫砂 as New Year / Spring Festival gifts, 民俗文旅 with the tourist season.
SEASONS = {
    "produce": [0.3, 0.3, 0.4, 0.5, 0.7, 1.0, 1.6, 2.0, 2.2, 1.8, 0.8, 0.4],
    "grains": [1.3, 1.0, 0.6, 0.5, 0.5, 0.5, 0.6, 0.7, 1.0, 1.8, 2.0, 1.6],
    "vinegar": [1.8, 1.5, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.3, 1.0, 1.0, 1.4],
    "zisha": [1.6, 1.4, 0.7, 0.7, 0.8, 0.8, 0.7, 0.7, 1.1, 1.0, 1.3, 1.6],
    "folk": [0.6, 0.9, 0.6, 0.8, 1.3, 1.3, 1.6, 1.7, 1.2, 1.4, 0.6, 0.5],
}
SALES_GROWTH, FARM_GROWTH = 1.27, 1.38  # yearly, a little above the plan's +20% / +30%
HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4.5, 4.5, 3.5, 3, 3, 3.2, 3.5, 3.5, 4, 5.5, 6.5, 6.5, 5, 2.5]
LIVE_HOURS = (19, 20, 21, 22)
TRAINING_PLAN = [("basic", 24, 60), ("intermediate", 10, 50), ("advanced", 4, 40), ("cadre", 3, 40),
                 ("cross_border", 2, 30), ("livestream", 4, 30), ("lecturer", 1, 20)]
GROUP_MIX = ["returning_graduate", "returning_migrant", "veteran", "left_behind_woman", "disabled",
             "poor_household", "village_cadre", "station_head"]
EXTRA_MERCHANTS = [  # name stem, kind, category slug, poor?
    ("小米合作社", "cooperative", "grains", False), ("设施蔬菜合作社", "cooperative", "produce", True),
    ("南果梨种植户", "household", "produce", True), ("山杏仁加工厂", "enterprise", "grains", False),
    ("陈醋酿造坊", "enterprise", "vinegar", False), ("紫砂陶艺社", "cooperative", "zisha", False),
    ("蒙古族刺绣坊", "household", "folk", True), ("黄米家庭农场", "household", "grains", True),
    ("寒富苹果合作社", "cooperative", "produce", False), ("荞麦面作坊", "household", "grains", True),
]
PRODUCTS_BY_CAT = {
    "produce": [("南果梨", 3990), ("寒富苹果", 4590), ("设施番茄", 2590), ("山杏", 3290), ("黄瓜", 1990)],
    "grains": [("喀左小米", 3580), ("黄米", 2980), ("荞麦", 2680), ("绿豆", 2280), ("高粱米", 1980)],
    "vinegar": [("五年陈醋", 5800), ("饺子醋", 1580), ("礼盒陈醋", 12800)],
    "zisha": [("紫砂壶", 39800), ("紫砂茶杯", 8800), ("紫砂花盆", 6800)],
    "folk": [("蒙古族剪纸", 6800), ("刺绣挂件", 9800), ("民宿体验券", 29800)],
}


# ---- bulk writing ---------------------------------------------------------------------------------
def _is_pg() -> bool:
    return not runtime.settings().embedded_db


async def _reserve_ids(model, n: int) -> int:
    """The first id of a block of n ids reserved for this writer."""
    conn = Tortoise.get_connection("default")
    table = model._meta.db_table
    if _is_pg():
        rows = await conn.execute_query_dict(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), nextval(pg_get_serial_sequence('{table}', 'id'))"
            f" + {n - 1}) AS last")
        return int(rows[0]["last"]) - n + 1
    rows = await conn.execute_query_dict(f"SELECT COALESCE(MAX(id), 0) AS m FROM {table}")
    return int(rows[0]["m"]) + 1


def _columns(model) -> list[tuple[str, str, Any]]:
    """(attribute, column, field) of every stored column of a model, FK ids included."""
    meta = model._meta
    out = []
    for name, column in meta.fields_db_projection.items():
        out.append((name, column, meta.fields_map[name]))
    return out


def _default(field) -> Any:
    d = field.default
    return d() if callable(d) else d


async def _write(model, rows: list[dict]) -> None:
    """Insert rows (dicts keyed by attribute, FK as <name>_id; missing = the field's default)."""
    if not rows:
        return
    cols = _columns(model)
    if _is_pg():
        # Per column: the attribute, a constant default (or a factory), and whether it is JSON.
        plan = [(name, _default(f) if not callable(f.default) else None, callable(f.default),
                 isinstance(f, JSONField), f) for name, _, f in cols]
        dumps = orjson.dumps

        def value(r: dict, name: str, const: Any, factory: bool, is_json: bool, f: Any) -> Any:
            v = r.get(name, const) if name in r or not factory else _default(f)
            return dumps(v).decode() if is_json and v is not None else v

        records = [tuple([value(r, *c) for c in plan]) for r in rows]
        conn = Tortoise.get_connection("default")
        async with conn.acquire_connection() as raw:
            for i in range(0, len(records), 100_000):
                await raw.copy_records_to_table(model._meta.db_table, records=records[i:i + 100_000],
                                                columns=[c for _, c, _ in cols])
    else:
        for i in range(0, len(rows), 2000):
            await model.bulk_create([model(**r) for r in rows[i:i + 2000]])


# ---- reference data ------------------------------------------------------------------------------
async def _base(rng: random.Random) -> dict:
    """Stations, categories, merchants, products and buyers the history draws from (idempotent)."""
    if not await Station.filter(level="town").exists():
        await demo.seed()
    cats = {c.slug: c for c in await Category.all()}
    towns = list(await Station.filter(level="town", status="active").values("id", "town", "name"))
    villages = list(await Station.filter(level="village", status="active").values("id", "town", "parent_id"))
    town_names = [t["town"] for t in towns] or ["利州街道"]
    for i, (stem, kind, slug, poor) in enumerate(EXTRA_MERCHANTS * 3):
        town = town_names[(i * 7) % len(town_names)]
        m, created = await Merchant.get_or_create(licence_no=f"HIST{i:04d}", defaults=dict(
            name=f"{town}{stem}", kind=kind, status="active", town=town, is_poor_household=poor,
            contact_name="演示"))
        cat = cats.get(slug) or next(iter(cats.values()))
        if created:
            for pname, price in PRODUCTS_BY_CAT[slug]:
                p = await Product.create(merchant=m, category=cat, name=f"{pname}·{town[:2]}", status="on_sale",
                                         visible=True, origin_town=town, min_price=price, published_at=clock.now(),
                                         search_text=f"{pname} {town}".lower(), images=["/media/demo.jpg"])
                async with atomic() as conn:
                    sku = await Sku.create(product=p, spec="标准装", price=price, list_price=price + price // 5,
                                           weight_g=1000, cold_chain=slug == "produce", using_db=conn)
                    await inventory.restock(conn, [inventory.Move(sku.id, 5000, "sku", sku.id)],
                                            StockReason.CREATE)
    top_slug = {}
    by_id = {c.id: c for c in cats.values()}
    for c in cats.values():
        top = c
        while top.parent_id and top.parent_id in by_id:
            top = by_id[top.parent_id]
        top_slug[c.id] = top.slug
    skus = await Sku.filter(is_active=True, product__status="on_sale").values(
        "id", "price", "spec", "product_id", "product__name", "product__merchant_id", "product__category_id",
        "cold_chain", "product__origin_town", "product__merchant__town")
    products = []
    seen = set()
    for s in skus:
        if s["product_id"] in seen:
            continue
        seen.add(s["product_id"])
        slug = top_slug.get(s["product__category_id"], "")
        farm = bool(cats.get(slug) and cats[slug].is_farm_product)
        products.append({**s, "slug": slug, "farm": farm})
    n_buyers = 3000
    have = await User.filter(openid__startswith="hist-buyer-").count()
    if have < n_buyers:
        await User.bulk_create([User(openid=f"hist-buyer-{i}") for i in range(have, n_buyers)], batch_size=1000)
    buyers = list(await User.filter(openid__startswith="hist-buyer-").values_list("id", flat=True))
    streamers = []
    for i, name in enumerate(["喀左小米姐", "紫砂匠人老李", "果园阿强"]):
        u, _ = await User.get_or_create(openid=f"hist-streamer-{i}")
        await LivestreamerProfile.get_or_create(user=u, defaults={"display_name": name, "incubation_base": True})
        room, _ = await LiveRoom.get_or_create(owner=u, title=f"{name}的直播间",
                                               defaults={"on_behalf": "incubation_base", "default_commission_bp": 800})
        streamers.append((u.id, room.id))
    return {"towns": towns, "villages": villages, "products": products, "buyers": buyers, "streamers": streamers}


# ---- the history ---------------------------------------------------------------------------------
def _day_weight(d: date, end: date, farm_share: float) -> float:
    years_back = (end - d).days / 365.0
    growth = (1 - farm_share) * SALES_GROWTH ** -years_back + farm_share * FARM_GROWTH ** -years_back
    w = growth * (1.15 if d.weekday() >= 5 else 1.0)
    if (d.month, d.day) == (11, 11):
        w *= 4.0
    elif d.month == 11 and 1 <= d.day <= 12:
        w *= 1.4
    elif (d.month, d.day) == (6, 18):
        w *= 2.5
    return w


def _pick(rng: random.Random, cum: list[float], items: list) -> Any:
    return items[bisect.bisect_left(cum, rng.random() * cum[-1])]


def _cum(weights: list[float]) -> list[float]:
    out, t = [], 0.0
    for w in weights:
        t += w
        out.append(t)
    return out


CHUNK = 100_000  # orders held in memory at once (about 0.6 GB of rows per chunk)


async def generate(*, orders: int = 20_000, days: int = 730, end: date | None = None, seed: int = 7,
                   only_if_empty: bool = False, rollups: bool = True, progress: Progress = _quiet) -> dict:
    """Write `orders` paid orders over the `days` days ending `end` (default today, up to now), with everything
    that goes with them, then roll the days up. Returns counts and timings; reports its steps to progress."""
    if only_if_empty and await Order.filter(order_no__startswith="H").exists():
        return {"skipped": True, "orders": await Order.filter(order_no__startswith="H").count()}
    if orders <= CHUNK:
        return await _generate(orders=orders, days=days, end=end, seed=seed, rollups=rollups, training=True,
                               progress=progress)
    t0 = _time.perf_counter()
    end = end or clock.local_today()
    total: dict[str, Any] = {}
    secs = {"generate": 0.0, "write": 0.0}
    for i, n in enumerate([CHUNK] * (orders // CHUNK) + ([orders % CHUNK] if orders % CHUNK else [])):
        out = await _generate(orders=n, days=days, end=end, seed=seed + 7919 * i, rollups=False, training=i == 0,
                              progress=progress)
        for k, v in out.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
        for k in secs:
            secs[k] += out["seconds"][k]
        total["from"], total["to"] = out["from"], out["to"]
    t_roll = _time.perf_counter()
    if rollups:
        for i in range(days):
            await rollup.rollup_day(end - timedelta(days=i))
            progress("daily rollups", i + 1, days)
    secs["rollups"] = _time.perf_counter() - t_roll
    secs["total"] = _time.perf_counter() - t0
    total["seconds"] = {k: round(v, 2) for k, v in secs.items()}
    return total


async def _generate(*, orders: int, days: int, end: date | None, seed: int, rollups: bool, training: bool,
                    progress: Progress = _quiet) -> dict:
    t0 = _time.perf_counter()
    rng = random.Random(seed + orders + days)
    base = await _base(rng)
    products = base["products"]
    if not products:
        raise RuntimeError("no products on sale to build a history from (run seed-demo first)")
    s = runtime.settings()
    end = end or clock.local_today()
    start = end - timedelta(days=days - 1)
    now = clock.now()
    all_days = [start + timedelta(days=i) for i in range(days)]
    farm_share = sum(p["farm"] for p in products) / len(products)
    weights = [_day_weight(d, end, farm_share) for d in all_days]
    if end == clock.local_today():
        # Today so far: its share in proportion to the hours gone (the screen then shows a real morning).
        local_now = now.astimezone(clock.SHANGHAI)
        weights[-1] *= max(0.02, (local_now.hour * 60 + local_now.minute) / 1440)
    day_cum = _cum(weights)
    # Per month: products weighted by season and by their own growth (farm products grow faster).
    month_cum: dict[tuple[int, int], list[float]] = {}

    def product_cum(d: date) -> list[float]:
        k = (d.year, d.month)
        if k not in month_cum:
            yb = (end - d).days / 365.0
            month_cum[k] = _cum([SEASONS.get(p["slug"], [1.0] * 12)[d.month - 1]
                                 * ((FARM_GROWTH if p["farm"] else SALES_GROWTH) ** -yb)
                                 / ((1 - farm_share) * SALES_GROWTH ** -yb + farm_share * FARM_GROWTH ** -yb)
                                 for p in products])
        return month_cum[k]

    # Live sessions: Tuesday, Friday and Saturday evenings, more in November.
    live_days = {d for d in all_days if d.weekday() in (1, 4, 5) or (d.month == 11 and d.day <= 11)}
    sessions = []
    first_session = await _reserve_ids(LiveSession, max(1, len(live_days)))
    for i, d in enumerate(sorted(live_days)):
        uid, room = base["streamers"][i % len(base["streamers"])]
        st = datetime(d.year, d.month, d.day, 19, 30, tzinfo=clock.SHANGHAI).astimezone(clock.UTC)
        sessions.append({"id": first_session + i, "room_id": room, "livestreamer_id": uid,
                         "title": f"喀左好物直播 {d.isoformat()}", "scheduled_at": st, "status": "ended",
                         "stream_name": f"hist-{seed}-{first_session + i}", "commission_bp": 800, "started_at": st,
                         "ended_at": st + timedelta(hours=3), "ended_by": "host", "created_at": st,
                         "updated_at": st + timedelta(hours=3)})
    session_of_day = {datetime.fromisoformat(x["title"].rsplit(" ", 1)[1]).date(): x for x in sessions}
    await _write(LiveSession, sessions)

    villages, towns = base["villages"], base["towns"]
    town_by_station = {v["id"]: v["town"] for v in villages} | {t["id"]: t["town"] for t in towns}
    town_station_of = {t["town"]: t["id"] for t in towns}
    pickup_points = villages + towns
    # Remote towns get a worse on-time rate (a little over 90%), the near ones close to 99%.
    late_rate = {t["town"]: 0.01 + 0.08 * ((i * 37) % 11) / 10 for i, t in enumerate(towns)}

    order_id0 = await _reserve_ids(Order, orders)
    rows_o, rows_l, rows_le, rows_pk, rows_t, rows_p, rows_dp, rows_r = [], [], [], [], [], [], [], []
    line_id = await _reserve_ids(OrderLine, 2 * orders)  # one or two lines an order
    task_id = await _reserve_ids(FulfillmentTask, orders)
    parcel_id = await _reserve_ids(Parcel, orders)
    tag = f"{seed % 100:02d}{rng.randrange(10**6):06d}"
    buyers = base["buyers"]
    platform_bp, station_bp = s.platform_fee_bp, s.station_fee_bp
    refunds_to_make = []
    step = max(1, orders // 200)
    for k in range(orders):
        if k % step == 0:
            progress("generating orders", k, orders)
        oid = order_id0 + k
        d = _pick(rng, day_cum, all_days)
        live = session_of_day.get(d) if d in live_days and rng.random() < 0.3 else None
        hour = rng.choice(LIVE_HOURS) if live else _pick(rng, _HOURS_CUM, list(range(24)))
        paid = datetime(d.year, d.month, d.day, hour, rng.randrange(60), rng.randrange(60),
                        tzinfo=clock.SHANGHAI).astimezone(clock.UTC)
        if paid > now:  # today: somewhere between midnight and now
            day_start = rollup.day_bounds(d)[0]
            paid = day_start + (now - day_start) * rng.random()
        created = paid - timedelta(seconds=rng.randrange(20, 600))
        pickup = rng.random() < 0.75
        if pickup:
            st = rng.choice(pickup_points)
            station_id, town = st["id"], town_by_station[st["id"]]
            address = None
        else:
            t = rng.choice(towns)
            station_id, town = None, t["town"]
            address = {"name": "演示买家", "phone": "13800000000", "town": town, "village": "", "detail": "演示地址"}
        pc = product_cum(d)
        lines = []
        for _ in range(1 + (rng.random() < 0.2)):
            p = _pick(rng, pc, products)
            if any(x["sku_id"] == p["id"] for x in lines):
                continue
            qty = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
            price = p["price"] * 85 // 100 if live else p["price"]
            lines.append({"id": line_id, "order_id": oid, "merchant_id": p["product__merchant_id"],
                          "product_id": p["product_id"], "sku_id": p["id"], "product_name": p["product__name"][:64],
                          "sku_spec": p["spec"][:32], "unit_price": price, "quantity": qty, "amount": price * qty,
                          "cold_chain": p["cold_chain"], "commission_bp": 800 if live else 0})
            line_id += 1
        goods = sum(x["amount"] for x in lines)
        done = min(paid + timedelta(days=2, hours=rng.randrange(24)), now)
        order = {"id": oid, "order_no": f"H{tag}{k:08d}", "buyer_id": rng.choice(buyers), "status": "completed",
                 "fulfilment": "pickup" if pickup else "delivery", "station_id": station_id, "address": address,
                 "goods_fen": goods, "shipping_fen": 0, "total_fen": goods, "paid_fen": goods, "refunded_fen": 0,
                 "payment_method": "wechat_jsapi", "source": "live" if live else "",
                 "live_session_id": live["id"] if live else None,
                 "livestreamer_id": live["livestreamer_id"] if live else None,
                 "created_at": created, "updated_at": done, "expires_at": created + timedelta(minutes=15),
                 "paid_at": paid, "completed_at": done}
        rows_o.append(order)
        rows_l.extend(lines)
        for ln in lines:
            parts = ledger.split(ln["amount"], platform_bp=platform_bp, station_bp=station_bp if pickup else 0,
                                 commission_bp=ln["commission_bp"])
            for kind, amount in parts.items():
                if amount == 0 and kind != "merchant_share":
                    continue
                atype, aid = {"platform_fee": ("platform", None), "station_fee": ("station", station_id),
                              "live_commission": ("livestreamer", order["livestreamer_id"]),
                              "merchant_share": ("merchant", ln["merchant_id"])}[kind]
                rows_le.append({"order_id": oid, "order_line_id": ln["id"], "account_type": atype, "account_id": aid,
                                "kind": kind, "amount_fen": amount, "dedup_key": f"sale:{ln['id']}:{kind}",
                                "created_at": paid})
        # Warehouse task, one parcel and its promises (县→乡 same day, 乡→村 within 24 h).
        ts_id = town_station_of.get(town)
        packed = paid + timedelta(hours=rng.randrange(1, 6))
        rows_t.append({"id": task_id, "order_id": oid, "status": "shipped", "mode": "local",
                       "fulfilment": order["fulfilment"], "route": [x for x in (ts_id, station_id) if x],
                       "destination_station_id": station_id, "town_station_id": ts_id,
                       "cold_chain": any(x["cold_chain"] for x in lines), "created_at": paid, "updated_at": packed,
                       "packed_at": packed, "shipped_at": packed,
                       # History: WeChat already has its shipping info (else the upload sweeper resends it all).
                       "shipping_uploaded_at": min(packed + timedelta(minutes=5), now),
                       "shipping_state": "uploaded"})
        late = rng.random() < late_rate.get(town, 0.03)
        arrive_town = packed + timedelta(hours=rng.randrange(2, 9))
        # Same day to the town when packed before the afternoon cut-off, else the next day.
        local = packed.astimezone(clock.SHANGHAI)
        due_town = datetime.combine(local.date() + timedelta(days=int(local.hour >= 16)), datetime.min.time(),
                                    tzinfo=clock.SHANGHAI).astimezone(clock.UTC) + timedelta(hours=23, minutes=59)
        arrive_town = min(arrive_town, due_town - timedelta(minutes=rng.randrange(10, 120)))
        if late:
            arrive_town = due_town + timedelta(hours=rng.randrange(1, 12))
        arrive_village = arrive_town + timedelta(hours=rng.randrange(3, 20))
        due_village = arrive_town + timedelta(hours=24)
        rows_p.append({"id": parcel_id, "label": f"HP{tag}{k:08d}", "task_id": task_id, "order_id": oid,
                       "status": "delivered" if not pickup else "ready_for_pickup", "route": rows_t[-1]["route"],
                       "position": len(rows_t[-1]["route"]), "weight_g": 1000 * len(lines),
                       "cold_chain": rows_t[-1]["cold_chain"], "packed_at": packed, "dispatched_at": packed,
                       "finished_at": min(arrive_village, now)})
        rows_dp.append({"parcel_id": parcel_id, "leg": "county_town", "town_station_id": ts_id, "due_at": due_town,
                        "met_at": arrive_town if arrive_town <= now else None,
                        "breached_at": due_town if late and due_town <= now else None})
        if pickup and station_id != ts_id:
            rows_dp.append({"parcel_id": parcel_id, "leg": "town_village", "town_station_id": ts_id,
                            "due_at": due_village, "met_at": arrive_village if arrive_village <= now else None})
        picked = arrive_village + timedelta(hours=rng.randrange(1, 48))
        if pickup and picked <= now:
            # Only collected pickups: an open one would need a code unique among its station's open codes.
            rows_pk.append({"order_id": oid, "station_id": station_id, "order_no": order["order_no"],
                            "buyer_id": order["buyer_id"], "code": f"{rng.randrange(10**6):06d}", "open_code": None,
                            "status": "picked_up", "received_at": arrive_village,
                            "deadline_at": arrive_village + timedelta(days=7), "picked_up_at": picked,
                            "verify_method": "code"})
        task_id += 1
        parcel_id += 1
        # About 2.5% of orders get one line refunded (after-sales: quality, damage in transit).
        if rng.random() < 0.025:
            refunds_to_make.append((order, lines[0]))

    # Refunds and their ledger reversals (one whole line each).
    refund_id0 = await _reserve_ids(Refund, max(1, len(refunds_to_make)))
    for i, (order, ln) in enumerate(refunds_to_make):
        rid = refund_id0 + i
        when = min(order["paid_at"] + timedelta(days=rng.randrange(1, 6), hours=rng.randrange(24)), now)
        rows_r.append({"id": rid, "refund_no": f"HR{tag}{i:08d}", "order_id": order["id"], "kind": "order",
                       "amount_fen": ln["amount"], "lines": [{"line_id": ln["id"], "qty": ln["quantity"],
                                                             "amount": ln["amount"]}],
                       "status": "succeeded", "reason": "演示：售后退款", "auto_approved": True,
                       "created_at": when - timedelta(hours=2), "decided_at": when - timedelta(hours=1),
                       "submitted_at": when - timedelta(hours=1), "succeeded_at": when})
        ln["refunded_qty"], ln["refunded_fen"] = ln["quantity"], ln["amount"]
        order["refunded_fen"] += ln["amount"]
        if order["refunded_fen"] == order["paid_fen"]:
            order["status"] = "closed"
        parts = ledger.split(ln["amount"], platform_bp=platform_bp,
                             station_bp=station_bp if order["fulfilment"] == "pickup" else 0,
                             commission_bp=ln["commission_bp"])
        for kind, amount in parts.items():
            if amount == 0:
                continue
            atype, aid = {"platform_fee": ("platform", None), "station_fee": ("station", order["station_id"]),
                          "live_commission": ("livestreamer", order["livestreamer_id"]),
                          "merchant_share": ("merchant", ln["merchant_id"])}[kind]
            rows_le.append({"order_id": order["id"], "order_line_id": ln["id"], "refund_id": rid,
                            "account_type": atype, "account_id": aid, "kind": kind + "_reversal",
                            "amount_fen": -amount, "dedup_key": f"refund:{rid}:{ln['id']}:{kind}",
                            "created_at": when})
    progress("generating orders", orders, orders)
    t_gen = _time.perf_counter() - t0

    le_id = await _reserve_ids(LedgerEntry, len(rows_le))
    for i, r in enumerate(rows_le):
        r["id"] = le_id + i
    pk_id = await _reserve_ids(Pickup, max(1, len(rows_pk)))
    for i, r in enumerate(rows_pk):
        r["id"] = pk_id + i
    dp_id = await _reserve_ids(DeliveryPromise, len(rows_dp))
    for i, r in enumerate(rows_dp):
        r["id"] = dp_id + i
    per_table = {}
    tables = ((Order, rows_o), (OrderLine, rows_l), (Refund, rows_r), (LedgerEntry, rows_le),
              (FulfillmentTask, rows_t), (Parcel, rows_p), (DeliveryPromise, rows_dp), (Pickup, rows_pk))
    for n, (model, rows) in enumerate(tables):
        progress("writing", n, len(tables))
        tw = _time.perf_counter()
        await _write(model, rows)
        per_table[model._meta.db_table] = round(_time.perf_counter() - tw, 2)
    progress("writing", len(tables), len(tables))
    log.info("demo history writes (s): %s", per_table)
    t_write = _time.perf_counter() - t0 - t_gen

    training = await _training(rng, start, end) if training else {}
    t_roll = _time.perf_counter()
    if rollups:
        for n, d in enumerate(all_days):
            await rollup.rollup_day(d)
            progress("daily rollups", n + 1, len(all_days))
        if end < clock.local_today():
            await rollup.rollup_day(clock.local_today())
    t_roll = _time.perf_counter() - t_roll
    out = {"orders": len(rows_o), "lines": len(rows_l), "ledger_entries": len(rows_le), "refunds": len(rows_r),
           "pickups": len(rows_pk), "parcels": len(rows_p), "promises": len(rows_dp), "live_sessions": len(sessions),
           **training, "from": start.isoformat(), "to": end.isoformat(),
           "seconds": {"generate": round(t_gen, 2), "write": round(t_write, 2), "rollups": round(t_roll, 2),
                       "total": round(_time.perf_counter() - t0, 2)}}
    log.info("demo history: %s", out)
    return out


_HOURS_CUM = _cum(HOURS)


async def _training(rng: random.Random, start: date, end: date) -> dict:
    """Training sessions by track over the period, with trainees signing in (person-times)."""
    stations = list(await Station.filter(level="village").values("id", "town", "village", "is_poor_village"))
    have = await Trainee.filter(phone__startswith="1990000").count()
    want = 1200
    if have < want:
        new = []
        for i in range(have, want):
            st = rng.choice(stations) if stations else None
            groups = sorted({rng.choice(GROUP_MIX) for _ in range(1 + (rng.random() < 0.3))})
            poor = "poor_household" in groups
            new.append(Trainee(name=f"学员{i:04d}", phone=f"1990000{i:04d}", town=st["town"] if st else "",
                               village=st["village"] if st else "", village_station_id=st["id"] if st else None,
                               groups=groups, is_poor_household=poor, consent=True))
        await Trainee.bulk_create(new, batch_size=500)
    trainees = list(await Trainee.filter(phone__startswith="1990000").values_list("id", flat=True))
    years = max(1, math.ceil((end - start).days / 365))
    sessions = signins = 0
    for track, per_year, size in TRAINING_PLAN:
        course, _ = await Course.get_or_create(track=track, name=f"{track} 演示课程",
                                               defaults={"description": "演示历史数据"})
        for j in range(per_year * years):
            day0 = start + timedelta(days=rng.randrange(max(1, (end - start).days - 3)))
            length = 1 + rng.randrange(3)
            ts = await TrainingSession.create(course=course, title=f"{course.name} 第{j + 1}期", starts_on=day0,
                                              ends_on=day0 + timedelta(days=length - 1), capacity=size + 10,
                                              venue_detail="县电子商务公共服务中心")
            people = rng.sample(trainees, min(size, len(trainees)))
            await Enrolment.bulk_create([Enrolment(session=ts, trainee_id=t) for t in people])
            rows = [SignIn(session=ts, trainee_id=t, day=day0 + timedelta(days=k), method="qr")
                    for t in people for k in range(length) if rng.random() < 0.92]
            await SignIn.bulk_create(rows, batch_size=1000)
            sessions += 1
            signins += len(rows)
    return {"training_sessions": sessions, "signins": signins}


async def seed_history(orders: int | None = None) -> dict:
    """What `seed-demo --history` runs: two years up to today (so growth has its year before), once —
    a second call leaves the history as it is. Default size: 100,000 orders on PostgreSQL, 20,000 on
    the embedded SQLite file (its bulk path is the ORM's, several times slower)."""
    await demo.seed()
    n = orders or (100_000 if _is_pg() else 20_000)
    return await generate(orders=n, days=730, only_if_empty=True)
