"""The complaint pages over HTTP: the office's queue, figures and a complaint's page (assign, acknowledge,
resolve; a bad outcome named beside its field), the merchant desk's and the station desk's pages (a
station files for a villager with a photo; foreign ids are 404 in pages and fragments)."""
from __future__ import annotations

from tests.complaints.conftest import png
from tests.console.conftest import operator, sign_in

TEXT = "村民反映：买到的小米有霉味 <script>alert(1)</script>"


async def _complaint(w, kind="merchant") -> dict:
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": kind, "text": TEXT,
                                                            "product_id": w.shop.skus[0].product_id})
    assert r.status_code == 201, r.text
    return r.json()


async def test_office_triage_pages(world, settings):
    from server.models.catalog import Product

    w = world
    c = await _complaint(w)
    admin_id, phone = await operator("admin", name="李科长")
    desk = await sign_in(settings, phone)
    try:
        r = await desk.page("/console/complaints")
        assert r.status_code == 200 and f'data-complaint="{c["id"]}"' in r.text and 'id="by-kind"' in r.text
        assert "<script>alert" not in r.text
        r = await desk.page("/console/complaints?status=bogus")
        assert r.status_code == 200 and 'data-field="status"' in r.text
        r = await desk.page(f"/console/complaints/{c['id']}")
        assert r.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/assign", {"assignee_id": str(admin_id)})
        assert "已分派" in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/assign", {"assignee_id": "abc"})
        assert 'data-field="assignee_id"' in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/acknowledge")
        assert "已受理" in r.text and "处理中" in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/acknowledge")
        assert r.headers.get("HX-Retarget") == "#flash" and "已受理过了" in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/resolve", {"outcome": "takedown", "note": ""})
        assert 'data-field="note"' in r.text
        r = await desk.post(f"/console/complaints/{c['id']}/resolve", {"outcome": "takedown", "note": "抽检不合格，下架"})
        assert "已办结" in r.text and "涉事商品已下架" in r.text
        assert (await Product.get(id=w.shop.skus[0].product_id)).status == "off_shelf"
        r = await desk.page("/console/complaints/99999999")
        assert r.status_code == 404
        r = await desk.page("/console/")
        assert 'href="/console/complaints?status=open"' in r.text
        # an outcome with nothing to act on, from a page: named beside the field
        r = await desk.client.post(f"/api/v1/trace/{w.item_code}/reports", json={"kind": "quality", "text": "匿名质量举报"})
        anon = r.json()["id"]
        r = await desk.post(f"/console/complaints/{anon}/resolve", {"outcome": "refund", "note": "责令退款"})
        assert 'data-field="outcome"' in r.text and "待受理" in r.text
    finally:
        await desk.client.aclose()


async def test_merchant_desk_sees_and_answers_without_the_reporter(world, settings):
    w = world
    c = await _complaint(w)
    _, phone = await operator("merchant", name="王秀兰", merchant_id=w.shop.merchant.id)
    desk = await sign_in(settings, phone)
    _, other_phone = await operator("merchant", name="赵老板", merchant_id=(await _other_merchant()))
    other = await sign_in(settings, other_phone)
    try:
        r = await desk.page("/console/shop/complaints")
        assert r.status_code == 200 and f'data-complaint="{c["id"]}"' in r.text
        r = await desk.page(f"/console/shop/complaints/{c['id']}")
        assert r.status_code == 200 and c["no"] in r.text
        buyer_phone = w.shop.buyer.user["phone"]
        assert buyer_phone not in r.text   # never the reporter
        r = await desk.post(f"/console/shop/complaints/{c['id']}/answer", {"text": ""})
        assert 'data-field="text"' in r.text
        r = await desk.post(f"/console/shop/complaints/{c['id']}/answer", {"text": "已联系顾客换货 <b>谢谢</b>"})
        assert "答复已提交" in r.text and "&lt;b&gt;谢谢&lt;/b&gt;" in r.text
        r = await other.page(f"/console/shop/complaints/{c['id']}")
        assert r.status_code == 404
        r = await other.post(f"/console/shop/complaints/{c['id']}/answer", {"text": "不是我们的"})
        assert r.headers.get("HX-Retarget") == "#flash" and "未找到该投诉" in r.text   # the fragment: 404's words
        r = await other.post(f"/console/shop/complaints/{c['id']}/answer", {"text": "不是我们的"}, htmx=False)
        assert r.status_code == 404
        assert (await desk.page(f"/console/shop/complaints/{c['id']}")).text.count("不是我们的") == 0
        assert f'data-complaint="{c["id"]}"' not in (await other.page("/console/shop/complaints")).text
    finally:
        await desk.client.aclose()
        await other.client.aclose()


