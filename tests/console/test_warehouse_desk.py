"""The warehouse's console pages over HTTP: the pick list by bin, pick scans refused on the spot (wrong
SKU, unknown code, over-pick, an item code twice), the same scan re-sent written once, progress from
the server, pack, label, dispatch, inbound counted by scanning; and only for the warehouse role."""
from __future__ import annotations

import secrets

from server.models.fulfillment import FulfillmentTask, Parcel, PickRecord, TaskLine
from server.models.catalog import Sku
from tests.conftest import login
from tests.console.conftest import operator, sign_in
from tests.console import desk_world as w


async def _scan(b, target: str, code: str, scan_id: str | None = None):
    r = await b.post("/console/warehouse/pick", {"target": target, "code": code,
                                                 "scan_id": scan_id or secrets.token_hex(12)})
    assert r.status_code == 200, r.text
    return r.text


async def test_pick_by_scan_pack_label_dispatch(client, settings, app):
    buyer = await login(client)
    d = await w.desk(buyer.id)
    _, phone = await operator("warehouse", name="赵仓管")
    b = await sign_in(settings, phone)
    try:
        # the desk is the warehouse's home page
        r = await b.client.get("/console/")
        assert r.status_code == 303 and r.headers["location"] == "/console/warehouse"
        r = await b.page("/console/warehouse")
        assert f"/console/warehouse/waves/{d.wave_key}" in r.text and "县仓作业台" in r.text
        # a bin for the second SKU puts it first on the pick list
        r = await b.post(f"/console/warehouse/skus/{d.skus[1].id}/bin", {"bin": "a-01-3"})
        assert 'value="A-01-3"' in r.text and "已保存" in r.text
        r = await b.page(f"/console/warehouse/waves/{d.wave_key}")
        assert r.text.index(f'data-sku="{d.skus[1].id}"') < r.text.index(f'data-sku="{d.skus[0].id}"')
        assert d.batches[0] in r.text and d.batches[1] in r.text
        target = f"W:{d.wave_key}"
        # one unit; the same scan re-sent is answered, not written again
        sid = secrets.token_hex(12)
        assert "已拣" in await _scan(b, target, d.batches[0], sid)
        text = await _scan(b, target, d.batches[0], sid)
        assert "重复提交（未重复计数）" in text
        assert await PickRecord.filter(line__task_id=d.task_id).count() == 1
        # refused on the spot
        assert "拿错货了" in await _scan(b, target, d.stray)
        assert "未知条码" in await _scan(b, target, "NOPE" + secrets.token_hex(3))
        assert "已拣" in await _scan(b, target, d.batches[0])
        assert "多拣了" in await _scan(b, target, d.batches[0])
        # an item's trace code picks its batch once
        assert "已拣" in await _scan(b, target, d.item_code.lower())
        assert "此单品溯源码已经扫过" in await _scan(b, target, d.item_code)
        assert "已拣" in await _scan(b, f"T:{d.task_id}", d.batches[1])
        picks = await PickRecord.filter(line__task_id=d.task_id).values_list("batch", "trace_code")
        assert sorted(picks, key=str) == sorted([(d.batches[0], None)] * 2 + [(d.batches[1], d.item_code),
                                                 (d.batches[1], None)], key=str)
        # after a reload the progress comes from the server
        r = await b.page(f"/console/warehouse/tasks/{d.task_id}")
        assert r.text.count("<b>2</b> / 2") == 2
        # pack: a bad weight is named; then one parcel and its label
        r = await b.post(f"/console/warehouse/tasks/{d.task_id}/pack", {"weight_g": "abc"})
        assert 'data-field="weight_g"' in r.text
        r = await b.post(f"/console/warehouse/tasks/{d.task_id}/pack", {"weight_g": "1500"})
        parcel = await Parcel.get(task_id=d.task_id)
        assert f"/console/warehouse/parcels/{parcel.id}/label" in r.text
        assert (await FulfillmentTask.get(id=d.task_id)).status == "packed"
        r = await b.page(f"/console/warehouse/parcels/{parcel.id}/label")
        assert parcel.label in r.text and "<svg" in r.text and "size: 100mm 150mm" in r.text
        assert d.order.order_no in r.text and d.net.village.name in r.text
        # dispatch: by scanning the label's QR payload; the same scan twice is one event
        r = await b.page("/console/warehouse/dispatch")
        assert parcel.label in r.text and d.net.town.name in r.text
        r = await b.post("/console/warehouse/dispatch/scan", {"code": f"KZP:{parcel.label}"})
        assert "已发出" in r.text
        r = await b.post("/console/warehouse/dispatch/scan", {"code": parcel.label})
        assert "重复扫描" in r.text
        assert (await Parcel.get(id=parcel.id)).status == "in_transit"
        r = await b.post("/console/warehouse/dispatch/scan", {"code": "ZZ" + secrets.token_hex(4).upper()})
        assert "没有这个包裹条码" in r.text
        # the SLA board carries the parcel's promise
        r = await b.page("/console/warehouse/sla")
        assert parcel.label in r.text
    finally:
        await b.client.aclose()


