"""Memory: the server's RSS after 10k and after 100k requests of a day's mix (goal: growth <= 10 MB).

Setup (untimed): 1,000 products (bench/scenarios/catalog_scale.py), three SKUs with stock for every
checkout, a pickup station, --opt users=2000 buyers with tokens (as login would issue), a live
session on air with a SKU tied in (quota for every buyer, one each), 40 buyers' live tickets placed
and 200 buyers' orders written, so every kind of request below meets real rows.
Timed, in count mode (every request sent once, 50 connections), in chunks of --opt chunk=10000 up to
--opt total=100000, a mix of what a day sends, each buyer drawn at random: the storefront listing
(categories and sorts, keyset cursors), product detail, search with varying keywords (a fifth of them
unique strings), /me, cart add / remove / view, checkout of a 1-3 line order (a unique
Idempotency-Key each), my orders and one of them, ticket polls, the live session view, the buy
button (each buyer once), and bad inputs with unique ids and strings: unknown products, orders,
tickets, categories and paths (404), invalid bodies (422), forged tokens (401) — so any cache keyed
by what a client sends would grow. After each chunk (and a second's quiet) the RSS of every server
process is read from /proc/<pid>/status (VmRSS): with --workers N the sum over Sanic's worker
processes, its main process (which serves nothing), its SyncManager and resource tracker. Printed: rss_10k_mb, rss_100k_mb, growth_mb,
memory_goal (PASS when growth <= 10 MB), the RSS after each chunk, and the statuses.
Run: `python -m bench.harness memory --pg --redis` (add --workers 2 for two Sanic workers).
To find what grows: --opt signal=USR1 sends SIGUSR1 to the server after each chunk (one Sanic worker); start
the server with a sitecustomize.py on PYTHONPATH (the harness passes it through) whose SIGUSR1
handler starts tracemalloc the first time (traced from start-up, the server is not ready within the
harness's 90 s) and dumps a snapshot each later time, then compare the first and the last snapshot
(Snapshot.compare_to(..., "traceback"))."""
from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
from datetime import timedelta
from urllib.parse import quote

from bench import Req
from bench.scenarios.catalog_scale import WORDS, cursor, seed
from bench.scenarios.flash_sale import _follow, _go_live

REQUIRES = ("pg", "redis")
CONNECTIONS = 50
SETUP_TIMEOUT = 900
STOCK = 10_000_000
GOAL_MB = 10.0
# A day's checkouts and logins from few addresses: the limiters are not what is measured here.
SERVER_ENV = {"KAZUO_CHECKOUT_RATE_PER_MINUTE": "100000000"}

# (weight, kind): the share of each kind of request in the mix
MIX = [
    (18, "list"), (14, "detail"), (5, "search"), (8, "me"), (6, "cart_add"), (4, "cart_remove"),
    (3, "cart_view"), (3, "checkout"), (7, "orders"), (5, "order"), (5, "ticket"), (8, "session"),
    (1, "buy"), (2, "bad_product"), (2, "bad_order"), (2, "bad_ticket"), (1, "bad_category"),
    (2, "bad_body"), (1, "bad_token"), (1, "bad_path"), (2, "shop"),
]


