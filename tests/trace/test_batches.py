"""Batches: scope, bad input, the lock once goods are sold, appended corrections, item codes, labels."""
from __future__ import annotations

from server.models.trace import Batch, BatchCorrection, TraceCode
from tests.conftest import login_as
from tests.trace.conftest import make_batch, sell_from_batch


async def test_create_and_scope(client, shop):
    b = await make_batch(shop)
    assert b["trace_code"] and len(b["trace_code"]) == 12
    assert b["trace_url"].endswith("/t/" + b["trace_code"])
    assert [s["description"] for s in b["steps"]] == ["播种 谷子（小米）", "收获 晾晒"]
    assert b["inspections"][0]["result"] == "pass" and not b["locked"]
    # another merchant's member sees nothing of it: 404, not 403
    other = await login_as(client, "merchant", merchant_id=(await _other_merchant()).id)
    assert (await other.get(f"/api/v1/merchant/batches/{b['id']}")).status_code == 404
    r = await other.patch(f"/api/v1/merchant/batches/{b['id']}", json={"note": "x"})
    assert r.status_code == 404
    r = await other.post(f"/api/v1/merchant/merchants/{shop.merchant.id}/batches", json={"product_id": 1, "code": "X"})
    assert r.status_code == 404
    # duplicate number for the same merchant
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.merchant.id}/batches",
                               json={"product_id": shop.skus[0].product_id, "code": b["code"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "batch_exists"
    page = (await shop.member.get(f"/api/v1/merchant/merchants/{shop.merchant.id}/batches")).json()
    assert page["items"][0]["id"] == b["id"]


async def _other_merchant():
    from tests.fulfillment import factories as f

    m, _ = await f.merchant_with_skus(1)
    return m


async def test_bad_input(shop):
    url = f"/api/v1/merchant/merchants/{shop.merchant.id}/batches"
    pid = shop.skus[0].product_id
    cases = [
        ({"product_id": pid, "code": "bad code!"}, "code"),
        ({"product_id": pid, "code": ""}, "code"),
        ({"product_id": pid, "code": "A\x00B"}, "code"),
        ({"product_id": 2**70, "code": "A1"}, "product_id"),
        ({"product_id": "x", "code": "A1"}, "product_id"),
        ({"product_id": pid, "code": "A1", "quantity": 10**12}, "quantity"),
        ({"product_id": pid, "code": "A1", "sku_ids": [999999999]}, "sku_ids[0]"),
        ({"product_id": pid, "code": "A1", "status": "recalled"}, "status"),
        ({"product_id": pid, "code": "A1", "responsible_phone": "123"}, "responsible_phone"),
        ({"product_id": pid, "code": "A1", "steps": [{"at": "2026-01-01T00:00:00", "description": "x"}]}, "steps.0.at"),
        ({"product_id": pid, "code": "A1", "steps": [{"at": "2026-01-01T00:00:00Z", "description": "x",
                                                      "photos": ["../etc/passwd"]}]}, "steps.0.photos"),
    ]
    for body, field in cases:
        r = await shop.member.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, (field, r.text)
    r = await shop.member.post(url, json={"product_id": 999999999, "code": "A1"})
    assert r.status_code == 422 and "product_id" in r.text
    assert not await Batch.filter(merchant_id=shop.merchant.id).exists()


async def test_locked_once_sold_corrections_appended(shop):
    b = await make_batch(shop)
    r = await shop.member.patch(f"/api/v1/merchant/batches/{b['id']}", json={"origin_plot": "北坡"})
    assert r.status_code == 200 and r.json()["origin_plot"] == "北坡"
    await sell_from_batch(shop, b["code"], pack=False)
    before = await Batch.get(id=b["id"])
    for method, path, body in [
        ("patch", "", {"origin_plot": "南坡"}),
        ("post", "/steps", {"at": "2026-10-01T00:00:00Z", "description": "补录"}),
        ("post", "/inspections", {"lab": "X", "tested_on": "2026-10-01", "result": "pass"}),
    ]:
        r = await getattr(shop.member, method)(f"/api/v1/merchant/batches/{b['id']}{path}", json=body)
        assert r.status_code == 409 and r.json()["error"]["code"] == "batch_locked", r.text
    after = await Batch.get(id=b["id"])
    assert after.origin_plot == before.origin_plot == "北坡" and after.locked_at is not None
    # a correction: new value in force, the old one kept with who and why
    r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/corrections",
                               json={"field": "produced_on", "value": "2026-09-21", "reason": "收获日期录错一天"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["produced_on"] == "2026-09-21" and out["locked"]
    c = out["corrections"][-1]
    assert c["old_value"] == "2026-09-20" and c["new_value"] == "2026-09-21"
    assert c["actor_id"] == shop.member.id and c["reason"] == "收获日期录错一天"
    r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/corrections",
                               json={"field": "inspection", "reason": "补充第二次抽检",
                                     "inspection": {"lab": "县检测站", "tested_on": "2026-10-02", "result": "pass"}})
    assert r.status_code == 201 and r.json()["inspections"][-1]["correction_id"] is not None
    for body in ({"field": "quantity", "value": "many", "reason": "xx"}, {"field": "status", "value": "x", "reason": "xx"},
                 {"field": "note", "value": "x", "reason": ""}, {"field": "step", "reason": "missing step"}):
        r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/corrections", json=body)
        assert r.status_code == 422, (body, r.text)
    assert await BatchCorrection.filter(batch_id=b["id"]).count() == 2


async def test_item_codes_labels_and_qr(client, shop):
    b = await make_batch(shop)
    r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/item-codes", json={"count": 30})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["first_serial"], out["last_serial"]) == (1, 30)
    r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/item-codes", json={"count": 5})
    assert r.json()["first_serial"] == 31
    codes = {c.code for c in await TraceCode.filter(batch_id=b["id"])}
    assert len(codes) == 36  # 35 items + the batch code, all distinct
    for bad in (0, -1, 10**9, "x"):
        r = await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/item-codes", json={"count": bad})
        assert r.status_code == 422
    r = await shop.member.get(f"/api/v1/merchant/batches/{b['id']}/labels", params={"first": 1, "count": 40})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count('class="l"') == 35 and "@page" in r.text and "<svg" in r.text
    assert "No.000035" in r.text
    code = out["codes"][0]["code"]
    r = await client.get(f"/api/v1/trace/{code}/qr.png")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    r = await client.get(f"/api/v1/trace/{code.lower()}/qr.svg")
    assert r.status_code == 200 and b"<svg" in r.content
    assert (await client.get("/api/v1/trace/ZZZZZZZZZZZZ/qr.png")).status_code == 404


async def test_sweeper_locks_sold_batches_and_office_views(client, admin, shop):
    from server.trace import service

    b = await make_batch(shop)
    await sell_from_batch(shop, b["code"], pack=False)
    assert (await Batch.get(id=b["id"])).locked_at is None  # nobody edited it since the sale
    assert await service.lock_sold_batches() >= 1
    assert (await Batch.get(id=b["id"])).locked_at is not None
    page = (await admin.get("/api/v1/console/trace/batches", params={"merchant_id": shop.merchant.id})).json()
    assert [x["id"] for x in page["items"]] == [b["id"]] and page["items"][0]["locked"]
    full = (await admin.get(f"/api/v1/console/trace/batches/{b['id']}")).json()
    assert full["steps"] and full["inspections"]
    r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/corrections",
                         json={"field": "responsible_name", "value": "李主任", "reason": "责任人调整（县电商办核实）"})
    assert r.status_code == 201 and r.json()["corrections"][-1]["actor_id"] == admin.id
    r = await admin.get(f"/api/v1/console/trace/batches/{b['id']}/labels", params={"first": 0, "count": 1})
    assert r.status_code == 200 and b["trace_code"] in r.text
    assert (await admin.get("/api/v1/console/trace/batches/999999999")).status_code == 404
    assert (await shop.member.get("/api/v1/console/trace/batches")).status_code == 403
    # the public page tells what was corrected and why
    page = (await client.get(f"/t/{b['trace_code']}")).text
    assert "责任人调整（县电商办核实）" in page and "李主任" in page