async def test_pick_refusals_leave_nothing_half_done(client, settings, app):
    buyer = await login(client)
    d = await w.desk(buyer.id)
    _, phone = await operator("warehouse")
    b = await sign_in(settings, phone)
    try:
        target = f"T:{d.task_id}"
        before = await Sku.filter(id__in=[s.id for s in d.skus]).values_list("id", "stock", "reserved")
        for code in (d.stray, "", "x" * 65):
            await _scan(b, target, code)
        assert not await PickRecord.filter(line__task_id=d.task_id).exists()
        assert sum(await TaskLine.filter(task_id=d.task_id).values_list("picked_qty", flat=True)) == 0
        assert await Sku.filter(id__in=[s.id for s in d.skus]).values_list("id", "stock", "reserved") == before
        # a recalled batch: refused, and no longer offered on the pick list
        from server.models.trace import Batch

        await Batch.create(merchant=d.merchant, product_id=d.skus[0].product_id, code=d.batches[0],
                           sku_ids=[d.skus[0].id], status="recalled", trace_code="TR" + secrets.token_hex(6).upper())
        assert "此批次已召回" in await _scan(b, target, d.batches[0])
        r = await b.page(f"/console/warehouse/tasks/{d.task_id}")
        row = r.text.split(f'data-sku="{d.skus[0].id}"')[1].split("</tr>")[0]
        assert d.batches[0] not in row and "无已入库批次" in row
        assert not await PickRecord.filter(line__task_id=d.task_id).exists()
        # nothing picked: nothing to pack
        r = await b.post(f"/console/warehouse/tasks/{d.task_id}/pack", {"weight_g": "100"})
        assert "没有已拣待打包的商品" in r.text
        # a wave that is not there
        r = await b.client.get("/console/warehouse/waves/local-999999999-0")
        assert r.status_code == 404
    finally:
        await b.client.aclose()


async def test_dispatch_a_whole_route(client, settings, app):
    buyer = await login(client)
    d = await w.desk(buyer.id)
    parcel = await w.pick_and_pack(d)
    _, phone = await operator("warehouse")
    b = await sign_in(settings, phone)
    try:
        r = await b.page(f"/console/warehouse/tasks/{d.task_id}")
        assert "W:" not in r.text and f"T:{d.task_id}" in r.text and "<svg" in r.text   # the printed code
        r = await b.post(f"/console/warehouse/dispatch/s{d.net.town.id}")
        assert "已发出 1 个包裹" in r.text and parcel.label not in r.text
        assert (await Parcel.get(id=parcel.id)).status == "in_transit"
        r = await b.post(f"/console/warehouse/dispatch/s{d.net.town.id}")
        assert "这条线路没有待发的包裹" in r.text
    finally:
        await b.client.aclose()