async def setup(ctx):
    n = int(ctx.option("users", 2000))
    tag = secrets.token_hex(3)
    info = await seed(ctx, int(ctx.option("products", 1000)))
    async with ctx.services():
        from server.kit import clock
        from server.kit.auth import issue_token
        from server.models.accounts import User
        from server.models.catalog import Category, Product, Sku
        from server.models.live_consent import LivePoolProduct
        from server.models.merchants import Merchant
        from server.models.stations import Station

        cat, _ = await Category.get_or_create(slug="grains", defaults={"name": "杂粮", "is_farm_product": True})
        skus, merchants = [], []
        for i, (name, price) in enumerate([("喀左老陈醋", 2800), ("喀左小米 2.5kg", 3990), ("喀左荞麦面", 1880)]):
            m = await Merchant.create(name=f"内存商户{tag}{i}", kind="cooperative", status="active")
            p = await Product.create(merchant_id=m.id, category_id=cat.id, name=name, status="on_sale",
                                     min_price=price)
            skus.append(await Sku.create(product_id=p.id, spec="标准装", price=price, list_price=price, stock=STOCK))
            merchants.append(m.id)
        lm = await Merchant.create(name=f"内存直播合作社{tag}", kind="cooperative", status="active")
        lp = await Product.create(merchant_id=lm.id, category_id=cat.id, name="喀左老陈醋 直播装",
                                  status="on_sale", min_price=2800)
        live_sku = await Sku.create(product_id=lp.id, spec="500ml", price=2800, list_price=3500, stock=n + 100)
        await LivePoolProduct.create(product_id=lp.id, merchant_id=lm.id, min_price_bp=0, max_commission_bp=2000,
                                     agreement="bench", added_by=0)
        st = await Station.create(code=f"MEM-{tag}", name="十家子村电商服务站", level="village", services=["pickup"])
        await User.bulk_create([User(openid=f"o-mem-{tag}-{i}") for i in range(n)], batch_size=1000)
        ids = await User.filter(openid__startswith=f"o-mem-{tag}-").order_by("id").values_list("id", flat=True)
        tokens = [issue_token(u, ["consumer"], 0) for u in ids]
        start = (clock.now() + timedelta(minutes=5)).isoformat()
    session_id, _ = await _go_live(ctx, f"o-mem-streamer-{tag}", start, live_sku.id, n, 1)
    hdr = [{"Authorization": f"Bearer {t}"} for t in tokens]
    buy = {"sku_id": live_sku.id, "quantity": 1, "fulfilment": "pickup", "station_id": st.id}
    # 40 buyers pressed the buy button before: their tickets are polled during the load.
    answers = await asyncio.gather(*[ctx.http.post(f"/api/v1/live/sessions/{session_id}/orders", json=buy,
                                                   headers=hdr[i]) for i in range(40)])
    tickets = [(r.json()["ticket"], hdr[i]) for i, r in enumerate(answers) if r.status_code == 202]
    placed, failed, _ = await _follow(ctx, tickets, 0.0)
    if failed:
        raise RuntimeError(f"{failed} of the setup's live tickets failed")
    # 200 buyers (from the 41st) checked out once: my orders and an order's page have rows to show.
    sem = asyncio.Semaphore(20)

    async def order(i: int):
        async with sem:
            r = await ctx.http.post("/api/v1/orders", headers={**hdr[i], "Idempotency-Key": secrets.token_hex(8)},
                                    json={"fulfilment": "pickup", "station_id": st.id,
                                          "lines": [{"sku_id": skus[i % 3].id, "quantity": 1}]})
            if r.status_code != 201:
                raise RuntimeError(f"setup checkout: {r.status_code} {r.text}")
            return i, r.json()["id"]

    orders = await asyncio.gather(*[order(i) for i in range(40, 240)])
    ctx.state.update(info=info, tokens=tokens, headers=hdr, sku_ids=[s.id for s in skus], merchants=merchants,
                     station_id=st.id, session_id=session_id, buy=buy, tickets=tickets, orders=orders,
                     bought=set(range(40)))
    ctx.log(f"{n} buyers, {placed} live tickets placed, {len(orders)} orders, {info['n']} products")


