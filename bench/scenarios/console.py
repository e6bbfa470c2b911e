"""The office console at county scale: 20 operators cycling over every list page and the Today page
(100,000 orders, 1,000 merchants); p50/p99 overall and per page.

Setup (untimed) writes straight into the server's database (COPY with reserved id blocks, as
server.stats.demo_history does): 1,000 merchants (mostly active; some applications pending, a few
suspended or rejected) with three products each, their listing reviews (a couple of hundred pending),
payees, 100,000 paid orders over --opt days (default 90) through demo_history (lines, ledger, refunds,
parcels, pickups, rollups), the last day and a half of them still moving (paid, in fulfilment, ready
for pickup, out for delivery), refunds waiting for a decision, after-sales cases in every state,
complaints, settlement statements per merchant and month, withdrawal requests and payout batches, and
an audit log of ~1 row per order. Then 20 admins sign in through /console/login with the SMS code the
simulator saw, as an operator does.

The timed part: 20 connections, one operator each with their own session cookie, each cycling over
the pages (every office list page, with its filters and search, and up to --opt depth (default 3)
pages deep by following each page's own "next" link found in setup) from a different starting point,
in two modes:
  1. closed loop for --duration seconds: each operator sends the next page as soon as the last one
     arrived, no think time -- the stress figure (20 requests always in flight on the machine);
  2. paced (--opt think=S, default 1; think=0 skips it) for --opt paced_secs (default 120): 20 people
     using the console at once, each waiting an exponentially distributed think time (mean S) between
     pages, open loop (the sends are scheduled whatever the server does) and latency counted from the
     scheduled send, so queueing behind a slow page shows.
Every answer must be a 200 carrying the page's own <title> and the signed-in page's sign-out form (not
a login redirect); the per-page p50/p99 of both modes (slowest paced p99 first) are printed under the
table, and the server's CPU per page of each."""
from __future__ import annotations

import asyncio
import html as htmllib
import random
import re
import sys
import time
from datetime import timedelta
from urllib.parse import quote, urlsplit

import orjson

from bench import Req
from bench.loadgen import Figures, _Conn, percentile

CONNECTIONS = 20
REQUIRES = ("pg", "redis")
DEMO_DATA = True
SETUP_TIMEOUT = 1800
# 20 sign-ins from one address within the hour; the limiter is not under test.
SERVER_ENV = {"KAZUO_CONSOLE_SIGNIN_PER_IP_PER_HOUR": "100000"}

TOWNS = ["利州街道", "南公营子镇", "山嘴子镇", "平房子镇", "白塔子镇", "公营子镇", "中三家镇", "六官营子镇"]
STEMS = [("小米合作社", "cooperative"), ("设施蔬菜合作社", "cooperative"), ("南果梨种植户", "household"),
         ("山杏仁加工厂", "enterprise"), ("陈醋酿造坊", "enterprise"), ("紫砂陶艺社", "cooperative"),
         ("刺绣坊", "household"), ("家庭农场", "household"), ("苹果合作社", "cooperative"), ("荞麦面作坊", "household")]
GOODS = ["小米", "黄米", "陈醋", "紫砂壶", "南果梨", "番茄", "荞麦", "绿豆", "剪纸", "蜂蜜", "山杏仁", "苹果"]
AUDIT_ACTIONS = [("order.ship", "order"), ("order.pickup", "order"), ("refund.approve", "refund"),
                 ("product.update", "product"), ("product.approve", "product"), ("merchant.approve", "merchant"),
                 ("sku.stock", "sku"), ("station.update", "station"), ("user.grant", "user")]

