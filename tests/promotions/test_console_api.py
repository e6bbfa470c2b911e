"""The office's promotions over JSON (/api/v1/console/coupons, /campaigns): the same services as the
pages; admins only (a merchant and a buyer get 403), bad input names its field and writes nothing, an
unknown id is 404, an overlapping publish or edit is 409 campaign_overlap; the spec lists the codes."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock
from server.models.promotions import Campaign, Coupon
from tests.conftest import login, login_as
from tests.orders.conftest import make_merchant, make_sku
from tests.promotions.conftest import make_coupon


def _coupon(**kw) -> dict:
    now = clock.now()
    return {"name": "国庆满100减15", "kind": "full_reduction", "threshold_fen": 10000, "amount_fen": 1500,
            "valid_from": now.isoformat(), "valid_until": (now + timedelta(days=3)).isoformat(),
            "total_quantity": 50, **kw}


async def test_office_coupons_api(client, admin):
    before = await Coupon.all().count()
    r = await admin.post("/api/v1/console/coupons", json=_coupon(threshold_fen=1000))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "threshold_fen", r.text
    r = await admin.post("/api/v1/console/coupons", json=_coupon(scope="product", scope_ids=[999999999]))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "scope_ids", r.text
    r = await admin.post("/api/v1/console/coupons", json=_coupon(kind="gift"))
    assert r.status_code == 422
    assert await Coupon.all().count() == before
    r = await admin.post("/api/v1/console/coupons", json=_coupon())
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["funder"], c["merchant_id"], c["description"]) == ("platform", None, "满100.00元减15.00元")
    merchant = await make_merchant()
    shop = await make_coupon(merchant_id=merchant.id, scope="merchant", scope_ids=[merchant.id])
    ids = [x["id"] for x in (await admin.get("/api/v1/console/coupons?funder=platform")).json()["items"]]
    assert c["id"] in ids and shop.id not in ids
    ids = [x["id"] for x in (await admin.get("/api/v1/console/coupons?funder=merchant")).json()["items"]]
    assert shop.id in ids and c["id"] not in ids
    assert (await admin.get("/api/v1/console/coupons?funder=x")).status_code == 422
    r = await admin.post(f"/api/v1/console/coupons/{c['id']}/status", json={"status": "paused"})
    assert r.status_code == 200 and r.json()["status"] == "paused"
    assert (await Coupon.get(id=c["id"])).status == "paused"
    r = await admin.post(f"/api/v1/console/coupons/{c['id']}/status", json={"status": "deleted"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "status"
    assert (await admin.get(f"/api/v1/console/coupons/{c['id']}")).json()["status"] == "paused"
    assert (await admin.get("/api/v1/console/coupons/999999999")).status_code == 404
    r = await admin.post("/api/v1/console/coupons/999999999/status", json={"status": "active"})
    assert r.status_code == 404
    # roles: a merchant and a buyer are refused, nothing changes
    seller = await login_as(client, "merchant", merchant_id=merchant.id)
    for actor in (seller, await login(client)):
        assert (await actor.get("/api/v1/console/coupons")).status_code == 403
        assert (await actor.post("/api/v1/console/coupons", json=_coupon())).status_code == 403
        r = await actor.post(f"/api/v1/console/coupons/{shop.id}/status", json={"status": "paused"})
        assert r.status_code == 403 and (await Coupon.get(id=shop.id)).status == "active"
    assert (await client.get("/api/v1/console/coupons")).status_code == 401


async def test_office_campaigns_api(client, admin):
    await Campaign.filter(status="published").update(status="withdrawn")
    sku = await make_sku()
    coupon = await make_coupon()
    now = clock.now()
    before = await Campaign.all().count()
    body = {"title": "重阳", "starts_at": (now + timedelta(days=50)).isoformat(),
            "ends_at": (now + timedelta(days=52)).isoformat(), "product_ids": [sku.product_id],
            "coupon_ids": [coupon.id]}
    r = await admin.post("/api/v1/console/campaigns", json={**body, "ends_at": body["starts_at"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "ends_at"
    r = await admin.post("/api/v1/console/campaigns", json={**body, "coupon_ids": [999999999]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "coupon_ids"
    assert await Campaign.all().count() == before
    first = (await admin.post("/api/v1/console/campaigns", json=body)).json()
    second = (await admin.post("/api/v1/console/campaigns", json={**body, "title": "冬至"})).json()
    assert first["status"] == "draft" and first["state"] == "draft"
    r = await admin.post(f"/api/v1/console/campaigns/{first['id']}/publish")
    assert r.status_code == 200 and r.json()["state"] == "upcoming"
    r = await admin.post(f"/api/v1/console/campaigns/{second['id']}/publish")
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_overlap"
    assert r.json()["error"]["details"][0]["campaign_id"] == first["id"]
    # edit the draft out of the way, then publish it; edit the published one into it: 409, kept
    later = {**body, "title": "冬至", "starts_at": (now + timedelta(days=60)).isoformat(),
             "ends_at": (now + timedelta(days=61)).isoformat()}
    r = await admin.put(f"/api/v1/console/campaigns/{second['id']}", json=later)
    assert r.status_code == 200 and r.json()["starts_at"].startswith((now + timedelta(days=60)).date().isoformat()[:7])
    assert (await admin.post(f"/api/v1/console/campaigns/{second['id']}/publish")).status_code == 200
    r = await admin.put(f"/api/v1/console/campaigns/{first['id']}", json={**later, "title": "重阳"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_overlap"
    assert (await Campaign.get(id=first["id"])).ends_at < now + timedelta(days=53)
    r = await admin.put(f"/api/v1/console/campaigns/{first['id']}", json={**body, "product_ids": ["x"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].startswith("product_ids")
    ids = [c["id"] for c in (await admin.get("/api/v1/console/campaigns")).json()["items"]]
    assert first["id"] in ids and second["id"] in ids
    r = await admin.get(f"/api/v1/console/campaigns/{first['id']}/figures")
    assert r.status_code == 200 and r.json() == {"orders": 0, "gmv_fen": 0, "coupons_used": 0, "discount_fen": 0}
    r = await admin.post(f"/api/v1/console/campaigns/{first['id']}/withdraw")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = await admin.post(f"/api/v1/console/campaigns/{first['id']}/withdraw")
    assert r.status_code == 409
    r = await admin.put(f"/api/v1/console/campaigns/{first['id']}", json=body)
    assert r.status_code == 409
    for url in ("/api/v1/console/campaigns/999999999", "/api/v1/console/campaigns/999999999/figures"):
        assert (await admin.get(url)).status_code == 404
    assert (await admin.put("/api/v1/console/campaigns/999999999", json=body)).status_code == 404
    assert (await admin.post("/api/v1/console/campaigns/999999999/publish")).status_code == 404
    buyer = await login(client)
    assert (await buyer.get("/api/v1/console/campaigns")).status_code == 403
    r = await buyer.post(f"/api/v1/console/campaigns/{second['id']}/withdraw")
    assert r.status_code == 403 and (await Campaign.get(id=second["id"])).status == "published"
    await Campaign.filter(id__in=[first["id"], second["id"]]).update(status="withdrawn")


async def test_the_spec_lists_roles_and_codes(client):
    spec = (await client.get("/docs/openapi.json")).json()
    publish = spec["paths"]["/api/v1/console/campaigns/{campaign_id}/publish"]["post"]
    assert "campaign_overlap" in publish["responses"]["409"]["x-error-codes"]
    assert "403" in publish["responses"] and "404" in publish["responses"]
    create = spec["paths"]["/api/v1/console/coupons"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]
