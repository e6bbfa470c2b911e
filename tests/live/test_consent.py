"""Live selling consent (直播带货授权): another merchant's goods go on air only with its consent (a
proposal it accepted, within the agreed terms and days) or through the office's live product pool
(选品池); a merchant's own goods need none; refusals are 409 with the reason; scope and bad inputs."""
from datetime import timedelta

from server.kit import clock
from server.models.audit import AuditLog
from server.models.live import LiveTieIn
from server.models.live_consent import LiveConsent
from server.models.merchants import Merchant
from tests.conftest import login_as
from tests.live.conftest import attach, make_goods, make_session

PROPOSALS = "/api/v1/merchant/live-consents"


def _proposal(sku_id, **kw):
    today = clock.local_today()
    return {"sku_id": sku_id, "live_price": 2500, "commission_bp": 1000, "quota": 20,
            "starts_on": str(today), "ends_on": str(today + timedelta(days=7)), **kw}


async def _tie(actor, session_id, sku_id, **kw):
    body = {"sku_id": sku_id, "live_price": 2500, "quota": 10, "per_buyer_limit": 2, **kw}
    return await actor.post(f"/api/v1/live/sessions/{session_id}/tieins", json=body)


async def test_accepted_consent_allows_within_its_terms(client, streamer):
    goods = await make_goods(pooled=False)
    member = await login_as(client, "merchant", merchant_id=goods.merchant_id)
    s = await make_session(streamer, commission_bp=800)
    # without consent: refused, with the reason, nothing taken from the shelf
    r = await _tie(streamer, s["id"], goods.sku_id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_consent_required", r.text
    assert "has not consented" in r.json()["error"]["message"]
    assert not await LiveTieIn.filter(sku_id=goods.sku_id).exists()

    r = await streamer.post("/api/v1/live/consents", json=_proposal(goods.sku_id, note="周末专场"))
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["status"] == "proposed" and c["merchant_id"] == goods.merchant_id and c["product_name"] == "喀左老陈醋"
    assert (await _tie(streamer, s["id"], goods.sku_id)).status_code == 409  # proposed is not accepted
    r = await member.get(PROPOSALS, params={"status": "proposed"})
    assert [x["id"] for x in r.json()["items"]] == [c["id"]]
    r = await member.post(f"{PROPOSALS}/{c['id']}/accept", json={"note": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["decided_by"] == member.id
    assert await AuditLog.filter(action="live.consent_accept", object_id=str(goods.merchant_id)).count() == 1

    # outside the agreed terms: each named
    r = await _tie(streamer, s["id"], goods.sku_id, live_price=2400, quota=30, commission_bp=1500)
    assert r.status_code == 409
    msg = r.json()["error"]["message"]
    assert "live price below the agreed ¥25.00" in msg and "quota above the agreed 20" in msg
    assert "commission above the agreed 1000 bp" in msg
    # the session's own rate counts when the tie-in names none (800 <= 1000)
    r = await _tie(streamer, s["id"], goods.sku_id, live_price=2600, quota=20)
    assert r.status_code == 201, r.text
    t = r.json()
    # changing the tie-in stays within the consent too
    r = await streamer.patch(f"/api/v1/live/tieins/{t['id']}", json={"add_quota": 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "live_consent_required"
    r = await streamer.patch(f"/api/v1/live/tieins/{t['id']}", json={"live_price": 2499})
    assert r.status_code == 409
    r = await streamer.patch(f"/api/v1/live/tieins/{t['id']}", json={"sort": 3})
    assert r.status_code == 200
    # decided once
    r = await member.post(f"{PROPOSALS}/{c['id']}/accept", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "consent_decided"


async def test_declined_and_out_of_days_and_other_livestreamers(client, streamer):
    goods = await make_goods(pooled=False)
    member = await login_as(client, "merchant", merchant_id=goods.merchant_id)
    s = await make_session(streamer)
    c = (await streamer.post("/api/v1/live/consents", json=_proposal(goods.sku_id))).json()
    r = await member.post(f"{PROPOSALS}/{c['id']}/decline", json={"note": "库存不足"})
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert (await _tie(streamer, s["id"], goods.sku_id)).status_code == 409
    # a consent for days that do not cover the session
    later = clock.local_today() + timedelta(days=3)
    c2 = (await streamer.post("/api/v1/live/consents", json=_proposal(goods.sku_id, starts_on=str(later),
                                                                        ends_on=str(later)))).json()
    assert (await member.post(f"{PROPOSALS}/{c2['id']}/accept", json={})).status_code == 200
    assert (await _tie(streamer, s["id"], goods.sku_id)).status_code == 409
    # a consent given to one livestreamer is not another's
    c3 = (await streamer.post("/api/v1/live/consents", json=_proposal(goods.sku_id))).json()
    assert (await member.post(f"{PROPOSALS}/{c3['id']}/accept", json={})).status_code == 200
    other = await login_as(client, "livestreamer")
    await other.put("/api/v1/live/me/profile", json={"display_name": "别家主播"})
    s2 = await make_session(other)
    assert (await _tie(other, s2["id"], goods.sku_id)).status_code == 409
    assert (await _tie(streamer, s["id"], goods.sku_id)).status_code == 201
    # the livestreamer ends their consent: new tie-ins need another
    assert (await streamer.post(f"/api/v1/live/consents/{c3['id']}/withdraw")).json()["status"] == "withdrawn"


async def test_pool_and_own_goods(client, streamer, admin):
    goods = await make_goods(pooled=False, list_price=3500)
    s = await make_session(streamer, commission_bp=500)
    assert (await _tie(streamer, s["id"], goods.sku_id, live_price=3000)).status_code == 409
    r = await admin.post("/api/v1/console/live-pool", json={"product_id": goods.product_id, "min_price_bp": 8000,
                                                            "max_commission_bp": 1000, "agreement": "2026-12 签署标准协议"})
    assert r.status_code == 201, r.text
    pool_id = r.json()["id"]
    assert goods.product_id in [x["product_id"] for x in (await streamer.get("/api/v1/live/pool")).json()]
    # the listed row names its product and merchant (read in the pool's own statement)
    listed = {x["id"]: x for x in (await admin.get("/api/v1/console/live-pool")).json()}[pool_id]
    merchant = await Merchant.get(id=goods.merchant_id)
    assert (listed["product_name"], listed["merchant_name"]) == ("喀左老陈醋", merchant.name)
    assert listed == r.json()
    # the pool's floor is 80% of ¥35.00 = ¥28.00
    r = await _tie(streamer, s["id"], goods.sku_id, live_price=2799)
    assert r.status_code == 409 and "below the pool's ¥28.00" in r.json()["error"]["message"]
    r = await _tie(streamer, s["id"], goods.sku_id, live_price=2800, commission_bp=1001)
    assert r.status_code == 409 and "commission above the pool's 1000 bp" in r.json()["error"]["message"]
    assert (await _tie(streamer, s["id"], goods.sku_id, live_price=2800)).status_code == 201
    # out of the pool: the next session needs a consent
    assert (await admin.post(f"/api/v1/console/live-pool/{pool_id}/remove")).status_code == 200
    s2 = await make_session(streamer)
    assert (await _tie(streamer, s2["id"], goods.sku_id, live_price=2800)).status_code == 409
    # a merchant's own goods need no consent: its room, or its member tying in
    mine = await make_goods(pooled=False)
    s3 = await make_session(streamer, merchant_id=mine.merchant_id)
    assert (await _tie(streamer, s3["id"], mine.sku_id, live_price=100)).status_code == 201
    member = await login_as(client, "merchant", merchant_id=mine.merchant_id)
    await attach(member, s3["id"], (await make_goods_of(mine)).id, live_price=100)


async def make_goods_of(goods):
    from server.models.catalog import Sku

    return await Sku.create(product_id=goods.product_id, spec="1L", price=2800, list_price=3500, stock=10)


async def test_scope_and_bad_inputs(client, streamer, admin):
    goods = await make_goods(pooled=False)
    theirs = await make_goods(pooled=False)
    member = await login_as(client, "merchant", merchant_id=goods.merchant_id)
    stranger = await login_as(client, "merchant", merchant_id=theirs.merchant_id)
    c = (await streamer.post("/api/v1/live/consents", json=_proposal(goods.sku_id))).json()
    # a merchant sees and decides only proposals to its own merchants
    assert (await stranger.get(PROPOSALS)).json()["items"] == []
    assert (await stranger.post(f"{PROPOSALS}/{c['id']}/accept", json={})).status_code == 404
    assert (await stranger.post(f"{PROPOSALS}/{c['id']}/decline", json={})).status_code == 404
    assert (await member.post(f"{PROPOSALS}/987654321/accept", json={})).status_code == 404
    other = await login_as(client, "livestreamer")
    assert (await other.post(f"/api/v1/live/consents/{c['id']}/withdraw")).status_code == 404
    assert (await other.get("/api/v1/live/consents")).json()["items"] == []
    assert (await streamer.get(PROPOSALS)).status_code == 403
    assert (await member.post("/api/v1/live/consents", json=_proposal(goods.sku_id))).status_code == 403
    assert (await streamer.post("/api/v1/console/live-pool", json={"product_id": goods.product_id,
                                                                   "agreement": "x"})).status_code == 403
    # bad inputs, each named
    today = clock.local_today()
    for body, field in [(_proposal(goods.sku_id, live_price=0), "live_price"),
                        (_proposal(goods.sku_id, live_price=-5), "live_price"),
                        (_proposal(goods.sku_id, live_price=999999), "live_price"),
                        (_proposal(goods.sku_id, quota=0), "quota"),
                        (_proposal(goods.sku_id, commission_bp=10001), "commission_bp"),
                        (_proposal(987654321), "sku_id"),
                        (_proposal(goods.sku_id, ends_on=str(today - timedelta(days=1)),
                                   starts_on=str(today - timedelta(days=2))), "ends_on"),
                        (_proposal(goods.sku_id, ends_on=str(today - timedelta(days=1))), "ends_on"),
                        (_proposal(goods.sku_id, merchant_id=theirs.merchant_id), "merchant_id")]:
        r = await streamer.post("/api/v1/live/consents", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in str(r.json()["error"]), (field, r.text)
    for body, field in [({"product_id": 987654321, "agreement": "x"}, "product_id"),
                        ({"product_id": goods.product_id, "agreement": ""}, "agreement"),
                        ({"product_id": goods.product_id, "agreement": "x", "min_price_bp": 10001}, "min_price_bp")]:
        r = await admin.post("/api/v1/console/live-pool", json=body)
        assert r.status_code == 422 and field in str(r.json()["error"]), r.text
    assert (await admin.post("/api/v1/console/live-pool/987654321/remove")).status_code == 404
    assert await LiveConsent.filter(merchant_id=goods.merchant_id).count() == 1
