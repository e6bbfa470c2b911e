"""Sharing (issue #29): a product's share poster (PNG) with the mini-program code of the simulator —
its scene decodes to the product and the share — and Chinese drawn with the bundled font; which share
brought an order, shown to the office and counted in the daily figures."""
from __future__ import annotations

import io
import secrets

import qrcode
from PIL import Image

from server.kit import clock, runtime
from server.media.storage import get_storage
from server.models.catalog import Product
from server.models.sharing import Share, ShareAttribution
from server.sharing import poster
from server.sharing import service as sharing
from server.stats import rollup
from tests.conftest import login, login_as
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body


def png(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG"
    return im.convert("RGB")


def expected_code(scene: str, env: str) -> Image.Image:
    """The code the WeChat simulator draws for this scene (a QR of app, version, page and scene)."""
    s = runtime.settings()
    buf = io.BytesIO()
    qrcode.make(f"wxacode:{s.wechat_app_id}:{env}:{s.share_product_page}?{scene}").save(buf, format="PNG")
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB").resize((poster.CODE, poster.CODE))


def dark(im: Image.Image, box: tuple[int, int, int, int]) -> int:
    return sum(1 for p in im.crop(box).getdata() if sum(p) < 300)


def test_scene_round_trip_fits_wechat_limit():
    big = 2**63 - 1
    sc = sharing.scene("product", big, big)
    assert len(sc) <= 32 and sharing.decode_scene(sc) == ("product", big, big)
    assert sharing.decode_scene(sharing.scene("product", 12, 345)) == ("product", 12, 345)
    for bad in ("", "p=1", "s=1", "p=zz!&s=1", "p=1&s=1&x=2", "p=0&s=1", "q=1&s=2"):
        try:
            sharing.decode_scene(bad)
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "code", "") == "bad_scene", bad
        else:
            raise AssertionError(bad)


def test_the_bundled_font_draws_chinese():
    f = poster.font(40)
    glyph, missing = f.getmask("喀"), f.getmask("\U0002a6a5")  # a character outside the subset: the empty box
    assert glyph.getbbox() and bytes(glyph) != bytes(missing)
    assert bytes(f.getmask("喀")) != bytes(f.getmask("左"))
    code = io.BytesIO()
    qrcode.make("x").save(code, format="PNG")
    spec = poster.PosterSpec(title="喀左陈醋 六年老陈醋", price="¥25.00", brand_line="喀左特色馆", code_png=code.getvalue())
    a, b = png(poster.render(spec)), png(poster.render(poster.PosterSpec(**{**spec.__dict__, "title": "喀左紫砂壶"})))
    title_box = (poster.MARGIN, poster.PICTURE + 20, poster.WIDTH - poster.CODE - 60, poster.PICTURE + 130)
    assert dark(a, title_box) > 300  # strokes of the Chinese title, not empty boxes
    assert list(a.crop(title_box).getdata()) != list(b.crop(title_box).getdata())


