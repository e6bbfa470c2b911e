"""Checkout: 3-line orders (POST /api/v1/orders) at 50 concurrent buyers, next to the bare baseline.

Setup (untimed, straight into the database): three SKUs of three merchants with stock for every
request, a pickup station, `buyers` buyers with tokens (as login would issue). Timed: each request is
one buyer's checkout of the three SKUs (one unit each; buyers round-robin, no Idempotency-Key, so
every 201 is a new order reserving three units). Verified afterwards from the database: orders ==
201 answers, each SKU's stock + reserved unchanged and reserved == units in the new orders (no
oversell, nothing leaked). Run on PostgreSQL: `python -m bench.harness checkout --pg --redis`.
Options: --opt buyers=1000 --opt skus=3 (skus > 3: a catalogue of that many SKUs, each request takes
3 consecutive ones, so buyers contend less on the same stock rows than in the default worst case)."""
from __future__ import annotations

import secrets

from bench import Req

REQUIRES = ("pg",)
CONNECTIONS = 50
STOCK = 10_000_000
# The per-buyer checkout rate limit (30/min) would answer 429s: the bench measures checkout itself.
SERVER_ENV = {"KAZUO_CHECKOUT_RATE_PER_MINUTE": "100000000"}


async def setup(ctx):
    n = int(ctx.option("buyers", 1000))
    tag = secrets.token_hex(3)
    async with ctx.services():
        from server.kit.auth import issue_token
        from server.models.accounts import User
        from server.models.catalog import Category, Product, Sku
        from server.models.merchants import Merchant
        from server.models.stations import Station

        cat, _ = await Category.get_or_create(slug="grains", defaults={"name": "杂粮", "is_farm_product": True})
        skus = []
        names = [("喀左老陈醋", 2800), ("喀左小米 2.5kg", 3990), ("喀左荞麦面", 1880)]
        n_skus = max(3, int(ctx.option("skus", 3)))
        for i, (name, price) in enumerate(names[i % 3] for i in range(n_skus)):
            m = await Merchant.create(name=f"bench商户{tag}{i}", kind="cooperative", status="active")
            p = await Product.create(merchant_id=m.id, category_id=cat.id, name=name, status="on_sale",
                                     min_price=price)
            skus.append(await Sku.create(product_id=p.id, spec="标准装", price=price, list_price=price, stock=STOCK))
        st = await Station.create(code=f"BC-{tag}", name="十家子村电商服务站", level="village", services=["pickup"])
        await User.bulk_create([User(openid=f"o-bc-{tag}-{i}") for i in range(n)], batch_size=1000)
        ids = await User.filter(openid__startswith=f"o-bc-{tag}-").order_by("id").values_list("id", flat=True)
        tokens = [issue_token(u, ["consumer"], 0) for u in ids]
    ctx.state.update(sku_ids=[s.id for s in skus], station_id=st.id, tokens=tokens, buyer_ids=list(ids))
    ctx.log(f"{n} buyers, 3 SKUs with stock {STOCK}")


def requests(ctx):
    st = ctx.state
    ids = st["sku_ids"]
    out = []
    for i, t in enumerate(st["tokens"]):
        three = [ids[(i + k) % len(ids)] for k in range(3)]
        body = {"fulfilment": "pickup", "station_id": st["station_id"],
                "lines": [{"sku_id": s, "quantity": 1} for s in three]}
        out.append(Req("POST", "/api/v1/orders", headers={"Authorization": f"Bearer {t}"}, body=body))
    return out


async def run(ctx):
    """The timed load, plus the CPU the server, its PostgreSQL backends and the bare app burn per
    request: on a machine whose two cores are shared, req/s follows whatever CPU share the server
    gets; CPU per request does not."""
    from bench.loadgen import run_asyncio, run_wrk

    reqs = requests(ctx)
    await ctx.warmup(reqs, 1.0)
    # With --workers N the requests are served by Sanic's worker processes, whose CPU the main
    # process's /proc figures do not include while they run: each is read apart (server_cpu).
    db0 = await ctx.db_backends_cpu()
    c0 = ctx.server_cpu()
    fig = await ctx.load(reqs, name="checkout")
    c1 = ctx.server_cpu()
    server_cpu = c1["server"] - c0["server"]
    db1 = await ctx.db_backends_cpu()
    # Backends that came and went during the load are missed: the pools keep theirs open.
    db_cpu = sum(t - db0.get(pid, 0.0) for pid, t in db1.items())
    bare_pid = ctx.stack.bare.popen.pid
    drive = run_wrk if ctx.client == "wrk" else run_asyncio
    b0 = ctx.tree_cpu_seconds(bare_pid)  # its workers too, with --workers N
    bare = await drive(ctx.stack.bare_url, [Req("GET", "/")], connections=ctx.connections,
                       duration=min(ctx.duration, 5.0), name="bare (cpu)")
    bare_cpu = ctx.tree_cpu_seconds(bare_pid) - b0
    if fig.requests and bare.requests and server_cpu > 0:
        per_order = server_cpu / fig.requests * 1000
        per_bare = bare_cpu / bare.requests * 1000
        fig.extra.update({"server_cpu_ms_per_order": round(per_order, 2),
                          "postgres_cpu_ms_per_order": round(db_cpu / fig.requests * 1000, 2),
                          "bare_cpu_ms_per_request": round(per_bare, 3),
                          "cpu_normalised_ratio_pct": round(100 * per_bare / per_order, 1)})
        if ctx.stack.opts.workers > 1:  # each Sanic process's CPU over the load
            fig.extra.update({f"{k}_cpu_ms": round((v - c0.get(k, 0.0)) * 1000) for k, v in c1.items()
                              if k.startswith("server")})
    return fig


async def verify(ctx):
    st = ctx.state
    async with ctx.services():
        from server.models.catalog import Sku
        from server.models.orders import Order, OrderLine

        orders = await Order.filter(buyer_id__in=st["buyer_ids"]).count()
        out = {"orders_in_db": orders}
        consistent = True
        for sid in st["sku_ids"]:
            sku = await Sku.get(id=sid)
            units = sum(await OrderLine.filter(sku_id=sid, order__status="pending_payment")
                        .values_list("quantity", flat=True))
            consistent &= sku.stock + sku.reserved == STOCK and sku.reserved == units
        lines = await OrderLine.filter(order__buyer_id__in=st["buyer_ids"]).count()
        consistent &= lines == 3 * orders
        out["stock_consistent"] = bool(consistent)
    return out