def _mix(ctx, count: int, rng: random.Random, serial: list[int]) -> list[Req]:
    st = ctx.state
    info = st["info"]
    kinds = [k for _, k in MIX]
    weights = [w for w, _ in MIX]
    hdr = st["headers"]
    n = len(hdr)
    out = []
    for kind in rng.choices(kinds, weights, k=count):
        serial[0] += 1
        uniq = f"{serial[0]:x}{rng.getrandbits(24):06x}"
        u = rng.randrange(n)
        h = hdr[u]
        if kind == "list":
            c = rng.choice(info["categories"])
            shape = rng.random()
            if shape < 0.6:
                out.append(Req("GET", f"/api/v1/products?category_id={c}"))
            elif shape < 0.8:
                out.append(Req("GET", f"/api/v1/products?category_id={c}&sort={rng.choice(['newest', 'sales', 'price_asc'])}"))
            else:
                out.append(Req("GET", f"/api/v1/products?category_id={c}&sort=newest"
                                      f"&cursor={cursor([rng.randint(info['lo'], info['hi'])])}"))
        elif kind == "detail":
            out.append(Req("GET", f"/api/v1/products/{rng.randint(info['lo'], info['hi'])}"))
        elif kind == "search":
            word = rng.choice(WORDS)
            if rng.random() < 0.2:
                word += uniq
            out.append(Req("GET", f"/api/v1/products?q={quote(word)}"))
        elif kind == "me":
            out.append(Req("GET", "/api/v1/me", headers=h))
        elif kind == "cart_add":
            out.append(Req("POST", "/api/v1/cart/items", headers=h,
                           body={"sku_id": rng.choice(st["sku_ids"]), "quantity": rng.randint(1, 3)}))
        elif kind == "cart_remove":
            out.append(Req("DELETE", f"/api/v1/cart/items/{rng.choice(st['sku_ids'])}", headers=h))
        elif kind == "cart_view":
            out.append(Req("GET", "/api/v1/cart", headers=h))
        elif kind == "checkout":
            lines = rng.sample(st["sku_ids"], rng.randint(1, 3))
            out.append(Req("POST", "/api/v1/orders", headers={**h, "Idempotency-Key": "mem-" + uniq},
                           body={"fulfilment": "pickup", "station_id": st["station_id"],
                                 "lines": [{"sku_id": s, "quantity": 1} for s in lines]}))
        elif kind == "orders":
            i, _ = rng.choice(st["orders"])
            out.append(Req("GET", "/api/v1/orders", headers=hdr[i] if rng.random() < 0.7 else h))
        elif kind == "order":
            i, oid = rng.choice(st["orders"])
            out.append(Req("GET", f"/api/v1/orders/{oid}", headers=hdr[i]))
        elif kind == "ticket":
            t, th = rng.choice(st["tickets"])
            out.append(Req("GET", f"/api/v1/live/tickets/{t}", headers=th))
        elif kind == "session":
            out.append(Req("GET", f"/api/v1/live/sessions/{st['session_id']}"))
        elif kind == "buy":
            if u in st["bought"]:  # each buyer once (the limit): a second press is a plain 409
                out.append(Req("GET", f"/api/v1/live/sessions/{st['session_id']}"))
            else:
                st["bought"].add(u)
                out.append(Req("POST", f"/api/v1/live/sessions/{st['session_id']}/orders", headers=h,
                               body=st["buy"]))
        elif kind == "bad_product":
            out.append(Req("GET", f"/api/v1/products/{10**12 + serial[0]}"))
        elif kind == "bad_order":
            out.append(Req("GET", f"/api/v1/orders/{10**12 + serial[0]}", headers=h))
        elif kind == "bad_ticket":
            out.append(Req("GET", f"/api/v1/live/tickets/nope{uniq}", headers=h))
        elif kind == "bad_category":
            out.append(Req("GET", f"/api/v1/products?category_id={10**9 + serial[0]}"))
        elif kind == "bad_body":
            out.append(Req("POST", "/api/v1/cart/items", headers=h,
                           body={"sku_id": 10**9 + serial[0], "quantity": -serial[0], "note": uniq}))
        elif kind == "bad_token":
            out.append(Req("GET", "/api/v1/me", headers={"Authorization": f"Bearer {hdr[u]['Authorization'][7:-6]}{uniq[:6]}"}))
        elif kind == "bad_path":
            out.append(Req("GET", f"/api/v1/nope/{uniq}"))
        elif kind == "shop":
            out.append(Req("GET", f"/api/v1/shops/{rng.choice(st['merchants'])}"))
    return out


