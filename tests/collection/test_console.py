"""The collection pages over HTTP: the station desk records a collection and scans it on (a foreign
station's staff see nothing of it, page or fragment); bad input named beside its field, nothing
written; the warehouse receives it; the office reads the figures."""
from __future__ import annotations

from server.models.collection import Collection
from server.models.catalog import Sku
from tests.collection.conftest import bring_up, collect, household_merchant
from tests.console.conftest import operator, sign_in


async def test_station_desk_records_and_scans(cworld, settings, app):
    w = cworld
    _, phone = await operator("station_staff", station_id=w.net.village.id, name="李站长")
    _, other_phone = await operator("station_staff", station_id=w.net.village2.id)
    b = await sign_in(settings, phone)
    o = await sign_in(settings, other_phone)
    base = f"/console/station/{w.net.village.id}"
    try:
        r = await b.page(f"{base}/collect")
        assert r.status_code == 200 and w.merchant.name in r.text and "揽收登记" in r.text
        goods = f"{w.merchant.id}:{w.sku.id}"
        # bad input: named beside the field, nothing written
        for form, fld in (({"goods": goods, "quantity": "0", "weight_kg": "5"}, "quantity"),
                          ({"goods": goods, "quantity": "20", "weight_kg": "10000"}, "weight_kg"),
                          ({"goods": goods, "quantity": "20000", "weight_kg": "4000"}, "quantity"),
                          ({"goods": "x", "quantity": "2", "weight_kg": "1"}, "goods")):
            r = await b.post(f"{base}/collect", form, htmx=False)
            assert r.status_code == 200 and f'data-field="{fld}"' in r.text, (form, r.text[-2000:])
        assert await Collection.filter(merchant_id=w.merchant.id).count() == 0
        r = await b.post(f"{base}/collect", {"goods": goods, "quantity": "12", "weight_kg": "6.5", "grade": "premium",
                                             "plot": "西沟", "harvested_on": "2026-10-02", "cold_chain": "1"},
                         htmx=False)
        assert 'data-result="recorded"' in r.text, r.text[-3000:]
        c = await Collection.get(merchant_id=w.merchant.id)
        assert c.weight_g == 6500 and c.cold_chain and c.grade == "premium" and c.label in r.text
        assert "<svg" in r.text
        # another station's staff: the page, the scan fragment and the record are all refused
        assert (await o.page(f"{base}/collect")).status_code == 404
        r = await o.post(f"{base}/collect/scan", {"kind": "dispatched", "code": c.label}, htmx=False)
        assert r.status_code == 404, r.text[-1500:]
        r = await o.post(f"/console/station/{w.net.village2.id}/collect/scan", {"kind": "dispatched", "code": c.label})
        assert 'data-result="refused"' in r.text
        r = await o.post(f"{base}/collect", {"goods": goods, "quantity": "1", "weight_kg": "1"}, htmx=False)
        assert r.status_code == 404
        assert await Collection.filter(merchant_id=w.merchant.id).count() == 1
        # dispatched from here; scanned again: one event
        r = await b.post(f"{base}/collect/scan", {"kind": "dispatched", "code": f"KZC:{c.label}"})
        assert 'data-result="ok"' in r.text and "已发往上一级" in r.text
        r = await b.post(f"{base}/collect/scan", {"kind": "dispatched", "code": c.label})
        assert "重复扫描" in r.text
        r = await b.post(f"{base}/collect/scan", {"kind": "arrived", "code": c.label})
        assert 'data-result="refused"' in r.text and "不可能发生" in r.text
    finally:
        await b.client.aclose()
        await o.client.aclose()


async def test_warehouse_receives_and_office_figures(cworld, settings, app):
    w = cworld
    c = await collect(w)
    await bring_up(w, c["label"])
    _, phone = await operator("warehouse", name="赵仓管")
    b = await sign_in(settings, phone)
    _, admin_phone = await operator("admin", name="王主任")
    a = await sign_in(settings, admin_phone)
    try:
        r = await b.page("/console/warehouse/collections")
        assert r.status_code == 200 and c["label"] in r.text.split('id="arrived"')[1]
        r = await b.post(f"/console/warehouse/collections/{c['id']}/receive", {"received_qty": "18"}, htmx=False)
        assert 'data-field="reason"' in r.text
        r = await b.post(f"/console/warehouse/collections/{c['id']}/receive", {"received_qty": "abc"}, htmx=False)
        assert 'data-field="received_qty"' in r.text
        assert (await Sku.get(id=w.sku.id)).stock == 0
        r = await b.post(f"/console/warehouse/collections/{c['id']}/receive",
                         {"received_qty": "18", "reason": "两件受潮"}, htmx=False)
        assert 'id="received"' in r.text and "两件受潮" in r.text
        assert (await Sku.get(id=w.sku.id)).stock == 18
        r = await b.post(f"/console/warehouse/collections/{c['id']}/receive", {"received_qty": "18", "reason": "x"})
        assert "已收货" in r.text
        assert (await Sku.get(id=w.sku.id)).stock == 18
        # the office's figures; the warehouse may not read them
        r = await a.page("/console/statistics/collections")
        assert r.status_code == 200 and w.net.town.town in r.text.split('id="by-town"')[1]
        assert f'data-key="{w.net.village.id}"' in r.text
        r = await a.page("/console/statistics/collections?since=bad")
        assert r.status_code == 200 and 'data-field="since"' in r.text
        assert (await b.page("/console/statistics/collections")).status_code == 403
    finally:
        await b.client.aclose()
        await a.client.aclose()


async def test_the_household_sees_its_collections(cworld, settings, app):
    w = cworld
    c = await collect(w)
    _, phone = await operator("merchant", merchant_id=w.merchant.id, name="王大爷")
    other_m, _ = await household_merchant(w.net.village2.id)
    _, other_phone = await operator("merchant", merchant_id=other_m.id)
    b = await sign_in(settings, phone)
    o = await sign_in(settings, other_phone)
    try:
        r = await b.page("/console/shop/collections")
        assert r.status_code == 200 and c["label"] in r.text and "在站" in r.text
        r = await o.page("/console/shop/collections")
        assert r.status_code == 200 and c["label"] not in r.text and "还没有揽收记录" in r.text
    finally:
        await b.client.aclose()
        await o.client.aclose()
