"""The office's own pages (内容, #30): banners, announcements and articles are sanitised by an
allow-list before they are stored (no script, event handler or javascript: URL reaches an API answer),
shown only while enabled and within their schedule (the cache never outlives the next start or end),
written only by the office, and bad input is a 422 naming the field."""
from __future__ import annotations

import secrets
from datetime import timedelta

from server.kit import clock
from server.models.audit import AuditLog
from tests.conftest import login_as

EVIL = ('<h2 onclick="alert(1)">喀左陈醋</h2><script>alert(2)</script><p>百年<b>老醋</b>'
        '<img src="x" onerror="alert(3)"><a href="javascript:alert(4)">看</a>'
        '<a href="https://kazuo.example/">官网</a><iframe src="https://evil.example"></iframe>'
        '<style>body{display:none}</style></p>')


def article(**over) -> dict:
    return {"kind": "article", "category": "brand_story", "title": "喀左陈醋的故事" + secrets.token_hex(2),
            "summary": "三百年的醋坊", "body_html": "<p>正文</p>", "enabled": True, **over}


async def test_an_article_is_sanitised_before_any_answer(client):
    admin = await login_as(client, "admin")
    r = await admin.post("/api/v1/console/content", json=article(body_html=EVIL))
    assert r.status_code == 201, r.text
    item = r.json()
    public = await client.get(f"/api/v1/content/articles/{item['id']}")
    assert public.status_code == 200, public.text
    for html in (item["body_html"], public.json()["body_html"]):
        low = html.lower()
        for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<style", "alert(2)"):
            assert bad not in low, (bad, html)
        assert "<h2>喀左陈醋</h2>" in html and "<b>老醋</b>" in html
        assert 'href="https://kazuo.example/"' in html and "noopener" in html
    listing = (await client.get("/api/v1/content/articles", params={"category": "brand_story"})).json()
    assert item["id"] in [x["id"] for x in listing["items"]]
    assert "body_html" not in listing["items"][0]
    trail = await AuditLog.filter(object_type="content", object_id=str(item["id"])).values_list("action", flat=True)
    assert trail == ["content.create"]


async def test_only_the_office_writes_and_bad_input_names_the_field(client, consumer):
    admin = await login_as(client, "admin")
    assert (await consumer.post("/api/v1/console/content", json=article())).status_code == 403
    assert (await client.post("/api/v1/console/content", json=article())).status_code == 401
    now = clock.now()
    cases = [
        (article(category=None), "category"),
        (article(kind="banner", category=None, image=""), "image"),
        (article(kind="announcement"), "category"),
        (article(body_html="<script>alert(1)</script>"), "body_html"),
        (article(publish_at=now.isoformat(), unpublish_at=(now - timedelta(hours=1)).isoformat()), "unpublish_at"),
        (article(publish_at="2026-12-01T08:00:00"), "publish_at"),
        (article(link="javascript:alert(1)"), "link"),
        (article(title=""), "title"),
        (article(kind="poster"), "kind"),
    ]
    for body, field in cases:
        r = await admin.post("/api/v1/console/content", json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, (field, r.text)
    r = await admin.put("/api/v1/console/content/999999999", json=article())
    assert r.status_code == 404
    assert (await client.get("/api/v1/content/articles/999999999")).status_code == 404


async def test_scheduled_items_appear_and_leave_on_time(client):
    admin = await login_as(client, "admin")
    now = clock.now()
    banner = {"kind": "banner", "title": "年货节" + secrets.token_hex(2), "image": "/media/banner/x.jpg",
              "link": "/pages/activity/index?id=1", "enabled": True, "sort": 5,
              "publish_at": (now + timedelta(hours=1)).isoformat(),
              "unpublish_at": (now + timedelta(hours=3)).isoformat()}
    r = await admin.post("/api/v1/console/content", json=banner)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["live"] is False
    note = (await admin.post("/api/v1/console/content", json={
        "kind": "announcement", "title": "春节期间配送安排", "body_html": "<p>腊月二十八起暂停配送</p>",
        "enabled": False})).json()

    async def home():
        r = await client.get("/api/v1/content/home")
        assert r.status_code == 200, r.text
        return r.json()

    first = await home()   # cached now, before the banner's start
    assert b["id"] not in [x["id"] for x in first["banners"]]
    assert note["id"] not in [x["id"] for x in first["announcements"]]   # not enabled
    clock.shift(timedelta(hours=1, seconds=5))
    try:
        shown = await home()
        assert b["id"] in [x["id"] for x in shown["banners"]]
        assert [x for x in shown["banners"] if x["id"] == b["id"]][0]["link"] == "/pages/activity/index?id=1"
        clock.shift(timedelta(hours=3))
        assert b["id"] not in [x["id"] for x in (await home())["banners"]]
    finally:
        clock.reset()
    # an edit shows at once (every edit drops the cached reads)
    r = await admin.put(f"/api/v1/console/content/{note['id']}", json={
        "kind": "announcement", "title": "春节期间配送安排", "body_html": "<p>腊月二十八起暂停配送</p>",
        "enabled": True})
    assert r.status_code == 200 and r.json()["live"] is True
    assert note["id"] in [x["id"] for x in (await home())["announcements"]]
    detail = (await client.get(f"/api/v1/content/articles/{note['id']}")).json()
    assert detail["body_html"] == "<p>腊月二十八起暂停配送</p>"


async def test_no_markup_survives_in_titles_summaries_or_image_urls(client):
    """The title and summary are text (tags dropped, angle brackets made full-width) and the image a
    plain URL, so no script from an article reaches the office's answer, the home page or an article."""
    admin = await login_as(client, "admin")
    tag = secrets.token_hex(3)
    r = await admin.post("/api/v1/console/content", json=article(
        title=f"<script>alert(1)</script>陈醋<b onclick=alert(2)>{tag}</b>",
        summary='<img src=x onerror="alert(3)">三百年 1<2', image="/media/content/a.jpg"))
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["title"] == f"陈醋{tag}" and item["summary"] == "三百年 1＜2"
    note = (await admin.post("/api/v1/console/content", json={
        "kind": "announcement", "title": f"通知<svg onload=alert(4)>{tag}", "enabled": True,
        "summary": "&lt;script&gt;alert(5)&lt;/script&gt;"})).json()
    assert note["title"] == f"通知{tag}" and note["summary"] == "＜script＞alert(5)＜/script＞"
    answers = [r.text, (await admin.get(f"/api/v1/console/content/{item['id']}")).text,
               (await client.get(f"/api/v1/content/articles/{item['id']}")).text,
               (await client.get("/api/v1/content/articles", params={"category": "brand_story"})).text,
               (await client.get("/api/v1/content/home")).text,
               (await client.get(f"/api/v1/content/articles/{note['id']}")).text]
    for text in answers:
        low = text.lower()
        for bad in ("<script", "<img", "<svg", "onclick", "onerror", "onload", "<b"):
            assert bad not in low, (bad, text)
    for image in ('/media/a.jpg"><script>alert(6)</script>', "https://x.example/a b.jpg",
                  "https://x.example/a.jpg' onerror='alert(7)", "javascript:alert(8)"):
        r = await admin.post("/api/v1/console/content", json=article(image=image))
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "image", (image, r.text)
    r = await admin.post("/api/v1/console/content", json=article(title="<script>alert(9)</script>"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "title", r.text
    r = await admin.put(f"/api/v1/console/content/{item['id']}", json=article(title="<i></i>"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "title", r.text
    assert (await admin.get(f"/api/v1/console/content/{item['id']}")).json()["title"] == f"陈醋{tag}"
