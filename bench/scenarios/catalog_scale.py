"""Catalog listing latency at 1,000 vs 100,000 products (cached and uncached), plus the bulk seeder
the other catalog scenarios use.

Setup writes straight into the server's database (untimed): categories, 100 active merchants, and
products on sale with one SKU each, by multi-row INSERTs (about 100,000 products in seconds). Then,
for each catalog size (--opt sizes=1000,100000):
  * "list cached": page 1 of five categories (served from Redis after the first hit);
  * "list uncached": category pages at random keyset positions (a fresh cursor per request, so the
    cache cannot answer: the database does), newest first;
  * "price uncached": the same with sort=price_asc and a price cursor (index (visible, category,
    min_price, id)).
  * "search uncached": a keyword search at a random keyset position (LIKE substring: it scans).
The growth from the small to the large catalog is the figure to read (p50/p99)."""
from __future__ import annotations

import random
import secrets

from bench import Req

CONNECTIONS = 50
SETUP_TIMEOUT = 900
CATEGORIES = [("vinegar", "陈醋"), ("zisha", "紫砂"), ("grains", "杂粮"), ("produce", "果蔬"), ("folk", "民俗文旅")]
WORDS = ["小米", "陈醋", "紫砂壶", "荞麦", "绿豆", "南果梨", "番茄", "高粱", "剪纸", "香醋", "黄米", "蜂蜜"]
TOWNS = ["利州街道", "南公营子镇", "山嘴子镇", "平房子镇", "白塔子镇", "公营子镇"]
BRANDS = ["", "", "kazuo_grains", "kazuo_vinegar", "kazuo_zisha"]


async def seed(ctx, total: int) -> dict:
    """Bring the number of visible products up to `total`; returns category ids and id range."""
    async with ctx.services():
        from tortoise import Tortoise

        from server.models.catalog import Category, Product
        from server.models.merchants import Merchant

        conn = Tortoise.get_connection("default")
        cats = []
        for i, (slug, name) in enumerate(CATEGORIES):
            c, _ = await Category.get_or_create(slug=slug, defaults={"name": name, "sort": i})
            cats.append(c.id)
        merchants = list(await Merchant.filter(name__startswith="基准商户").values_list("id", flat=True))
        if not merchants:
            await Merchant.bulk_create([Merchant(name=f"基准商户{i:03d}", kind="cooperative", status="active",
                                                 town=TOWNS[i % len(TOWNS)], licence_no=f"BENCH{i:06d}")
                                        for i in range(100)])
            merchants = list(await Merchant.filter(name__startswith="基准商户").values_list("id", flat=True))
        have = await Product.filter(visible=True).count()
        rng = random.Random(total)
        tag = secrets.token_hex(2)
        pg = ctx.pg
        batch = 1000  # 17 parameters a row: stays under the 32,767 bind-parameter limit
        todo = max(0, total - have)
        made = 0
        while made < todo:
            n = min(batch, todo - made)
            rows, params = [], []
            for k in range(n):
                word = rng.choice(WORDS)
                town = rng.choice(TOWNS)
                brand = rng.choice(BRANDS)
                name = f"{word} {tag}-{made + k}"
                price = rng.randint(500, 50000)
                vals = [rng.choice(merchants), rng.choice(cats), name, f"喀左{word}", "", "[]", town, "",
                        brand, "on_sale", price, rng.randint(0, 5000), True,
                        f"{name} 喀左{word} {town}".lower(), "", "", False]
                params.extend(vals)
                rows.append("(" + ",".join(_ph(pg, len(params) - len(vals) + j + 1) for j in range(len(vals)))
                            + f",{_now(pg)},{_now(pg)},{_now(pg)})")
            sql = ("INSERT INTO products (merchant_id, category_id, name, subtitle, description, images, "
                   "origin_town, origin_village, brand, status, min_price, sales, visible, search_text, "
                   "reject_reason, takedown_reason, pending_revision, created_at, updated_at, published_at) "
                   "VALUES " + ",".join(rows))
            await conn.execute_query(sql, params)
            made += n
        if todo:
            # one SKU per new product, priced at its min_price, by one INSERT ... SELECT
            await conn.execute_query(
                "INSERT INTO skus (product_id, spec, price, list_price, stock, reserved, weight_g, cold_chain, "
                "is_active, sales, created_at) SELECT p.id, '500g', p.min_price, p.min_price, "
                "(p.id % 50), 0, 500, FALSE, TRUE, 0, p.created_at FROM products p "
                "WHERE NOT EXISTS (SELECT 1 FROM skus s WHERE s.product_id = p.id)")
            if pg:
                await conn.execute_query("ANALYZE products")
                await conn.execute_query("ANALYZE skus")
        lo_hi = await conn.execute_query_dict(
            "SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM products WHERE visible")
    r = lo_hi[0]
    ctx.log(f"catalog: {r['n']} visible products (added {todo})")
    return {"categories": cats, "lo": r["lo"], "hi": r["hi"], "n": r["n"]}


def _ph(pg: bool, i: int) -> str:
    return f"${i}" if pg else "?"


def _now(pg: bool) -> str:
    return "now()" if pg else "CURRENT_TIMESTAMP"


def cursor(values: list) -> str:
    from server.kit.schemas import encode_cursor

    return encode_cursor(values)


def cached_list_reqs(info: dict) -> list[Req]:
    return [Req("GET", f"/api/v1/products?category_id={c}") for c in info["categories"]]


def uncached_list_reqs(info: dict, n: int = 30000, seed_: int = 1) -> list[Req]:
    rng = random.Random(seed_)
    return [Req("GET", f"/api/v1/products?category_id={rng.choice(info['categories'])}&sort=newest"
                       f"&cursor={cursor([rng.randint(info['lo'], info['hi'])])}") for _ in range(n)]


def uncached_price_reqs(info: dict, n: int = 30000, seed_: int = 2) -> list[Req]:
    rng = random.Random(seed_)
    return [Req("GET", f"/api/v1/products?category_id={rng.choice(info['categories'])}&sort=price_asc"
                       f"&cursor={cursor([rng.randint(500, 50000), rng.randint(info['lo'], info['hi'])])}")
            for _ in range(n)]


def uncached_search_reqs(info: dict, n: int = 30000, seed_: int = 3) -> list[Req]:
    from urllib.parse import quote

    rng = random.Random(seed_)
    return [Req("GET", f"/api/v1/products?q={quote(rng.choice(WORDS))}&sort=newest"
                       f"&cursor={cursor([rng.randint(info['lo'], info['hi'])])}") for _ in range(n)]


async def run(ctx):
    sizes = [int(s) for s in str(ctx.option("sizes", "1000,100000")).split(",")]
    shapes = [s for s in str(ctx.option("shapes", "cached,uncached,price,search")).split(",")]
    out = []
    for size in sizes:
        info = await seed(ctx, size)
        label = f"{info['n'] // 1000}k" if info["n"] >= 1000 else str(info["n"])
        plans = {"cached": ("list cached", cached_list_reqs(info)),
                 "uncached": ("list uncached", uncached_list_reqs(info)),
                 "price": ("price uncached", uncached_price_reqs(info)),
                 "search": ("search uncached", uncached_search_reqs(info))}
        for shape in shapes:
            title, reqs = plans[shape]
            await ctx.warmup(reqs[:50] if shape != "cached" else reqs, 1.0)
            fig = await ctx.load(reqs, name=f"{title} @{label}")
            fig.extra["products"] = info["n"]
            out.append(fig)
    return out
