"""Buyers' reviews (评价, #30): only after the order completed, once per line, appended once, scoped to
the buyer; photos are images uploaded here (at most 9); the merchant replies once; sensitive words hold
a review for the office, which hides (audited) or shows it; ratings on the product, summed per merchant
and station, and sortable in the storefront; no markup survives to any answer."""
from __future__ import annotations

import secrets
from datetime import timedelta

from server.kit import clock
from server.models.audit import AuditLog
from server.models.orders import Order
from tests.conftest import login, login_as
from tests.reviews.conftest import make_order, make_product, png

GOOD = {"product_stars": 5, "delivery_stars": 4, "station_stars": 5, "text": "小米很香，服务站取货方便"}


def url(line_id: int) -> str:
    return f"/api/v1/order-lines/{line_id}/review"


async def test_a_line_is_reviewed_once_after_completion_by_its_buyer(client, consumer):
    _, product, sku = await make_product()
    order, line = await make_order(consumer.id, sku, status="ready_for_pickup")
    r = await consumer.post(url(line.id), json=GOOD)
    assert r.status_code == 409 and r.json()["error"]["code"] == "line_not_completed"
    await Order.filter(id=order.id).update(status="completed", completed_at=clock.now())
    stranger = await login(client)
    r = await stranger.post(url(line.id), json=GOOD)
    assert r.status_code == 404
    # the station the order went through is rated too
    r = await consumer.post(url(line.id), json={**GOOD, "station_stars": None})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_stars"
    r = await consumer.post(url(line.id), json={**GOOD, "product_stars": 6})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "product_stars"
    r = await consumer.post(url(line.id), json=GOOD)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "visible" and body["product_stars"] == 5 and body["station_stars"] == 5
    again = await consumer.post(url(line.id), json=GOOD)
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_exists"
    assert (await stranger.get(url(line.id))).status_code == 404
    assert (await consumer.get(url(line.id))).json()["id"] == body["id"]
    # appended once (追评)
    r = await stranger.post(url(line.id) + "/append", json={"text": "我也想说"})
    assert r.status_code == 404
    r = await consumer.post(url(line.id) + "/append", json={"text": "吃了一个月，还是好"})
    assert r.status_code == 200 and r.json()["append_text"] == "吃了一个月，还是好"
    r = await consumer.post(url(line.id) + "/append", json={"text": "再追一次"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_appended"
    mine = (await consumer.get("/api/v1/reviews/mine")).json()["items"]
    assert [x["id"] for x in mine] == [body["id"]]
    assert (await stranger.get("/api/v1/reviews/mine")).json()["items"] == []


async def test_refunded_lines_courier_orders_and_pending_list(consumer):
    _, _, sku = await make_product()
    _, refunded = await make_order(consumer.id, sku, refunded=True)
    r = await consumer.post(url(refunded.id), json=GOOD)
    assert r.status_code == 409 and r.json()["error"]["code"] == "line_not_completed"
    _, courier = await make_order(consumer.id, sku, station=False)
    r = await consumer.post(url(courier.id), json=GOOD)   # no station to rate
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_stars"
    pending = (await consumer.get("/api/v1/reviews/pending")).json()
    ids = [x["line_id"] for x in pending]
    assert courier.id in ids and refunded.id not in ids
    assert [x["needs_station_stars"] for x in pending if x["line_id"] == courier.id] == [False]
    r = await consumer.post(url(courier.id), json={**GOOD, "station_stars": None})
    assert r.status_code == 201, r.text
    assert courier.id not in [x["line_id"] for x in (await consumer.get("/api/v1/reviews/pending")).json()]
    # the window to review closes
    _, late = await make_order(consumer.id, sku)
    clock.shift(timedelta(days=91))
    try:
        r = await consumer.post(url(late.id), json=GOOD)
        assert r.status_code == 409 and r.json()["error"]["code"] == "line_not_completed"
    finally:
        clock.reset()


async def test_photos_are_images_uploaded_here_and_at_most_nine(client, consumer):
    _, _, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    r = await consumer.post("/api/v1/review-photos", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 201, r.text
    photo = r.json()["url"]
    assert "/review/" in photo and photo.endswith(".png")
    r = await consumer.post("/api/v1/review-photos",
                            files={"file": ("x.png", b"<html><script>alert(1)</script></html>", "image/png")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_file_type"
    assert (await client.post("/api/v1/review-photos", files={"file": ("a.png", png(), "image/png")})).status_code == 401
    r = await consumer.post(url(line.id), json={**GOOD, "photos": ["https://evil.example/x.png"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "photos.0"
    r = await consumer.post(url(line.id), json={**GOOD, "photos": [photo] * 10})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "photos"
    r = await consumer.post(url(line.id), json={**GOOD, "photos": [photo]})
    assert r.status_code == 201 and r.json()["photos"] == [photo]


async def test_no_markup_survives_from_a_review(client, consumer):
    _, product, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    evil = '好<script>alert(1)</script>吃<img src=x onerror="alert(2)"><b onmouseover=alert(3)>真的</b> 3<5'
    r = await consumer.post(url(line.id), json={**GOOD, "text": evil})
    assert r.status_code == 201, r.text
    for answer in (r.text, (await client.get(f"/api/v1/products/{product.id}/reviews")).text):
        assert "<" not in answer and "script" not in answer and "onerror" not in answer
    assert r.json()["text"] == "好吃真的 3＜5"


async def test_ratings_on_the_product_merchant_station_and_in_the_sort(client, consumer):
    tag = "评分" + secrets.token_hex(4)
    merchant, good, good_sku = await make_product(name="评分好的小米", tag=tag)
    _, poor, poor_sku = await make_product(merchant, name="评分差的小米", tag=tag)
    _, unrated, _ = await make_product(merchant, name="没评价的小米", tag=tag)
    o1, l1 = await make_order(consumer.id, good_sku)
    _, l2 = await make_order(consumer.id, poor_sku)
    other = await login(client)
    _, l3 = await make_order(other.id, good_sku)
    assert (await consumer.post(url(l1.id), json=GOOD)).status_code == 201
    assert (await consumer.post(url(l2.id), json={**GOOD, "product_stars": 2})).status_code == 201
    assert (await other.post(url(l3.id), json={**GOOD, "product_stars": 4, "station_stars": None}
                             )).status_code == 422   # its order went through a station too
    assert (await other.post(url(l3.id), json={**GOOD, "product_stars": 4})).status_code == 201
    detail = (await client.get(f"/api/v1/products/{good.id}")).json()
    assert detail["rating"] == 4.5 and detail["rating_count"] == 2
    page = (await client.get(f"/api/v1/products/{good.id}/reviews")).json()
    assert page["rating"]["count"] == 2 and page["rating"]["product"] == 4.5 and len(page["items"]) == 2
    m = (await client.get(f"/api/v1/shops/{merchant.id}/rating")).json()
    assert m["count"] == 3 and m["product"] == round((5 + 2 + 4) / 3, 2) and m["delivery"] == 4.0
    s = (await client.get(f"/api/v1/stations/{o1.station_id}/rating")).json()
    assert s == {"count": 1, "product": 5.0, "delivery": 4.0, "station": 5.0, "station_count": 1}
    assert (await client.get("/api/v1/stations/999999999/rating")).status_code == 404
    # the storefront sorts by the precomputed rating (best first, the unrated last)
    r = await client.get("/api/v1/products", params={"q": tag, "sort": "rating", "limit": 3})
    assert r.status_code == 200, r.text
    items = [x for x in r.json()["items"] if x["merchant_id"] == merchant.id]
    assert [x["id"] for x in items] == [good.id, poor.id, unrated.id]
    assert [x["rating"] for x in items] == [4.5, 2.0, 0] and items[0]["rating_count"] == 2
    # keyset pages of the rating sort continue where they stopped
    first = (await client.get("/api/v1/products", params={"q": tag, "sort": "rating", "limit": 1})).json()
    nxt = (await client.get("/api/v1/products", params={"q": tag, "sort": "rating", "limit": 1,
                                                        "cursor": first["next_cursor"]})).json()
    assert first["items"][0]["rating"] >= nxt["items"][0]["rating"]
    assert first["items"][0]["id"] != nxt["items"][0]["id"]


async def test_sensitive_words_hold_and_the_office_moderates_with_audit(client, consumer):
    _, product, sku = await make_product()
    _, l1 = await make_order(consumer.id, sku)
    _, l2 = await make_order(consumer.id, sku)
    admin = await login_as(client, "admin")
    held = (await consumer.post(url(l1.id), json={**GOOD, "text": "好评返现，加微信 abc"})).json()
    assert held["status"] == "held" and held["flagged_words"] == ["好评返现", "加微信"]
    shown = (await consumer.post(url(l2.id), json={**GOOD, "product_stars": 3})).json()
    pub = (await client.get(f"/api/v1/products/{product.id}/reviews")).json()
    assert [x["id"] for x in pub["items"]] == [shown["id"]] and pub["rating"]["count"] == 1
    # only the office moderates
    assert (await consumer.post(f"/api/v1/console/line-reviews/{shown['id']}/hide",
                                json={"reason": "x"})).status_code == 403
    r = await admin.get("/api/v1/console/line-reviews", params={"status": "held"})
    assert held["id"] in [x["id"] for x in r.json()["items"]]
    r = await admin.post(f"/api/v1/console/line-reviews/{shown['id']}/hide", json={"reason": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reason"
    r = await admin.post(f"/api/v1/console/line-reviews/{shown['id']}/hide", json={"reason": "与商品无关"})
    assert r.status_code == 200 and r.json()["status"] == "hidden" and r.json()["hidden_reason"] == "与商品无关"
    assert (await admin.post("/api/v1/console/line-reviews/999999999/hide", json={"reason": "x"})).status_code == 404
    pub = (await client.get(f"/api/v1/products/{product.id}/reviews")).json()
    assert pub["items"] == [] and pub["rating"]["count"] == 0
    assert (await client.get(f"/api/v1/products/{product.id}")).json()["rating_count"] == 0
    r = await admin.post(f"/api/v1/console/line-reviews/{held['id']}/show")
    assert r.status_code == 200 and r.json()["status"] == "visible"
    pub = (await client.get(f"/api/v1/products/{product.id}/reviews")).json()
    assert [x["id"] for x in pub["items"]] == [held["id"]] and pub["rating"]["product"] == 5.0
    rows = (await admin.get("/api/v1/console/line-reviews/summary", params={"subject": "merchant"})).json()
    assert [r["rating"]["count"] for r in rows if r["subject_id"] == product.merchant_id] == [1]
    r = await admin.get("/api/v1/console/line-reviews/summary", params={"subject": "product"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "subject"
    trail = await AuditLog.filter(object_type="line_review", object_id__in=[str(held["id"]), str(shown["id"])]
                                  ).order_by("id").values("action", "actor_id", "data")
    assert [(t["action"], t["actor_id"]) for t in trail] == [("review.hide", admin.id), ("review.show", admin.id)]
    assert trail[0]["data"]["reason"] == "与商品无关"
    # an append with a listed word holds a shown review again, and it leaves the rating
    r = await consumer.post(url(l1.id) + "/append", json={"text": "刷单的都来"})
    assert r.json()["status"] == "held"
    assert (await client.get(f"/api/v1/products/{product.id}/reviews")).json()["rating"]["count"] == 0


async def test_the_merchant_replies_once_within_its_scope(client, consumer):
    merchant, _, sku = await make_product()
    other_merchant, _, _ = await make_product()
    _, line = await make_order(consumer.id, sku)
    review = (await consumer.post(url(line.id), json=GOOD)).json()
    member = await login_as(client, "merchant", merchant_id=merchant.id)
    stranger = await login_as(client, "merchant", merchant_id=other_merchant.id)
    reply = f"/api/v1/console/merchant-reviews/{review['id']}/reply"
    assert (await stranger.post(reply, json={"text": "谢谢"})).status_code == 404
    assert (await stranger.get("/api/v1/console/merchant-reviews")).json()["items"] == []
    r = await stranger.get("/api/v1/console/merchant-reviews", params={"merchant_id": merchant.id})
    assert r.status_code == 404
    r = await member.post(reply, json={"text": "加微信领红包"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "sensitive_words"
    r = await member.post(reply, json={"text": "谢谢支持<script>x</script>"})
    assert r.status_code == 200 and r.json()["reply"] == "谢谢支持"
    r = await member.post(reply, json={"text": "再回复"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_replied"
    pub = (await client.get(f"/api/v1/products/{review['product_id']}/reviews")).json()
    assert pub["items"][0]["reply"] == "谢谢支持"


async def test_concurrent_reviews_count_once_each(client, consumer, on_postgres):
    """Two presses on one line: one review; many buyers at once on one product: every star counted."""
    import asyncio

    merchant, product, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    answers = await asyncio.gather(*[consumer.post(url(line.id), json=GOOD) for _ in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    buyers = [await login(client) for _ in range(6)]
    lines = [(await make_order(b.id, sku))[1] for b in buyers]
    answers = await asyncio.gather(*[b.post(url(ln.id), json={**GOOD, "product_stars": 1 + i % 5})
                                     for i, (b, ln) in enumerate(zip(buyers, lines))])
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    expected = [5] + [1 + i % 5 for i in range(6)]
    detail = (await client.get(f"/api/v1/products/{product.id}")).json()
    assert detail["rating_count"] == 7 and detail["rating"] == round(sum(expected) / 7, 2)
    m = (await client.get(f"/api/v1/shops/{merchant.id}/rating")).json()
    assert m["count"] == 7
    # off sale: no public page
    from server.models.catalog import Product
    from server.catalog import cache

    await Product.filter(id=product.id).update(visible=False)
    await cache.invalidate_product(product.id)
    assert (await client.get(f"/api/v1/products/{product.id}/reviews")).status_code == 404


async def test_photo_uploads_are_rate_limited_per_buyer(client, monkeypatch):
    from server.reviews import service

    monkeypatch.setattr(service, "PHOTOS_PER_HOUR", 2)
    buyer, other = await login(client), await login(client)
    for _ in range(2):
        r = await buyer.post("/api/v1/review-photos", files={"file": ("a.png", png(), "image/png")})
        assert r.status_code == 201, r.text
    r = await buyer.post("/api/v1/review-photos", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    r = await other.post("/api/v1/review-photos", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 201
