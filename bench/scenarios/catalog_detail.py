"""Product detail (cached in Redis), anonymous: GET /api/v1/products/<id> over 500 distinct products.

Setup seeds --opt products=1000 visible products (bench/scenarios/catalog_scale.py); after the
warm-up each detail comes from the cache (the per-product namespace and entry in one Lua call)."""
import random

from bench import Req
from bench.scenarios.catalog_scale import seed

CONNECTIONS = 50
SETUP_TIMEOUT = 900


async def setup(ctx):
    info = await seed(ctx, int(ctx.option("products", 1000)))
    rng = random.Random(7)
    ctx.state["ids"] = [rng.randint(info["lo"], info["hi"]) for _ in range(500)]
    ctx.state["info"] = info
    # Fill the cache first (each miss costs ~5 queries): the measurement is of cached reads.
    for i in set(ctx.state["ids"]):
        (await ctx.http.get(f"/api/v1/products/{i}")).raise_for_status()


def requests(ctx):
    return [Req("GET", f"/api/v1/products/{i}") for i in ctx.state["ids"]]


async def verify(ctx):
    r = await ctx.http.get(f"/api/v1/products/{ctx.state['ids'][0]}")
    r.raise_for_status()
    d = r.json()
    if not d["skus"] or d["stock_state"] not in ("in_stock", "low", "sold_out") or "stock" in d["skus"][0]:
        raise AssertionError(f"unexpected detail: {d}")
    return {"checked": "detail has SKUs and a stock state, no counts", "products": ctx.state["info"]["n"]}