# (label, path): the office's list pages with their filters and searches. "{town}", "{q}" are filled in.
PAGES = [
    ("today", "/console/"),
    ("merchants", "/console/merchants?status=active"),
    ("merchants pending", "/console/merchants?status=pending"),
    ("merchants search", "/console/merchants?status=active&q={q}"),
    ("merchants town", "/console/merchants?status=active&town={town}&kind=cooperative"),
    ("reviews", "/console/reviews"),
    ("reviews approved", "/console/reviews?status=approved"),
    ("reviews search", "/console/reviews?status=approved&q={g}"),
    ("certificates", "/console/reviews/certificates"),
    ("users", "/console/users"),
    ("users search", "/console/users?q=137"),
    ("users merchants", "/console/users?role=admin"),
    ("audit", "/console/audit"),
    ("audit orders", "/console/audit?object_type=order"),
    ("audit action", "/console/audit?action=refund.approve"),
    ("refunds", "/console/refunds"),
    ("station alerts", "/console/station-alerts"),
    ("sla breaches", "/console/sla-breaches"),
    ("shipping uploads", "/console/shipping-uploads"),
    ("aftersales", "/console/aftersales"),
    ("aftersales windows", "/console/aftersales/windows"),
    ("payees", "/console/payees"),
    ("payouts", "/console/payouts"),
    ("payout requests", "/console/payouts/requests"),
    ("payout due", "/console/payouts/due"),
    ("payout batches", "/console/payouts/batches"),
    ("statements", "/console/statements"),
    ("fee terms", "/console/fee-terms"),
    ("complaints", "/console/complaints"),
    ("complaints open", "/console/complaints?status=open"),
    ("stations", "/console/stations"),
    ("cash handovers", "/console/cash-handovers"),
    ("live pool", "/console/live-pool"),
    ("ratings", "/console/ratings"),
    ("ratings summary", "/console/ratings/summary"),
    ("content", "/console/content"),
    ("freight", "/console/freight"),
    ("freight merchants", "/console/freight/merchants"),
    ("coupons", "/console/coupons"),
    ("campaigns", "/console/campaigns"),
    ("presales", "/console/presales"),
    ("shares", "/console/shares"),
    ("taxonomy", "/console/taxonomy"),
    ("trace", "/console/trace"),
    ("trace flags", "/console/trace/flags"),
    ("training", "/console/training"),
    ("training archive", "/console/training/archive"),
    ("lecturers", "/console/training/lecturers"),
    ("statistics", "/console/statistics"),
    ("collections", "/console/statistics/collections"),
    ("stock", "/console/warehouse/stock"),
    ("stock search", "/console/warehouse/stock?q={g}"),
]
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
SIGNED_IN = b'action="/console/logout"'


# ---- bulk writing (the demo history's COPY writer, with reserved ids) ----------------------------
async def _put(model, rows: list[dict]) -> list[int]:
    """COPY rows into model's table (missing fields take the model's defaults); returns their ids."""
    from server.kit import clock
    from server.stats import demo_history

    if not rows:
        return []
    first = await demo_history._reserve_ids(model, len(rows))
    now = clock.now()
    autos = [n for n, f in model._meta.fields_map.items()
             if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]
    for i, r in enumerate(rows):
        r["id"] = first + i
        for n in autos:
            r.setdefault(n, r.get("created_at", now))
    await demo_history._write(model, rows)
    return [first + i for i in range(len(rows))]


