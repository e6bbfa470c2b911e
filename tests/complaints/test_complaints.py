"""Complaints and reports (#26) through the API: filing by a buyer, by station staff for a villager and
anonymously from a trace code; a counterfeit report joining the code's flag; the anonymous limits and a
flood; photos (a 30 MB one refused); deadlines and breaches; each outcome's action taking effect
through its service; the reporter told; and every object reachable only within its scope."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from server.kit import redis as kr

from tests.complaints.conftest import item_code, declare_huge_upload, png
from tests.conftest import login, login_as
from tests.trace.conftest import make_batch, wait_for

TEXT = "买到的小米有霉味，包装破损 <script>alert(1)</script>"


async def _buyer_complaint(w, kind="quality", **kw) -> dict:
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": kind, "text": TEXT, **kw})
    assert r.status_code == 201, r.text
    return r.json()


async def test_buyer_files_about_own_order_only(world):
    w = world
    got = await _buyer_complaint(w, product_id=w.shop.skus[0].product_id)
    assert got["no"].startswith("TS") and got["status"] == "open"
    mine = (await w.shop.buyer.get("/api/v1/complaints")).json()["items"]
    assert [c["id"] for c in mine] == [got["id"]]
    assert mine[0]["text"] == TEXT and mine[0]["merchant_id"] == w.shop.merchant.id
    # someone else's order, a foreign complaint: 404; bad input named
    stranger = await login(w.shop.buyer.client)
    r = await stranger.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": TEXT})
    assert r.status_code == 404
    assert (await stranger.get(f"/api/v1/complaints/{got['id']}")).status_code == 404
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "rude", "text": TEXT})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "kind"
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": "短"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "text"
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": TEXT,
                                                            "product_id": 999999})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "product_id"


async def test_photos_checked_and_a_30_mb_photo_refused(world, client, settings):
    w = world
    r = await client.post("/api/v1/complaints/photos", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("complaint/")
    r = await client.post("/api/v1/complaints/photos", files={"file": ("a.png", b"<html>not a photo</html>", "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    before = await _count()
    status, body = await declare_huge_upload(settings, "/api/v1/complaints/photos")
    assert status == 413 and b"payload_too_large" in body
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": TEXT,
                                                            "photos": [key] * 4})
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_photos"
    assert await _count() == before   # nothing half-written
    got = await _buyer_complaint(w, photos=[key])
    detail = (await w.shop.buyer.get(f"/api/v1/complaints/{got['id']}")).json()
    assert detail["photos"][0]["key"] == key and detail["photos"][0]["url"]
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": TEXT,
                                                            "photos": ["../../etc/passwd"]})
    assert r.status_code == 422


async def _count() -> int:
    from server.models.complaints import Complaint

    return await Complaint.all().count()


async def test_counterfeit_report_joins_the_codes_flag(world, client):
    from server.models.trace import TraceCode, TraceFlag

    w = world
    r = await client.post(f"/api/v1/trace/{w.item_code}/reports", json={"kind": "counterfeit", "text": "包装和正品不一样，疑似假冒"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["flag_id"]
    flag = await TraceFlag.get(id=first["flag_id"])
    assert flag.reason == "report" and flag.status == "open" and flag.data["complaints"] == [first["id"]]
    assert (await TraceCode.get(code=w.item_code)).flagged
    # a second report joins the same flag; the station's report with the code too
    r = await client.post(f"/api/v1/trace/{w.item_code}/reports", json={"kind": "counterfeit", "text": "同样的问题，包装粗糙"})
    assert r.json()["flag_id"] == first["flag_id"]
    r = await w.staff.post(f"/api/v1/station/{w.shop.net.village.id}/complaints",
                           json={"kind": "counterfeit", "text": "村民反映买到假货", "reporter_phone": "13700001234",
                                 "trace_code": w.item_code})
    assert r.status_code == 201, r.text
    assert r.json()["flag_id"] == first["flag_id"]
    assert await TraceFlag.filter(trace_code__code=w.item_code).count() == 1   # no parallel queue
    flag = await TraceFlag.get(id=first["flag_id"])
    assert len(flag.data["complaints"]) == 3
    # resolving the complaint as no fault dismisses the open flag with it
    r = await w.admin.post(f"/api/v1/console/complaints/{first['id']}/resolve",
                           json={"outcome": "no_fault", "note": "经核查为正品"})
    assert r.status_code == 200, r.text
    assert (await TraceFlag.get(id=first["flag_id"])).status == "dismissed"
    # a later counterfeit report reopens it (no new queue)
    r = await client.post(f"/api/v1/trace/{w.item_code}/reports", json={"kind": "counterfeit", "text": "又发现了假货，请核查"})
    assert r.json()["flag_id"] == first["flag_id"]
    assert (await TraceFlag.get(id=first["flag_id"])).status == "open"
    r = await client.post("/api/v1/trace/NOSUCHCODE12/reports", json={"kind": "quality", "text": "查不到这个码"})
    assert r.status_code == 404


async def test_anonymous_limits_and_a_flood(world, settings, client):
    from server.complaints import service
    from server.kit import redis as kr
    from server.kit.errors import RateLimited

    w = world
    await kr.reset_limit("complaint_ip", "127.0.0.0/24")
    before = await _count()
    bodies = [{"kind": "quality", "text": f"第{i}次举报：质量很差"} for i in range(40)]
    answers = await asyncio.gather(*[client.post(f"/api/v1/trace/{w.item_code}/reports", json=b) for b in bodies])
    codes = sorted(r.status_code for r in answers)
    per_ip = settings.complaint_public_per_ip_per_hour
    assert codes.count(201) == per_ip and codes.count(429) == 40 - per_ip, codes
    assert all(r.headers.get("Retry-After") for r in answers if r.status_code == 429)
    assert await _count() == before + per_ip
    # per code: many networks reporting one code reach the code's daily limit
    await kr.reset_limit("complaint_code", w.item_code)
    for i in range(settings.complaint_public_per_code_per_day):
        await service.check_public_limits(w.item_code, f"10.{i}.0.1")
    try:
        await service.check_public_limits(w.item_code, "10.250.0.1")
        raise AssertionError("the per-code limit did not hold")
    except RateLimited:
        pass
    await kr.reset_limit("complaint_ip", "127.0.0.0/24")
    await kr.reset_limit("complaint_code", w.item_code)


async def test_deadlines_and_breaches(world):
    from server.complaints import service
    from server.kit import clock
    from server.models.complaints import Complaint

    w = world
    a = await _buyer_complaint(w)
    b = await _buyer_complaint(w)
    c = await Complaint.get(id=a["id"])
    assert timedelta(hours=23, minutes=59) < c.ack_due_at - c.created_at <= timedelta(hours=24, seconds=1)
    assert timedelta(days=6, hours=23) < c.resolve_due_at - c.created_at <= timedelta(days=7, seconds=1)
    assert (await service.check_deadlines(a["id"])) == {"ack_breached": 0, "resolve_breached": 0}
    past = clock.now() - timedelta(minutes=1)
    await Complaint.filter(id__in=[a["id"], b["id"]]).update(ack_due_at=past)
    assert (await service.check_deadlines(a["id"]))["ack_breached"] == 1      # the deadline's own job
    assert (await service.sweep())["ack_breached"] >= 1                        # the sweeper finds b
    assert (await Complaint.get(id=b["id"])).ack_breached
    assert (await service.check_deadlines(a["id"]))["ack_breached"] == 0      # idempotent
    # acknowledged late: the breach stays; then the 7-day deadline passes unresolved
    r = await w.admin.post(f"/api/v1/console/complaints/{a['id']}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["ack_breached"]
    r = await w.admin.post(f"/api/v1/console/complaints/{a['id']}/acknowledge")
    assert r.status_code == 409 and r.json()["error"]["code"] == "complaint_already_acknowledged"
    await Complaint.filter(id=a["id"]).update(resolve_due_at=past)
    await service.check_deadlines(a["id"])
    got = (await w.admin.get(f"/api/v1/console/complaints/{a['id']}")).json()
    assert got["resolve_breached"] and got["status"] == "acknowledged"
    listed = (await w.admin.get("/api/v1/console/complaints?breached=true&limit=100")).json()["items"]
    assert {a["id"], b["id"]} <= {x["id"] for x in listed}
    # a complaint resolved in time is never flagged afterwards
    r = await w.admin.post(f"/api/v1/console/complaints/{b['id']}/resolve", json={"outcome": "warning", "note": "已警告商户"})
    assert r.status_code == 200
    await Complaint.filter(id=b["id"]).update(resolve_due_at=past)
    await service.check_deadlines(b["id"])
    assert not (await Complaint.get(id=b["id"])).resolve_breached
    figures = (await w.admin.get("/api/v1/console/complaints/figures?days=30")).json()
    assert figures["total"] >= 2 and figures["ack_breached"] >= 2 and figures["avg_ack_hours"] is not None
    assert any(k["kind"] == "quality" for k in figures["by_kind"])
    assert any(t["town"] == w.shop.net.town.town for t in figures["by_town"]) or figures["by_town"]
    # the big screen's panel (cached for a minute: an earlier test may have filled the cache)
    await kr.cache_delete(kr.key("stats", "screen", "complaints"))
    screen = (await w.admin.get("/screen/data")).json()["complaints"]
    assert screen["total"] >= 2 and screen["by_kind"][0]["label"]


async def test_each_outcome_takes_effect_through_its_service(world, client):
    from server.models.audit import AuditLog
    from server.models.catalog import Product
    from server.models.complaints import Complaint
    from server.models.merchants import Merchant
    from server.models.payments import Refund

    w = world
    pid = w.shop.skus[0].product_id

    async def resolve(outcome: str, **kw) -> dict:
        c = await _buyer_complaint(w, product_id=pid, **kw)
        r = await w.admin.post(f"/api/v1/console/complaints/{c['id']}/resolve", json={"outcome": outcome, "note": "处理说明"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "resolved" and r.json()["outcome"] == outcome
        return r.json()

    got = await resolve("refund")
    refund = await Refund.get(id=int(got["action_ref"].split(":")[1]))
    assert refund.order_id == w.order.id and refund.status in ("approved", "processing", "succeeded", "failed")
    assert refund.amount_fen == w.order.total_fen
    got = await resolve("warning")
    assert await AuditLog.filter(action="complaint.warning", object_type="merchant",
                                 object_id=str(w.shop.merchant.id)).exists()
    got = await resolve("referral")
    assert await AuditLog.filter(action="complaint.referral", object_id=str(got["id"])).exists()
    got = await resolve("takedown")
    p = await Product.get(id=pid)
    assert p.status == "off_shelf" and not p.visible and got["no"] in p.takedown_reason
    assert await AuditLog.filter(action="product.takedown", object_id=str(pid)).exists()
    got = await resolve("suspension")
    assert (await Merchant.get(id=w.shop.merchant.id)).status == "suspended"
    # suspending again is refused by the merchants service: nothing of the resolution is written
    c = await _buyer_complaint(w, product_id=pid)
    r = await w.admin.post(f"/api/v1/console/complaints/{c['id']}/resolve", json={"outcome": "suspension", "note": "再次暂停"})
    assert r.status_code == 409
    assert (await Complaint.get(id=c["id"])).status == "open"
    # an outcome the complaint has no object for: 422 naming outcome, nothing written
    r = await client.post(f"/api/v1/trace/{w.item_code}/reports", json={"kind": "quality", "text": "匿名举报质量问题"})
    anon = r.json()["id"]
    r = await w.admin.post(f"/api/v1/console/complaints/{anon}/resolve", json={"outcome": "refund", "note": "退款"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "outcome"
    assert (await Complaint.get(id=anon)).status == "open"
    r = await w.admin.post(f"/api/v1/console/complaints/{anon}/resolve", json={"outcome": "no_fault", "note": "未发现问题"})
    assert r.status_code == 200
    r = await w.admin.post(f"/api/v1/console/complaints/{anon}/resolve", json={"outcome": "no_fault", "note": "未发现问题"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "complaint_resolved"
    assert await AuditLog.filter(action="complaint.resolve").count() >= 6


async def test_the_reporter_is_told_the_outcome_without_the_other_side(world, client):
    from server.models.complaints import Complaint

    w = world
    c = await _buyer_complaint(w)
    r = await w.admin.post(f"/api/v1/console/complaints/{c['id']}/resolve", json={"outcome": "warning", "note": "已警告"})
    assert r.status_code == 200
    got = await wait_for(lambda: _notified(c["id"]))
    assert got.notify_state == "sent" and got.notify_channel == "wechat"
    # a villager known by phone only: an SMS with the number and the outcome only
    phone = "1370000" + f"{w.order.id % 10000:04d}"
    r = await w.staff.post(f"/api/v1/station/{w.shop.net.village.id}/complaints",
                           json={"kind": "delivery", "text": "包裹晚到三天", "reporter_phone": phone, "reporter_name": "张大娘",
                                 "order_no": w.order.order_no})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    listed = (await w.staff.get(f"/api/v1/station/{w.shop.net.village.id}/complaints")).json()["filed"]
    assert next(c for c in listed if c["id"] == cid)["order_no"] == w.order.order_no
    r = await w.admin.post(f"/api/v1/console/complaints/{cid}/resolve", json={"outcome": "no_fault", "note": "已核实"})
    assert r.status_code == 200
    got = await wait_for(lambda: _notified(cid))
    assert got.notify_channel == "sms"
    msgs = (await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]
    assert msgs and set(msgs[0]["params"]) == {"no", "outcome"} and msgs[0]["params"]["no"] == got.no
    assert (await Complaint.get(id=cid)).notify_attempts == 1
    # a worker that died mid-send: the sweeper tries again, the SMS is not sent twice
    from server.complaints import service
    from server.kit import clock

    await Complaint.filter(id=cid).update(notify_state="sending", resolved_at=clock.now() - timedelta(hours=1))
    assert (await service.sweep())["notify"] >= 1
    got = await wait_for(lambda: Complaint.get_or_none(id=cid, notify_state="sent"))
    assert got.notify_attempts == 2
    assert len((await client.get("/__sim__/aliyun/sms", params={"phone": phone})).json()["messages"]) == 1


async def _notified(cid: int):
    from server.models.complaints import Complaint

    c = await Complaint.get(id=cid)
    return c if c.notify_state in ("sent", "refused", "none", "failed") else None


async def test_scopes_merchant_station_buyer_office(world, client):
    w = world
    filed = await _buyer_complaint(w, kind="merchant")
    # the merchant sees it without the reporter, and answers
    r = await w.shop.member.get("/api/v1/merchant/complaints")
    item = next(x for x in r.json()["items"] if x["id"] == filed["id"])
    assert "reporter_phone" not in item and "reporter_id" not in item and "reporter_name" not in item
    assert item["order_no"] == w.order.order_no  # joined into the page's one statement
    r = await w.shop.member.post(f"/api/v1/merchant/complaints/{filed['id']}/answer", json={"text": "已联系顾客换货"})
    assert r.status_code == 200 and r.json()["answer"] == "已联系顾客换货"
    other_member = await login_as(client, "merchant", merchant_id=(await _other_merchant()))
    assert (await other_member.get(f"/api/v1/merchant/complaints/{filed['id']}")).status_code == 404
    r = await other_member.post(f"/api/v1/merchant/complaints/{filed['id']}/answer", json={"text": "不是我们"})
    assert r.status_code == 404
    # the buyer sees the outcome, not the merchant's answer
    mine = (await w.shop.buyer.get(f"/api/v1/complaints/{filed['id']}")).json()
    assert mine["answer"] == ""
    # stations: filed here (with the villager), about another station (without the reporter)
    v1, v2 = w.shop.net.village.id, w.shop.net.village2.id
    r = await w.staff.post(f"/api/v1/station/{v1}/complaints",
                           json={"kind": "station", "text": "二村服务站态度恶劣", "reporter_phone": "13700005678",
                                 "reporter_name": "李大爷", "about_station_id": v2})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    mine = (await w.staff.get(f"/api/v1/station/{v1}/complaints")).json()
    assert sid in [c["id"] for c in mine["filed"]] and mine["filed"][0]["reporter_name"] == "李大爷"
    theirs = (await w.other_staff.get(f"/api/v1/station/{v2}/complaints")).json()
    about = next(c for c in theirs["about"] if c["id"] == sid)
    assert "reporter_phone" not in about and "reporter_name" not in about
    r = await w.other_staff.get(f"/api/v1/station/{v2}/complaints/{sid}")
    assert r.status_code == 200 and "reporter_phone" not in r.json()
    r = await w.other_staff.post(f"/api/v1/station/{v2}/complaints/{sid}/answer", json={"text": "当天人手不足，已道歉"})
    assert r.status_code == 200
    # the buyer's complaint is neither filed by nor about either station: 404; another station's list: 404
    assert (await w.staff.get(f"/api/v1/station/{v1}/complaints/{filed['id']}")).status_code == 404
    assert (await w.other_staff.get(f"/api/v1/station/{v1}/complaints")).status_code == 404
    assert (await w.staff.post(f"/api/v1/station/{v1}/complaints/{sid}/answer", json={"text": "代答"})).status_code == 404
    # a station complaint needs the station named; an order not of this station is refused by name
    r = await w.staff.post(f"/api/v1/station/{v1}/complaints", json={"kind": "station", "text": "服务态度差",
                                                                     "reporter_phone": "13700005678"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "about_station_id"
    r = await w.other_staff.post(f"/api/v1/station/{v2}/complaints",
                                 json={"kind": "delivery", "text": "包裹晚到三天", "reporter_phone": "13700005678",
                                       "order_no": w.order.order_no})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "order_no"
    # the office only
    assert (await w.shop.buyer.get("/api/v1/console/complaints")).status_code == 403
    assert (await w.admin.get("/api/v1/console/complaints/99999999")).status_code == 404


async def _other_merchant() -> int:
    from tests.fulfillment import factories as f

    m, _ = await f.merchant_with_skus(1)
    return m.id


async def test_public_report_page_and_trace_page_link(world, client, settings):
    from server.kit import redis as kr

    w = world
    await kr.reset_limit("complaint_ip", "127.0.0.0/24")
    page = await client.get(f"/t/{w.item_code}")
    assert f'href="/report/{w.item_code}"' in page.text
    r = await client.get(f"/report/{w.item_code}")
    assert r.status_code == 200 and "<form" in r.text and "form-action 'self'" in r.headers["content-security-policy"]
    assert "script-src" not in r.headers["content-security-policy"]
    r = await client.post(f"/report/{w.item_code}", data={"kind": "quality", "text": "短"})
    assert r.status_code == 422 and 'data-field="text"' in r.text
    r = await client.post(f"/report/{w.item_code}", data={"kind": "counterfeit", "text": TEXT, "phone": "123"})
    assert r.status_code == 422 and 'data-field="phone"' in r.text
    assert "&lt;script&gt;" in r.text and "<script>" not in r.text   # what was typed, kept and escaped
    r = await client.post(f"/report/{w.item_code}", data={"kind": "counterfeit", "text": TEXT},
                          files=[("photos", ("a.png", png(), "image/png")), ("photos", ("b.png", png(40, 40), "image/png"))])
    assert r.status_code == 201, r.text
    assert "受理编号" in r.text
    big = b"\xff\xd8\xff" + b"0" * (6 << 20)
    r = await client.post(f"/report/{w.item_code}", data={"kind": "quality", "text": "照片太大的举报"},
                          files=[("photos", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 413 and 'data-field="file"' in r.text
    r = await client.get("/report/NOSUCHCODE12")
    assert r.status_code == 404
    before = await _count()
    status, _ = await declare_huge_upload(settings, f"/report/{w.item_code}")
    assert status == 413 and await _count() == before
    await kr.reset_limit("complaint_ip", "127.0.0.0/24")


async def test_a_buyer_names_the_trace_code_of_the_item_received(world):
    from server.models.catalog import Category, Product
    from server.models.complaints import Complaint
    from server.models.trace import TraceFlag

    w = world
    other = await Product.create(merchant=w.shop.merchant, category=await Category.first(), name="喀左陈醋（另一商品）",
                                 status="on_sale")
    other_batch = await make_batch(w.shop, product_id=other.id)
    other_code = await item_code(w.shop, other_batch["id"])
    product_id = w.shop.skus[0].product_id
    for code, also, why in (("KZ-NOT-A-CODE", {}, "trace_code"), (other_code, {}, "trace_code"),
                            (w.item_code, {"product_id": other.id}, "trace_code")):
        r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "counterfeit",
                                                                "text": TEXT, "trace_code": code, **also})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == why, (code, r.text)
    got = await _buyer_complaint(w, kind="counterfeit", trace_code=w.item_code)
    assert got["flag_id"] and (await TraceFlag.get(id=got["flag_id"])).data["complaints"] == [got["id"]]
    c = await Complaint.get(id=got["id"])
    assert (c.trace_code, c.batch_id, c.product_id, c.merchant_id) == (w.item_code, w.batch["id"], product_id,
                                                                       w.shop.merchant.id)
    office = (await w.admin.get(f"/api/v1/console/complaints/{got['id']}")).json()
    assert office["trace_code"] == w.item_code
