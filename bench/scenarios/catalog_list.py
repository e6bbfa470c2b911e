"""Product listing, page 1 of a category (cached in Redis), anonymous: GET /api/v1/products?category_id=.

Setup seeds --opt products=1000 visible products (bench/scenarios/catalog_scale.py); the requests
cycle over page 1 of the five top categories, so after the warm-up every answer comes from the cache
(one Redis round trip: namespace version + entry in one Lua call)."""
from bench.scenarios.catalog_scale import cached_list_reqs, seed

CONNECTIONS = 50
SETUP_TIMEOUT = 900


async def setup(ctx):
    ctx.state["info"] = await seed(ctx, int(ctx.option("products", 1000)))
    for r in cached_list_reqs(ctx.state["info"]):
        (await ctx.http.get(r.path)).raise_for_status()


def requests(ctx):
    return cached_list_reqs(ctx.state["info"])


async def verify(ctx):
    info = ctx.state["info"]
    r = await ctx.http.get(f"/api/v1/products?category_id={info['categories'][0]}")
    r.raise_for_status()
    items = r.json()["items"]
    if len(items) != 20 or not r.json()["next_cursor"]:
        raise AssertionError(f"expected a full first page, got {len(items)}")
    return {"checked": "page 1 has 20 items and a next cursor", "products": info["n"]}
