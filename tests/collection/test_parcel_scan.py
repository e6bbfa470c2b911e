"""A collection label scanned through the parcel scan endpoint (/api/v1/logistics/scans) or the station
desk's 扫码收发 tab goes down the collection path, with the collection's rules (#26 gap)."""
from __future__ import annotations

from server.models.collection import CollectionScan
from tests.collection.conftest import collect
from tests.console.conftest import operator, sign_in


async def _lscan(actor, label: str, kind: str, station_id: int | None = None):
    b = {"label": label, "kind": kind}
    if station_id is not None:
        b["station_id"] = station_id
    return await actor.post("/api/v1/logistics/scans", json=b)


async def test_the_parcel_scan_endpoint_takes_collection_labels(cworld):
    w = cworld
    c = await collect(w)
    r = await _lscan(w.village_staff, c["label"], "dispatched", w.net.village.id)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False and r.json()["collection"]["status"] == "in_transit"
    again = await _lscan(w.village_staff, c["label"], "dispatched", w.net.village.id)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # the same rules: another station's staff 404, a wrong stop 409, a parcel-only kind 409
    assert (await _lscan(w.other_staff, c["label"], "arrived", w.net.town.id)).status_code == 404
    wrong = await _lscan(w.other_staff, c["label"], "arrived", w.net.village2.id)
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "impossible_scan"
    odd = await _lscan(w.town_staff, c["label"], "handed_over", w.net.town.id)
    assert odd.status_code == 409 and odd.json()["error"]["code"] == "impossible_scan"
    r = await _lscan(w.town_staff, c["label"], "arrived", w.net.town.id)
    assert r.status_code == 200 and r.json()["collection"]["position"] == 1
    assert (await _lscan(w.town_staff, c["label"], "dispatched", w.net.town.id)).status_code == 200
    r = await _lscan(w.warehouse, c["label"], "arrived")
    assert r.status_code == 200 and r.json()["collection"]["status"] == "arrived"
    kinds = [e.kind for e in await CollectionScan.filter(collection_id=c["id"]).order_by("id")]
    assert kinds == ["collected", "dispatched", "arrived", "dispatched", "arrived"]
    # an unknown label is still a parcel's 404
    r = await _lscan(w.village_staff, "CLNOSUCHLABEL1", "arrived", w.net.village.id)
    assert r.status_code == 404


async def test_the_station_desk_scan_tab_takes_collection_labels(cworld, settings, app):
    w = cworld
    c = await collect(w)
    _, phone = await operator("station_staff", station_id=w.net.village.id, name="李站长")
    _, other_phone = await operator("station_staff", station_id=w.net.village2.id)
    b = await sign_in(settings, phone)
    o = await sign_in(settings, other_phone)
    base = f"/console/station/{w.net.village.id}"
    try:
        r = await b.post(f"{base}/scan", {"kind": "dispatched", "code": f"KZC:{c['label']}"})
        assert r.status_code == 200 and 'data-result="ok"' in r.text and "已发往上一级" in r.text, r.text[-1500:]
        r = await b.post(f"{base}/scan", {"kind": "dispatched", "code": c["label"]})
        assert "重复扫描" in r.text
        r = await b.post(f"{base}/scan", {"kind": "out_for_delivery", "code": c["label"]})
        assert 'data-result="refused"' in r.text and "不可能发生" in r.text
        # another station: its own tab refuses (not its collection), ours is a 404
        r = await o.post(f"/console/station/{w.net.village2.id}/scan", {"kind": "arrived", "code": c["label"]})
        assert 'data-result="refused"' in r.text
        r = await o.post(f"{base}/scan", {"kind": "arrived", "code": c["label"]}, htmx=False)
        assert r.status_code == 404
        kinds = [e.kind for e in await CollectionScan.filter(collection_id=c["id"]).order_by("id")]
        assert kinds == ["collected", "dispatched"]
    finally:
        await b.client.aclose()
        await o.client.aclose()