async def test_courier_hand_off_from_the_board(client, settings, app):
    from server.fulfillment import floor
    from server.fulfillment import service as fulfillment
    from tests.fulfillment import factories as f

    buyer = await login(client)
    net = await f.network()
    m, skus = await f.merchant_with_skus(1)
    batch = "CB" + secrets.token_hex(3).upper()
    await w.receive(m.id, skus[0].id, 5, batch)
    order = await f.paid_order(buyer.id, [(skus[0], 1)], address=f.address(net, outside=True))
    task_id = await fulfillment.handoff(order.id)
    await floor.scan_pick([task_id], batch, secrets.token_hex(8), actor_id=None)
    [p] = await floor.pack_picked(task_id, 800, actor_id=None)
    _, phone = await operator("warehouse")
    b = await sign_in(settings, phone)
    try:
        r = await b.page("/console/warehouse/sla")
        assert p.label in r.text.split('id="courier"')[1]
        r = await b.page("/console/warehouse/dispatch")
        assert 'data-route="courier"' in r.text and p.label in r.text
        r = await b.post(f"/console/warehouse/parcels/{p.id}/courier", {"company": "", "tracking_no": "1"})
        assert "请填写快递公司" in r.text and (await Parcel.get(id=p.id)).status == "packed"
        r = await b.post(f"/console/warehouse/parcels/{p.id}/courier", {"company": "邮政", "tracking_no": "EMS12345"})
        assert "已交给快递" in r.text
        parcel = await Parcel.get(id=p.id)
        assert parcel.status == "with_courier" and parcel.tracking_no == "EMS12345"
    finally:
        await b.client.aclose()


async def test_inbound_counted_by_scanning(client, settings, app):
    from tests.fulfillment import factories as f

    m, skus = await f.merchant_with_skus(1)
    _, phone = await operator("warehouse")
    b = await sign_in(settings, phone)
    batch = "IN" + secrets.token_hex(3).upper()
    try:
        r = await b.post("/console/warehouse/inbound", {"merchant_id": str(m.id), "lines": "12 x"}, htmx=False)
        assert r.status_code == 422 and "第 1 行格式应为" in r.text
        r = await b.post("/console/warehouse/inbound", {"merchant_id": str(m.id), "lines": f"{skus[0].id} {batch} 2",
                                                        "note": "合作社送货"}, htmx=False)
        assert r.status_code == 303
        note_url = r.headers["location"]
        note_id = int(note_url.rsplit("/", 1)[1])
        stock = (await Sku.get(id=skus[0].id)).stock
        sid = secrets.token_hex(12)
        r = await b.post(f"{note_url}/scan", {"code": batch, "scan_id": sid})
        assert "已点数 1 件" in r.text
        r = await b.post(f"{note_url}/scan", {"code": batch, "scan_id": sid})
        assert "重复提交" in r.text and "已点数 1 件" in r.text
        r = await b.post(f"{note_url}/scan", {"code": "OTHER1", "scan_id": secrets.token_hex(12)})
        assert "不在这张入库单上" in r.text
        await b.post(f"{note_url}/scan", {"code": batch, "scan_id": secrets.token_hex(12)})
        r = await b.post(f"{note_url}/scan", {"code": batch, "scan_id": secrets.token_hex(12)})
        assert "已按入库单数量点齐" in r.text
        r = await b.post(f"{note_url}/receive")
        assert "已收货" in r.text and 'id="received"' in r.text
        assert (await Sku.get(id=skus[0].id)).stock == stock + 2
        r = await b.post(f"{note_url}/receive")
        assert "已经收货" in r.text
        assert (await Sku.get(id=skus[0].id)).stock == stock + 2
        r = await b.page("/console/warehouse/inbound")
        assert f'data-note="{note_id}"' in r.text
    finally:
        await b.client.aclose()


async def test_warehouse_pages_are_for_the_warehouse_only(client, settings, app):
    from tests.catalog.conftest import make_station

    _, phone = await operator("station_staff", station_id=await make_station())
    b = await sign_in(settings, phone)
    try:
        for path in ("/console/warehouse", "/console/warehouse/dispatch", "/console/warehouse/sla",
                     "/console/warehouse/inbound"):
            r = await b.client.get(path)
            assert r.status_code == 403 and "县仓操作员" in r.text, path
        r = await b.post("/console/warehouse/pick", {"target": "T:1", "code": "X"})
        assert "县仓操作员" in r.text
        r = await b.client.get("/console/station", follow_redirects=True)
        assert r.status_code == 200 and "核销提货" in r.text and "/console/warehouse" not in r.text
    finally:
        await b.client.aclose()