async def _other_merchant() -> int:
    from tests.fulfillment import factories as f

    m, _ = await f.merchant_with_skus(1)
    return m.id


async def test_station_desk_files_for_a_villager_and_answers_about_itself(world, settings):
    from server.models.complaints import Complaint

    w = world
    v1, v2 = w.shop.net.village.id, w.shop.net.village2.id
    _, phone = await operator("station_staff", name="刘站长", station_id=v1)
    desk = await sign_in(settings, phone)
    _, phone2 = await operator("station_staff", name="周站长", station_id=v2)
    desk2 = await sign_in(settings, phone2)
    try:
        r = await desk.page(f"/console/station/{v1}/complaints")
        assert r.status_code == 200 and 'id="file-form"' in r.text
        before = await Complaint.all().count()
        r = await desk.client.post(f"/console/station/{v1}/complaints",
                                   data={"_csrf": desk.csrf, "kind": "station", "text": "二村服务站不给取件",
                                         "reporter_phone": "1370000", "reporter_name": "张大娘",
                                         "about_station_id": str(v2)})
        assert r.status_code == 422 and 'data-field="reporter_phone"' in r.text and "张大娘" in r.text
        assert await Complaint.all().count() == before
        r = await desk.client.post(f"/console/station/{v1}/complaints",
                                   data={"_csrf": desk.csrf, "kind": "station", "text": "二村服务站不给取件",
                                         "reporter_phone": "13700009999", "reporter_name": "张大娘",
                                         "about_station_id": str(v2)},
                                   files=[("photos", ("a.png", png(), "image/png"))])
        assert r.status_code == 200 and "受理编号" in r.text, r.text[:500]
        c = await Complaint.filter(filed_at_station_id=v1).order_by("-id").first()
        assert c.photos and c.station_id == v2 and c.reporter_phone == "13700009999"
        r = await desk.page(f"/console/station/{v1}/complaints")
        assert f'data-complaint="{c.id}"' in r.text and "张大娘" in r.text
        # the station complained about: sees it, not who filed it, and answers
        r = await desk2.page(f"/console/station/{v2}/complaints")
        assert f'data-complaint="{c.id}"' in r.text and "张大娘" not in r.text
        r = await desk2.page(f"/console/station/{v2}/complaints/{c.id}")
        assert r.status_code == 200 and "13700009999" not in r.text and "张大娘" not in r.text
        r = await desk2.post(f"/console/station/{v2}/complaints/{c.id}/answer", {"text": "当天停电，已向村民道歉"})
        assert "答复已提交" in r.text
        # foreign ids: 404 in pages and fragments
        assert (await desk2.page(f"/console/station/{v1}/complaints")).status_code == 404
        buyer_c = await _complaint(w)
        assert (await desk.page(f"/console/station/{v1}/complaints/{buyer_c['id']}")).status_code == 404
        r = await desk.post(f"/console/station/{v1}/complaints/{c.id}/answer", {"text": "代答一下"})
        assert r.headers.get("HX-Retarget") == "#flash" and "未找到该投诉" in r.text
        r = await desk.post(f"/console/station/{v1}/complaints/{c.id}/answer", {"text": "代答一下"}, htmx=False)
        assert r.status_code == 404
        assert (await Complaint.get(id=c.id)).answer == "当天停电，已向村民道歉"
    finally:
        await desk.client.aclose()
        await desk2.client.aclose()
