"""Campaign share posters (gap of #29 and #28): a buyer shares a published festival campaign; its
poster carries the simulator's mini-program code whose scene decodes to the campaign and the share,
opening the campaign page; an order placed through it is attributed to the campaign share."""
from __future__ import annotations

import io
import random
import secrets
from datetime import timedelta

import qrcode
from PIL import Image

from server.kit import clock, runtime
from server.media.storage import get_storage
from server.models.catalog import Product
from server.models.promotions import Campaign
from server.models.sharing import ShareAttribution
from server.sharing import poster
from server.sharing import service as sharing
from tests.conftest import login, login_as
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body


def code_of(scene: str) -> Image.Image:
    """The code the WeChat simulator draws for this scene, opening the campaign page."""
    s = runtime.settings()
    buf = io.BytesIO()
    qrcode.make(f"wxacode:{s.wechat_app_id}:{s.wechat_wxacode_env_version}:{s.share_campaign_page}?{scene}").save(
        buf, format="PNG")
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB").resize((poster.CODE, poster.CODE))


async def make_campaign(product_ids: list[int], *, status: str = "published", days: int | None = None,
                        banner: str = "") -> Campaign:
    """A campaign far from any other test's dates (no other published campaign overlaps it)."""
    start = clock.now() + timedelta(days=days if days is not None else random.randint(4000, 9000),
                                    minutes=random.randint(0, 1440))
    return await Campaign.create(title="喀左小米丰收节" + secrets.token_hex(2), description="", banner=banner,
                                 starts_at=start, ends_at=start + timedelta(hours=2), product_ids=product_ids,
                                 coupon_ids=[], status=status)


async def test_campaign_poster_carries_the_campaign_code(client, settings):
    sharer, other = await login(client), await login(client)
    sku = await make_sku(price=2500)
    await Product.filter(id=sku.product_id).update(visible=True, status="on_sale", min_price=2500)
    photo = io.BytesIO()
    Image.new("RGB", (750, 300), (200, 0, 0)).save(photo, format="JPEG")
    key = f"content/2026/12/{secrets.token_hex(8)}.jpg"
    await get_storage().save(key, photo.getvalue(), "image/jpeg")
    c = await make_campaign([sku.product_id], banner=f"/media/{key}")

    r = await sharer.post(f"/api/v1/campaigns/{c.id}/share")
    assert r.status_code == 200, r.text
    share = r.json()
    assert share["kind"] == "campaign" and share["target_id"] == c.id
    assert (await sharer.post(f"/api/v1/campaigns/{c.id}/share")).json()["share_id"] == share["share_id"]
    assert share["path"] == f"{settings.share_campaign_page}?id={c.id}&share={share['share_id']}"
    assert share["scene"].startswith("c=") and sharing.decode_scene(share["scene"]) == (
        "campaign", c.id, share["share_id"])
    # the scene decodes to the campaign and the share, and opens the campaign page
    r = await client.get("/api/v1/share-scene", params={"scene": share["scene"]})
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["target_id"], r.json()["share_id"]) == ("campaign", c.id, share["share_id"])
    assert r.json()["path"].startswith(settings.share_campaign_page + "?")
    forged = sharing.scene("product", c.id, share["share_id"])  # the same ids as a product share: no such share
    assert (await client.get("/api/v1/share-scene", params={"scene": forged})).status_code == 404

    r = await sharer.get(share["poster_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    im = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert im.size == (poster.WIDTH, poster.HEIGHT)
    assert im.getpixel((100, 100))[0] > 150 and im.getpixel((100, 100))[1] < 60  # the banner on top
    x, y = poster.WIDTH - poster.MARGIN - poster.CODE, poster.PICTURE + 40
    got = im.crop((x, y, x + poster.CODE, y + poster.CODE))
    want = code_of(share["scene"])
    diff = sum(1 for a, b in zip(got.getdata(), want.getdata()) if abs(a[0] - b[0]) > 60)
    assert diff < poster.CODE * poster.CODE // 50, diff
    other_code = code_of(sharing.scene("campaign", c.id, share["share_id"] + 1))
    assert sum(1 for a, b in zip(got.getdata(), other_code.getdata()) if abs(a[0] - b[0]) > 60) > 10 * diff
    reds = sum(1 for p in im.crop((0, poster.PICTURE, poster.WIDTH - poster.CODE - 40, poster.HEIGHT - 100)).getdata()
               if p[0] > 180 and p[1] < 90 and p[2] < 90)
    assert reds > 200  # the lowest price of its goods, in red
    # scope and state: someone else's share, a draft, a withdrawn and an ended campaign, no campaign
    assert (await other.get(share["poster_url"])).status_code == 404
    assert (await client.get(share["poster_url"])).status_code == 401
    draft = await make_campaign([sku.product_id], status="draft")
    assert (await sharer.post(f"/api/v1/campaigns/{draft.id}/share")).status_code == 404
    assert (await sharer.post("/api/v1/campaigns/999999999/share")).status_code == 404
    ended = await make_campaign([sku.product_id], days=-(random.randint(4000, 9000)))
    r = await sharer.post(f"/api/v1/campaigns/{ended.id}/share")
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_ended"
    await Campaign.filter(id=c.id).update(status="withdrawn")
    assert (await client.get("/api/v1/share-scene", params={"scene": share["scene"]})).status_code == 404
    assert (await sharer.get(share["poster_url"])).status_code == 404


async def test_an_order_is_attributed_to_the_campaign_share(client):
    sharer, buyer = await login(client), await login(client)
    sku = await make_sku(price=1800, stock=10)
    await Product.filter(id=sku.product_id).update(visible=True, status="on_sale")
    c = await make_campaign([sku.product_id])
    share_id = (await sharer.post(f"/api/v1/campaigns/{c.id}/share")).json()["share_id"]
    station = await make_station()
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), share_id=share_id))
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    a = await ShareAttribution.get(order_id=order_id)
    assert (a.kind, a.target_id, a.sharer_id, a.buyer_id) == ("campaign", c.id, sharer.id, buyer.id)
    assert (await pay_and_notify(buyer, order_id))["delivered"]

    admin = await login_as(client, "admin")
    rep = (await admin.get("/api/v1/console/shares/attribution")).json()
    got = next(x for x in rep["recent"] if x["order_id"] == order_id)
    assert (got["kind"], got["target_id"], got["target_name"], got["paid_fen"]) == ("campaign", c.id, c.title, 1800)
    r = await admin.get(f"/api/v1/console/orders/{order_id}/share")
    assert r.status_code == 200 and r.json()["share"]["target_name"] == c.title