def _rss(ctx) -> dict[str, int]:
    out = {}
    for pid, label in ctx.server_processes().items():
        try:
            out[label] = ctx.rss_bytes(pid)
        except OSError:
            pass
    return out


def _serving_rss(rss: dict[str, int]) -> int:
    """The figure the goal is on: every server process (Sanic's main one included, with N workers)."""
    return sum(rss.values())


async def run(ctx):
    total = int(ctx.option("total", 100_000))
    chunk = int(ctx.option("chunk", 10_000))
    rng = random.Random(27)
    serial = [0]
    sent = 0
    marks: list[tuple[int, dict[str, int]]] = []
    statuses: dict[int, int] = {}
    errors = 0
    secs = 0.0
    lat99 = []
    cpu0 = ctx.server_cpu()
    while sent < total:
        reqs = _mix(ctx, min(chunk, total - sent), rng, serial)
        fig = await ctx.drive(reqs, name="memory", connections=ctx.connections)
        sent += len(reqs)
        errors += fig.errors
        secs += fig.duration
        lat99.append(fig.p99_ms)
        for k, v in fig.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
        await asyncio.sleep(1.0)  # let the queued work (ticket writes, jobs) settle before reading
        rss = _rss(ctx)
        marks.append((sent, rss))
        if ctx.option("signal"):  # e.g. USR1 to a server started with a tracemalloc snapshot handler
            for pid, label in ctx.server_processes().items():
                if label == "server":  # one Sanic worker only: a spawned worker would die of it
                    os.kill(pid, getattr(signal, "SIG" + ctx.option("signal")))
        ctx.log(f"{sent:,} requests: server RSS {_serving_rss(rss) / 2**20:.1f} MB "
                + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in rss.items()))
    cpu1 = ctx.server_cpu()
    first = _serving_rss(marks[0][1])
    last = _serving_rss(marks[-1][1])
    growth = (last - first) / 2**20
    fig.requests = sent
    fig.duration = secs
    fig.statuses = dict(sorted(statuses.items()))
    fig.non2xx = sum(v for k, v in statuses.items() if not 200 <= k < 300)
    fig.errors = errors
    fig.p99_ms = max(lat99)  # the worst chunk's p99
    fig.extra.pop("started_at", None)
    fig.extra.pop("max_ms", None)
    k1, kn = f"{marks[0][0] // 1000}k", f"{marks[-1][0] // 1000}k"
    fig.extra.update({
        f"rss_{k1}_mb": round(first / 2**20, 1), f"rss_{kn}_mb": round(last / 2**20, 1),
        "growth_mb": round(growth, 1),
        "memory_goal": f"{'PASS' if growth <= GOAL_MB else 'FAIL'} (growth <= {GOAL_MB:g} MB)",
        "rss_by_process_mb": ", ".join(f"{k} {v / 2**20:.1f}" for k, v in marks[-1][1].items()),
        "rss_per_chunk_mb": " ".join(f"{_serving_rss(r) / 2**20:.1f}" for _, r in marks),
        **{f"{k}_cpu_ms_per_request": round((v - cpu0.get(k, 0.0)) * 1000 / sent, 3) for k, v in cpu1.items()},
    })
    unexpected = {k: v for k, v in statuses.items() if k >= 500}
    if unexpected or errors:
        fig.extra["unexpected"] = f"5xx {unexpected}, socket errors {errors}"
    ctx.state["memory_fig"] = fig
    return fig


async def verify(ctx):
    fig = ctx.state["memory_fig"]
    if any(k >= 500 for k in fig.statuses):
        raise AssertionError(f"server errors in the mix: {fig.statuses}")
    return {}