async def test_product_poster_carries_the_share_code(client, settings, monkeypatch):
    sharer, other = await login(client), await login(client)
    sku = await make_sku(price=2500)
    product = await Product.get(id=sku.product_id)
    # a real stored photo (red), as the upload endpoint keeps it
    photo = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 0, 0)).save(photo, format="JPEG")
    key = f"product/2026/12/{secrets.token_hex(8)}.jpg"
    await get_storage().save(key, photo.getvalue(), "image/jpeg")
    await Product.filter(id=product.id).update(images=[f"/media/{key}"], visible=True, status="on_sale")
    # the deployment's setting (KAZUO_WECHAT_WXACODE_ENV_VERSION), as the WeChat client got it at start-up
    monkeypatch.setattr(settings, "wechat_wxacode_env_version", "trial")
    monkeypatch.setattr(runtime.get().extras["wechat"], "wxacode_env_version", "trial")

    r = await sharer.post(f"/api/v1/products/{product.id}/share")
    assert r.status_code == 200, r.text
    share = r.json()
    assert (await sharer.post(f"/api/v1/products/{product.id}/share")).json()["share_id"] == share["share_id"]
    assert share["path"] == f"{settings.share_product_page}?id={product.id}&share={share['share_id']}"
    # the scene decodes to the product and the share
    r = await client.get("/api/v1/share-scene", params={"scene": share["scene"]})
    assert r.status_code == 200 and r.json()["target_id"] == product.id and r.json()["share_id"] == share["share_id"]
    assert (await client.get("/api/v1/share-scene", params={"scene": "p=1&x=2"})).status_code == 422
    forged = sharing.scene("product", product.id + 1, share["share_id"])
    assert (await client.get("/api/v1/share-scene", params={"scene": forged})).status_code == 404

    r = await sharer.get(share["poster_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    im = png(r.content)
    assert im.size == (poster.WIDTH, poster.HEIGHT)
    assert im.getpixel((100, 100))[0] > 150 and im.getpixel((100, 100))[1] < 60  # the photo on top
    # the code in the poster is the simulator's code for this share's scene, trial version (the setting)
    x, y = poster.WIDTH - poster.MARGIN - poster.CODE, poster.PICTURE + 40
    got = im.crop((x, y, x + poster.CODE, y + poster.CODE))
    want = expected_code(share["scene"], "trial")
    diff = sum(1 for a, b in zip(got.getdata(), want.getdata()) if abs(a[0] - b[0]) > 60)
    assert diff < poster.CODE * poster.CODE // 50, diff
    other_code = expected_code(sharing.scene("product", product.id, share["share_id"] + 1), "trial")
    assert sum(1 for a, b in zip(got.getdata(), other_code.getdata()) if abs(a[0] - b[0]) > 60) > 10 * diff
    # the price in red below the picture
    reds = sum(1 for p in im.crop((0, poster.PICTURE, poster.WIDTH - poster.CODE - 40, poster.HEIGHT - 100)).getdata()
               if p[0] > 180 and p[1] < 90 and p[2] < 90)
    assert reds > 200
    # scope: someone else's share is not found; an unknown product neither
    assert (await other.get(share["poster_url"])).status_code == 404
    assert (await sharer.post("/api/v1/products/999999999/share")).status_code == 404
    assert (await client.get(share["poster_url"])).status_code == 401


async def test_an_order_records_the_share_that_brought_it(client):
    sharer, buyer = await login(client), await login(client)
    sku = await make_sku(price=1800, stock=10)
    await Product.filter(id=sku.product_id).update(visible=True, status="on_sale")
    share_id = (await sharer.post(f"/api/v1/products/{sku.product_id}/share")).json()["share_id"]
    station = await make_station()

    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2), share_id=999999999))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "share_id"
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2), share_id=share_id))
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    again = await checkout(buyer, pickup_body(station.id, (sku.id, 2), share_id=share_id), key="k-" + secrets.token_hex(4))
    assert again.status_code == 201
    own = await checkout(sharer, pickup_body(station.id, (sku.id, 1), share_id=share_id))  # own share: not counted
    assert own.status_code == 201
    assert not await ShareAttribution.filter(order_id=own.json()["id"]).exists()
    a = await ShareAttribution.get(order_id=order_id)
    assert (a.share_id, a.sharer_id, a.buyer_id, a.target_id) == (share_id, sharer.id, buyer.id, sku.product_id)
    assert (await pay_and_notify(buyer, order_id))["delivered"]

    admin = await login_as(client, "admin")
    r = await admin.get("/api/v1/console/shares/attribution")
    assert r.status_code == 200, r.text
    rep = r.json()
    mine = next(s for s in rep["sharers"] if s["sharer_id"] == sharer.id)
    assert (mine["orders"], mine["paid_orders"], mine["paid_fen"]) == (2, 1, 3600)
    assert any(x["order_id"] == order_id and x["paid_fen"] == 3600 for x in rep["recent"])
    r = await admin.get(f"/api/v1/console/orders/{order_id}/share")
    assert r.status_code == 200 and r.json()["share"]["sharer_id"] == sharer.id
    assert (await admin.get("/api/v1/console/orders/999999999/share")).status_code == 404
    r = await admin.get(f"/api/v1/console/orders/{own.json()['id']}/share")  # no share brought it
    assert r.status_code == 200 and r.json() == {"order_id": own.json()["id"], "share": None}
    assert (await buyer.get("/api/v1/console/shares/attribution")).status_code == 403
    bad = await admin.get("/api/v1/console/shares/attribution", params={"from": "2026-02-30"})
    assert bad.status_code == 422
    bad = await admin.get("/api/v1/console/shares/attribution", params={"from": "2026-12-06", "to": "2026-12-01"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "from"

    # the day's figures count the shared sale
    rows = await rollup.compute_day(clock.local_today())
    shared = rows[("share", "all")]
    assert shared.gmv_fen >= 3600 and shared.orders >= 1
    assert await Share.filter(sharer_id=sharer.id).count() == 1


async def test_a_sharer_draws_a_limited_number_of_new_posters(client, monkeypatch):
    """A poster costs a drawing and a WeChat code call: at most POSTERS_PER_MINUTE new ones a minute per
    sharer (429); a poster already drawn comes from the cache and does not count; another sharer is free."""
    monkeypatch.setattr(sharing, "POSTERS_PER_MINUTE", 1)
    sharer, other = await login(client), await login(client)
    urls = []
    for _ in range(2):
        sku = await make_sku(price=900)
        await Product.filter(id=sku.product_id).update(visible=True, status="on_sale")
        urls.append((await sharer.post(f"/api/v1/products/{sku.product_id}/share")).json()["poster_url"])
    assert (await sharer.get(urls[0])).status_code == 200
    assert (await sharer.get(urls[0])).status_code == 200    # cached: not a new drawing
    r = await sharer.get(urls[1])
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    theirs = (await other.post(f"/api/v1/products/{sku.product_id}/share")).json()["poster_url"]
    assert (await other.get(theirs)).status_code == 200
