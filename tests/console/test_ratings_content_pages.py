"""Reviews and content in the web console over HTTP (#30): the office holds, hides (a reason named
beside the field when missing, audited) and shows reviews and reads the ratings per merchant and
station; a merchant sees and replies to its own goods' reviews only (another's is a 404, page or
fragment); the office writes content whose stored body is sanitised; bad input is named beside its field."""
from __future__ import annotations

import re

from server.models.audit import AuditLog
from server.models.merchants import Merchant
from tests.console.conftest import operator, sign_in
from tests.console.test_merchant_desk import desk_sign_in
from tests.reviews.conftest import make_order, make_product

GOOD = {"product_stars": 4, "delivery_stars": 5, "station_stars": 3}


async def _review(consumer, sku, text: str) -> dict:
    _, line = await make_order(consumer.id, sku)
    r = await consumer.post(f"/api/v1/order-lines/{line.id}/review", json={**GOOD, "text": text})
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_office_moderates_reviews_in_the_console(office, consumer, settings):
    merchant, _, sku = await make_product()
    held = await _review(consumer, sku, "加微信返现<script>alert('x')</script>")
    shown = await _review(consumer, sku, "醋很正")
    r = await office.page("/console/ratings?status=held")
    assert r.status_code == 200
    assert f'data-rating="{held["id"]}"' in r.text and f'data-rating="{shown["id"]}"' not in r.text
    assert "<script>alert" not in r.text and "加微信" in r.text
    r = await office.post(f"/console/ratings/{shown['id']}/hide", {"reason": ""})
    assert r.status_code == 200 and 'data-field="reason"' in r.text
    r = await office.post(f"/console/ratings/{shown['id']}/hide", {"reason": "广告"})
    assert r.status_code == 200 and 'data-status="hidden"' in r.text and "广告" in r.text
    r = await office.post(f"/console/ratings/{held['id']}/show")
    assert r.status_code == 200 and 'data-status="visible"' in r.text
    assert (await office.post("/console/ratings/999999999/show", htmx=False)).status_code == 404
    actions = await AuditLog.filter(object_type="line_review").filter(
        object_id__in=[str(held["id"]), str(shown["id"])]).values_list("action", flat=True)
    assert sorted(actions) == ["review.hide", "review.show"]
    r = await office.page("/console/ratings/summary")
    assert r.status_code == 200 and merchant.name in r.text
    r = await office.page("/console/ratings?merchant_id=abc")
    assert r.status_code == 200 and 'data-field="merchant_id"' in r.text
    # no CSRF token: refused
    r = await office.post(f"/console/ratings/{held['id']}/hide", {"reason": "x"}, csrf=False, htmx=False)
    assert r.status_code == 403


async def test_a_merchant_replies_only_to_its_own_reviews(settings, consumer):
    merchant, _, sku = await make_product()
    other = await Merchant.create(name="别家合作社", kind="cooperative", status="active")
    _, _, other_sku = await make_product(other)
    mine = await _review(consumer, sku, "小米<b>好</b>吃")
    theirs = await _review(consumer, other_sku, "别家的评价文字")
    _, phone = await operator("merchant", name="王秀兰", merchant_id=merchant.id)
    b = await desk_sign_in(settings, phone, "/console/shop/")
    r = await b.page("/console/shop/ratings")
    assert r.status_code == 200
    assert f'data-rating="{mine["id"]}"' in r.text and "别家的评价文字" not in r.text
    assert "小米好吃" in r.text
    r = await b.post(f"/console/shop/ratings/{theirs['id']}/reply", {"text": "谢谢"}, htmx=False)
    assert r.status_code == 404
    r = await b.post(f"/console/shop/ratings/{theirs['id']}/reply", {"text": "谢谢"})   # the fragment: a message
    assert r.headers.get("HX-Retarget") == "#flash" and "未找到" in r.text and "别家的评价文字" not in r.text
    r = await b.post(f"/console/shop/ratings/{theirs['id']}/reply", {"text": ""}, htmx=False)
    assert r.status_code == 404   # a bad form does not reveal another's review either
    r = await b.post(f"/console/shop/ratings/{mine['id']}/reply", {"text": ""})
    assert r.status_code == 200 and 'data-field="text"' in r.text
    r = await b.post(f"/console/shop/ratings/{mine['id']}/reply", {"text": "加微信有优惠"})
    assert r.status_code == 200 and 'data-field="text"' in r.text and "加微信" in r.text
    r = await b.post(f"/console/shop/ratings/{mine['id']}/reply", {"text": "感谢惠顾"})
    assert r.status_code == 200 and "感谢惠顾" in r.text and "已回复" in r.text
    r = await b.post(f"/console/shop/ratings/{mine['id']}/reply", {"text": "再次感谢"}, htmx=False)
    assert r.status_code == 409
    assert (await b.page("/console/ratings")).status_code == 403   # the office's page
    await b.client.aclose()


async def test_the_office_writes_content_with_a_sanitised_body(office):
    r = await office.page("/console/content/new")
    assert r.status_code == 200 and 'class="editor"' in r.text
    form = {"kind": "article", "category": "policy", "title": "电子商务进农村政策解读", "summary": "县里的新政策",
            "body_html": '<p onclick="alert(1)">补贴<script>alert(2)</script><a href="javascript:alert(3)">详见</a></p>',
            "enabled": "on", "publish_at": "2026-01-01T08:00", "sort": "1"}
    r = await office.post("/console/content/new", form, htmx=False)
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    assert re.fullmatch(r"/console/content/\d+\?saved=1", target)
    r = await office.page(target)
    assert r.status_code == 200 and "已保存" in r.text
    preview = r.text.split('id="preview">', 1)[1].split("</article>", 1)[0]
    assert "补贴" in preview and "alert" not in preview and "onclick" not in preview
    assert "alert" not in r.text.split("</textarea>", 1)[0].split("<textarea", 1)[1]
    assert 'value="2026-01-01T08:00"' in r.text   # shown back in Beijing time
    r = await office.post("/console/content/new", {**form, "publish_at": "明天"}, htmx=False)
    assert r.status_code == 422 and 'data-field="publish_at"' in r.text
    r = await office.post("/console/content/new", {**form, "category": ""}, htmx=False)
    assert r.status_code == 422 and 'data-field="category"' in r.text
    # the refused form comes back with its body as it would be stored: the editor, which parses the
    # textarea into the page, never receives the pasted script or handlers
    shown = r.text.split("<textarea", 1)[1].split("</textarea>", 1)[0]
    assert "补贴" in shown and "alert" not in shown and "onclick" not in shown
    # a title is text: its markup is dropped before it is stored, and one that is only markup is refused
    r = await office.post("/console/content/new", {**form, "title": "<script>alert(4)</script>"}, htmx=False)
    assert r.status_code == 422 and 'data-field="title"' in r.text
    assert (await office.page("/console/content/999999999")).status_code == 404
    r = await office.page("/console/content?kind=article")
    assert r.status_code == 200 and "电子商务进农村政策解读" in r.text


async def test_only_the_office_opens_the_content_pages(settings):
    _, phone = await operator("warehouse", name="仓管员")
    b = await sign_in(settings, phone)
    assert (await b.page("/console/content")).status_code == 403
    assert (await b.page("/console/ratings")).status_code == 403
    await b.client.aclose()