async def seed(ctx, *, merchants: int, orders: int, days: int) -> dict:
    async with ctx.services():
        from tortoise import Tortoise
        from tortoise.fields.data import JSONField

        from server.kit import clock
        from server.models.aftersales import AfterSale
        from server.models.audit import AuditLog
        from server.models.catalog import Category, Product, Sku
        from server.models.catalog_reviews import ProductReview
        from server.models.complaints import Complaint
        from server.models.merchants import Merchant
        from server.models.orders import Order
        from server.models.payments import Refund
        from server.models.payouts import Payee, PayoutBatch, PayoutLine, WithdrawalRequest
        from server.models.settlement import Statement
        from server.stats import demo_history

        conn = Tortoise.get_connection("default")
        rng = random.Random(27)
        now = clock.now()
        t0 = time.perf_counter()

        # -- merchants, products, SKUs, reviews, payees -------------------------------------------
        have = await Merchant.all().count()
        todo = max(0, merchants - have - len(demo_history.EXTRA_MERCHANTS) * 3)
        cats = [c.id for c in await Category.filter(parent_id__not_isnull=True)] or \
            [c.id for c in await Category.all()]
        mrows = []
        for i in range(todo):
            stem, kind = STEMS[i % len(STEMS)]
            town = TOWNS[i % len(TOWNS)]
            x = rng.random()
            status = "active" if x < 0.92 else "pending" if x < 0.96 else "suspended" if x < 0.98 else "rejected"
            created = now - timedelta(days=rng.randrange(1, 400), seconds=rng.randrange(86400))
            mrows.append({"name": f"{town}{stem}{i:04d}", "kind": kind, "status": status, "town": town,
                          "licence_no": f"CONS{i:06d}", "contact_name": "联系人", "created_at": created})
        mids = await _put(Merchant, mrows)
        prows = []
        for mid, m in zip(mids, mrows):
            for k in range(3):
                g = rng.choice(GOODS)
                price = rng.randint(900, 30000)
                live = m["status"] == "active" and rng.random() < 0.9
                prows.append({"merchant_id": mid, "category_id": rng.choice(cats), "name": f"{g}·{m['town'][:2]}{k}",
                              "status": "on_sale" if live else "pending", "min_price": price,
                              "visible": live, "origin_town": m["town"], "search_text": f"{g} {m['town']}",
                              "images": ["/media/demo.jpg"], "created_at": m["created_at"],
                              "published_at": m["created_at"] if live else None})
        pids = await _put(Product, prows)
        await _put(Sku, [{"product_id": pid, "spec": "500g", "price": p["min_price"], "list_price": p["min_price"],
                          "stock": 200, "weight_g": 500, "created_at": p["created_at"]}
                         for pid, p in zip(pids, prows)])
        rrows = []
        for pid, p in zip(pids, prows):
            pending = p["status"] == "pending"
            rrows.append({"product_id": pid, "merchant_id": p["merchant_id"], "kind": "listing",
                          "status": "pending" if pending else "approved",
                          "snapshot": {"name": p["name"], "price": p["min_price"]}, "created_at": p["created_at"],
                          "reviewed_at": None if pending else p["created_at"] + timedelta(hours=3)})
            if not pending and rng.random() < 0.05:
                rrows.append({"product_id": pid, "merchant_id": p["merchant_id"], "kind": "revision",
                              "status": "pending", "snapshot": {"name": p["name"] + "（新）"},
                              "created_at": now - timedelta(hours=rng.randrange(1, 72))})
        await _put(ProductReview, rrows)
        await _put(Payee, [{"account_type": "merchant", "account_id": mid, "method": "bank", "real_name": m["name"],
                            "bank_account": f"6222{mid:012d}", "bank_name": "喀左农商银行"}
                           for mid, m in zip(mids, mrows) if m["status"] == "active"])
        t_catalog = time.perf_counter() - t0

        # -- 100,000 orders over `days` days (lines, ledger, refunds, parcels, pickups, rollups) --------------
        have_orders = await Order.filter(order_no__startswith="H").count()
        if have_orders < orders:
            await demo_history.generate(orders=orders - have_orders, days=days, seed=27)
        t_orders = time.perf_counter() - t0 - t_catalog

        # The last day and a half is still moving; today's first hours not yet paid for or cancelled.
        since = now - timedelta(hours=36)
        # (Every history order has its warehouse task: none is 'paid' past the hand-off, as in real life.)
        await conn.execute_query(
            "UPDATE orders SET status = CASE WHEN id % 10 < 4 THEN 'in_fulfilment' "
            "WHEN fulfilment = 'pickup' THEN 'ready_for_pickup' WHEN id % 10 < 7 THEN 'out_for_delivery' "
            "ELSE 'delivered' END, completed_at = NULL WHERE paid_at >= $1 AND status = 'completed'", [since])
        # Orders never paid for (about 3%): cancelled by the buyer or by the timeout, one awaiting payment.
        unpaid = await conn.execute_query_dict("SELECT * FROM orders WHERE id % 33 = 5 AND order_no LIKE 'H%'")
        for n, o in enumerate(unpaid):
            o.pop("id")
            o.update(order_no="X" + o["order_no"][1:], status="cancelled" if n else "pending_payment",
                     paid_at=None, paid_fen=0, completed_at=None)
            for k, f in Order._meta.fields_map.items():   # JSON comes back as text from a raw SELECT
                if isinstance(f, JSONField) and isinstance(o.get(k), str):
                    o[k] = orjson.loads(o[k])
        await _put(Order, unpaid)
        recent = [r["id"] for r in await conn.execute_query_dict(
            "SELECT id FROM orders WHERE paid_at >= $1 AND status <> 'cancelled' ORDER BY id",
            [since - timedelta(days=14)])]
        lines = {r["order_id"]: r for r in await conn.execute_query_dict(
            "SELECT DISTINCT ON (order_id) order_id, id, merchant_id, quantity, amount FROM order_lines "
            "WHERE order_id = ANY($1) ORDER BY order_id, id", [recent])}

        # Refunds waiting for a decision (~0.2% of orders).
        waiting = rng.sample(recent, min(len(recent), orders // 500))
        await _put(Refund, [{"refund_no": f"CR{oid:012d}", "order_id": oid, "kind": "order",
                             "amount_fen": lines[oid]["amount"],
                             "lines": [{"line_id": lines[oid]["id"], "qty": lines[oid]["quantity"],
                                        "amount": lines[oid]["amount"]}],
                             "status": "requested", "reason": "商品有破损",
                             "created_at": now - timedelta(hours=rng.randrange(1, 96))}
                            for oid in waiting if oid in lines])
        # After-sales cases: ~1.5% of orders, in every state.
        states = ["requested"] * 3 + ["rejected", "escalated", "escalated", "awaiting_return", "returning",
                                      "refunding"] + ["done"] * 6 + ["closed"] * 2
        reasons = ["damaged", "spoiled", "short", "wrong_item", "not_as_described", "not_received"]
        cases = []
        hist = [r["id"] for r in await conn.execute_query_dict(
            "SELECT id FROM orders WHERE status = 'completed' AND id % 67 = 0")]
        picked = rng.sample(recent, min(len(recent), orders // 200))
        for n, oid in enumerate(picked + sorted(set(hist) - set(picked))):
            ln = lines.get(oid)
            if ln is None:
                ln = (await conn.execute_query_dict(
                    "SELECT order_id, id, merchant_id, quantity, amount FROM order_lines WHERE order_id = $1 "
                    "ORDER BY id LIMIT 1", [oid]))[0]
            st = rng.choice(states) if oid not in lines or n < orders // 200 else "done"
            created = now - timedelta(hours=rng.randrange(1, 24 * days))
            cases.append({"case_no": f"AS{oid:012d}", "order_id": oid, "buyer_id": 0, "merchant_id": ln["merchant_id"],
                          "kind": rng.choice(["refund_only", "return_refund", "replacement"]),
                          "reason": rng.choice(reasons), "lines": [{"line_id": ln["id"], "qty": 1,
                                                                    "amount": ln["amount"]}],
                          "amount_fen": ln["amount"], "status": st, "created_at": created,
                          "respond_by": created + timedelta(hours=48),
                          "escalated_at": created + timedelta(hours=20) if st == "escalated" else None,
                          "escalation_reason": "商家拒绝退款" if st == "escalated" else "",
                          "finished_at": created + timedelta(days=3) if st in ("done", "closed") else None})
        buyers = {r["id"]: r["buyer_id"] for r in await conn.execute_query_dict(
            "SELECT id, buyer_id FROM orders WHERE id = ANY($1)", [[c["order_id"] for c in cases]])}
        for c in cases:
            c["buyer_id"] = buyers[c["order_id"]]
        await _put(AfterSale, cases)
        # Complaints: ~0.5% of orders.
        kinds = ["quality", "counterfeit", "merchant", "station", "live_ad", "delivery", "other"]
        crows = []
        for i in range(orders // 200):
            created = now - timedelta(hours=rng.randrange(1, 24 * days))
            st = "open" if created > now - timedelta(days=3) else rng.choice(["acknowledged", "resolved", "resolved"])
            oid = rng.choice(recent)
            crows.append({"no": f"TS{i:010d}", "kind": rng.choice(kinds), "channel": rng.choice(["buyer", "public"]),
                          "status": st, "text": "买到的小米有受潮结块，希望核实处理。", "order_id": oid,
                          "merchant_id": lines[oid]["merchant_id"] if oid in lines else None,
                          "town": rng.choice(TOWNS), "created_at": created,
                          "ack_due_at": created + timedelta(hours=24), "resolve_due_at": created + timedelta(days=7),
                          "acknowledged_at": created + timedelta(hours=5) if st != "open" else None,
                          "resolved_at": created + timedelta(days=2) if st == "resolved" else None,
                          "outcome": "warning" if st == "resolved" else ""})
        await _put(Complaint, crows)
        # Statements: each active merchant, each month of the period.
        active = [mid for mid, m in zip(mids, mrows) if m["status"] == "active"]
        srows = []
        for month in range(max(1, days // 30)):
            end = (now - timedelta(days=30 * month)).replace(hour=16, minute=0, second=0, microsecond=0)
            for mid in active:
                total = rng.randint(0, 500000)
                srows.append({"account_type": "merchant", "account_id": mid, "period_start": end - timedelta(days=30),
                              "period_end": end, "total_fen": total, "sales_fen": total,
                              "line_count": rng.randint(0, 200), "created_at": end + timedelta(hours=1)})
        await _put(Statement, srows)
        # Withdrawals and payout batches.
        wrows = [{"account_type": "merchant", "account_id": rng.choice(active), "amount_fen": rng.randint(10000, 900000),
                  "method": "bank", "status": rng.choice(["pending", "batched", "batched", "cancelled"]),
                  "requested_by": 0, "created_at": now - timedelta(hours=rng.randrange(1, 24 * days))}
                 for _ in range(len(active) // 2)]
        await _put(WithdrawalRequest, wrows)
        bids = await _put(PayoutBatch, [{"method": "bank", "status": "done" if b else "prepared", "prepared_by": 0,
                                         "total_fen": 0, "line_count": 50,
                                         "created_at": now - timedelta(days=7 * b + 1)}
                                        for b in range(max(1, days // 7))])
        await _put(PayoutLine, [{"batch_id": bid, "account_type": "merchant", "account_id": rng.choice(active),
                                 "amount_fen": rng.randint(10000, 900000), "method": "bank",
                                 "status": "succeeded" if b else "reserved", "out_bill_no": f"PB{bid}L{k:04d}",
                                 "created_at": now - timedelta(days=7 * b + 1)}
                                for b, bid in enumerate(bids) for k in range(50)])
        # The audit log: about one row per order over the period.
        arows = []
        for i in range(orders):
            action, otype = AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)]
            arows.append({"action": action, "object_type": otype, "object_id": str(rng.randrange(1, 100000)),
                          "data": {}, "created_at": now - timedelta(seconds=rng.randrange(86400 * days))})
        arows.sort(key=lambda r: r["created_at"])
        await _put(AuditLog, arows)
        for table in ("merchants", "products", "skus", "product_reviews", "orders", "order_lines", "refunds",
                      "aftersales", "complaints", "settlement_statements", "withdrawal_requests", "payout_lines",
                      "audit_log", "ledger_entries", "payees"):
            try:
                await conn.execute_query(f"ANALYZE {table}")
            except Exception:   # a table named otherwise: the autovacuum will get to it
                pass
        counts = (await conn.execute_query_dict(
            "SELECT (SELECT COUNT(*) FROM merchants) AS merchants, (SELECT COUNT(*) FROM orders) AS orders, "
            "(SELECT COUNT(*) FROM products) AS products, (SELECT COUNT(*) FROM audit_log) AS audit"))[0]
        towns = [m["town"] for m in mrows[:1]] or ["利州街道"]
    ctx.log(f"seeded {counts} in {time.perf_counter() - t0:.0f}s (catalog {t_catalog:.0f}s, orders {t_orders:.0f}s)")
    return {**counts, "town": towns[0]}


# ---- operators --------------------------------------------------------------------------------------
async def sign_in(ctx, phone: str) -> str:
    """/console/login as an operator does: ask for a code, read it off the SMS simulator, sign in;
    returns the session cookie header."""
    import httpx

    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=30, follow_redirects=False) as c:
        r = await c.get("/console/login")
        csrf = re.search(r'name="_csrf" value="([0-9a-f]{64})"', r.text).group(1)
        h = {"HX-Request": "true", "X-CSRF-Token": csrf}
        r = await c.post("/console/login/code", data={"phone": phone}, headers=h)
        assert r.status_code == 200 and r.headers.get("X-Kz-Sent") == "1", r.text[:300]
        sms = (await c.get("/__sim__/aliyun/sms", params={"phone": phone})).json()
        r = await c.post("/console/login", data={"phone": phone, "code": sms["messages"][0]["params"]["code"]},
                         headers=h)
        assert r.status_code == 200 and r.headers.get("HX-Redirect") == "/console/", r.text[:300]
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


async def operators(ctx, n: int) -> list[str]:
    phones = [f"1390000{i:04d}" for i in range(n)]
    async with ctx.services():
        from server.accounts import console, service

        for i, phone in enumerate(phones):
            user = await console.create_operator(f"操作员{i:02d}", phone, actor_id=None)
            await service.grant_role(user.id, "admin")
    return [await sign_in(ctx, p) for p in phones]


def _next_link(body: str) -> str | None:
    for m in re.finditer(r'href="([^"]*cursor=[^"]*)"', body):
        return htmllib.unescape(m.group(1))
    return None


async def plan(ctx, cookie: str, info: dict, depth: int) -> list[tuple[str, str, str]]:
    """(label, path, expected title) of every page to cycle: each list page and up to depth-1 of its
    following pages (its own next links)."""
    import httpx

    out, failed = [], []
    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=60, follow_redirects=False,
                                 headers={"Cookie": cookie}) as c:
        for label, path in PAGES:
            path = path.format(town=quote(info["town"]), q=quote("合作社"), g=quote("小米"))
            for d in range(depth):
                r = await c.get(path)
                if r.status_code != 200 or SIGNED_IN.decode() not in r.text:
                    failed.append(f"{label} {path}: {r.status_code} {r.text[:200]}")
                    break
                out.append((label if d == 0 else f"{label} p{d + 1}", path, TITLE.search(r.text).group(1)))
                nxt = _next_link(r.text)
                if not nxt:
                    break
                path = nxt if nxt.startswith("/") else urlsplit(path).path + nxt
    if failed:
        raise RuntimeError(f"{len(failed)} pages failed before the load: " + "; ".join(failed))
    return out


async def setup(ctx):
    days = int(ctx.option("days", 90))
    info = await seed(ctx, merchants=int(ctx.option("merchants", 1000)), orders=int(ctx.option("orders", 100_000)),
                      days=days)
    cookies = await operators(ctx, ctx.connections)
    ctx.state.update(info=info, cookies=cookies,
                     pages=await plan(ctx, cookies[0], info, int(ctx.option("depth", 3))))
    ctx.log(f"{len(ctx.state['pages'])} pages to cycle over: "
            + ", ".join(sorted({re.sub(r" p\d+$", "", p[0]) for p in ctx.state["pages"]})))


async def _drive(ctx, duration: float, think: float = 0.0) -> tuple[Figures, dict]:
    """Every operator over the pages from their own starting point. think == 0: closed loop, the next
    page sent when the last one arrived (the stress figure). think > 0: open loop, each operator's
    sends scheduled an exponentially distributed think time (mean `think` s) apart whatever the server
    does, and latency counted from the scheduled send, so a server that falls behind shows its queue
    (as bench/scenarios/pickup.py's paced phase)."""
    pages = ctx.state["pages"]
    cookies = ctx.state["cookies"]
    u = urlsplit(ctx.base_url)
    host = f"{u.hostname}:{u.port}"
    per: dict[str, list[float]] = {}
    bad: list[str] = []
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    errors = 0

    async def operator(k: int) -> None:
        nonlocal errors
        conn = _Conn(u.hostname, u.port)
        raws = [(label, Req("GET", path, headers={"Cookie": cookies[k]}).raw(host), title.encode())
                for label, path, title in pages]
        i = k * len(pages) // len(cookies)
        rng = random.Random(1000 + k)
        due = started + (rng.expovariate(1 / think) if think else 0.0)
        try:
            while True:
                if think:
                    if due >= stop:
                        return
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif time.perf_counter() >= stop:
                    return
                label, raw, title = raws[i % len(raws)]
                i += 1
                t0 = due if think else time.perf_counter()
                if think:
                    due += rng.expovariate(1 / think)
                try:
                    async with asyncio.timeout(10):
                        status, body, close = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    errors += 1
                    conn.close()
                    continue
                dt = time.perf_counter() - t0
                latencies.append(dt)
                per.setdefault(label, []).append(dt)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200 or SIGNED_IN not in body or title not in body:
                    bad.append(f"{label}: {status} {body[:120]!r}")
                if close:
                    conn.close()
        finally:
            conn.close()

    started = time.perf_counter()
    stop = started + duration
    cpu0 = ctx.server_cpu().get("server")
    await asyncio.gather(*(operator(k) for k in range(len(cookies))))
    elapsed = time.perf_counter() - started
    cpu1 = ctx.server_cpu().get("server")
    latencies.sort()
    mode = f"paced, think {think:g} s" if think else "closed loop"
    fig = Figures(name=f"console @{ctx.state['info']['orders'] // 1000}k orders, {mode}", connections=len(cookies),
                  duration=elapsed, requests=len(latencies), p50_ms=percentile(latencies, 50) * 1000,
                  p99_ms=percentile(latencies, 99) * 1000,
                  non2xx=sum(v for s, v in statuses.items() if not 200 <= s < 300) , errors=errors,
                  client="asyncio", statuses=dict(sorted(statuses.items())))
    if think:
        fig.extra["offered pages/s"] = round(len(cookies) / think, 1)
    if cpu0 is not None and cpu1 is not None and latencies:
        fig.extra["server cpu ms/page"] = round((cpu1 - cpu0) * 1000 / len(latencies), 1)
    return fig, {"per": per, "bad": bad}


def _per_page(per: dict[str, list[float]]) -> dict[str, tuple[float, float, int]]:
    """label -> (p99 ms, p50 ms, n)."""
    out = {}
    for label, vals in per.items():
        vals.sort()
        out[label] = (percentile(vals, 99) * 1000, percentile(vals, 50) * 1000, len(vals))
    return out


async def run(ctx):
    """The closed loop for --duration seconds (the stress figure), then, unless --opt think=0, the
    paced operators (--opt think=S, default 1) for --opt paced_secs (default 120: about 30 requests
    of each of the 82 pages, so a page's p99 is about its slowest); per-page p50/p99 of both."""
    info = ctx.state["info"]
    think = float(ctx.option("think", 1.0))
    paced_secs = float(ctx.option("paced_secs", 120.0))
    await _drive(ctx, 2.0)   # warm-up: templates, pools, caches
    runs = [("closed", *(await _drive(ctx, ctx.duration)))]
    if think > 0:
        runs.append(("paced", *(await _drive(ctx, paced_secs, think))))
    tables = {}
    for mode, fig, got in runs:
        if got["bad"]:
            raise RuntimeError(f"{mode}: {len(got['bad'])} answers were not the page: " + "; ".join(got["bad"][:5]))
        tables[mode] = _per_page(got["per"])
    # Slowest first by the paced p99 when there is one (what an operator sees), else the closed loop's.
    key = "paced" if "paced" in tables else "closed"
    labels = sorted({lb for t in tables.values() for lb in t}, key=lambda lb: -tables[key].get(lb, (0, 0, 0))[0])
    head = "".join(f" {m + ' n':>9} {'p50 ms':>7} {'p99 ms':>7}" for m in tables)
    print(f"\n{'page':<24}{head}", file=sys.stderr)
    for label in labels:
        cells = ""
        for m, t in tables.items():
            p99, p50, n = t.get(label, (0.0, 0.0, 0))
            cells += f" {n:>9} {p50:>7.1f} {p99:>7.1f}{'*' if p99 >= 100 else ' '}"
        print(f"{label:<24}{cells}", file=sys.stderr)
    print("(* p99 >= 100 ms)", file=sys.stderr)
    top = int(ctx.option("show", 15))
    figs = []
    for mode, fig, got in runs:
        t = tables[mode]
        fig.extra.update({"merchants": info["merchants"], "orders": info["orders"], "products": info["products"],
                          "audit rows": info["audit"], "pages": len(ctx.state["pages"]),
                          "every answer the signed-in page": f"yes ({fig.requests})",
                          "pages with p99 >= 100 ms": sum(1 for v in t.values() if v[0] >= 100)})
        rows = sorted(((v[0], v[1], v[2], lb) for lb, v in t.items()), reverse=True)
        shown = rows if ctx.option("all", None) else rows[:top]
        for p99, p50, n, label in shown:
            fig.extra[f"  {label}: p50/p99 ms (n)"] = f"{p50:.1f}/{p99:.1f} ({n})"
        figs.append(fig)
    return figs
