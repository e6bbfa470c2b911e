"""Many scanners at once: one event per scan, one winner per hop, stock moved once. Runs on both
backends; on PostgreSQL the requests really overlap in separate transactions."""
import asyncio

from server.fulfillment import service
from server.models.catalog import Sku
from server.models.fulfillment import Parcel, ScanEvent, TaskLine
from tests.conftest import login_as
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import ready_parcel, receive_batch, scan

WH = "/api/v1/console/warehouse"


async def test_the_same_scan_from_many_devices_is_one_event(world, client):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 3)], station=world.net.village)
    parcel = await ready_parcel(world, order.id, m.id)
    label = parcel["label"]
    reserved = (await Sku.get(id=sku.id)).reserved
    rs = await asyncio.gather(*[scan(world.warehouse, label, "dispatched") for _ in range(20)])
    assert [r.status_code for r in rs].count(200) == 20
    assert sum(1 for r in rs if not r.json()["duplicate"]) == 1
    assert await ScanEvent.filter(parcel_id=parcel["id"], kind="dispatched").count() == 1
    assert (await Sku.get(id=sku.id)).reserved == reserved - 3  # consumed once
    # two town staff scan the arrival at the same moment: one event
    second = await login_as(client, "station_staff", station_id=world.net.town.id)
    rs = await asyncio.gather(*[scan(a, label, "arrived", world.net.town.id)
                                for a in [world.town_staff, second] * 5])
    assert all(r.status_code == 200 for r in rs)
    assert sum(1 for r in rs if not r.json()["duplicate"]) == 1
    # conflicting scans at once: the arrival at the village and the handover race; only a valid order wins
    await scan(world.town_staff, label, "dispatched", world.net.town.id)
    rs = await asyncio.gather(scan(world.village_staff, label, "handed_over", world.net.village.id),
                              scan(world.village_staff, label, "arrived", world.net.village.id))
    codes = sorted(r.status_code for r in rs)
    assert codes in ([200, 409], [200, 200])
    p = await Parcel.get(id=parcel["id"])
    kinds = await ScanEvent.filter(parcel_id=p.id).order_by("id").values_list("kind", flat=True)
    assert kinds[:5] == ["packed", "dispatched", "arrived", "dispatched", "arrived"]
    assert p.version == len(kinds) - 1  # every change came from exactly one event


async def test_concurrent_picks_never_exceed_the_line(world):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 5)], station=world.net.town)
    task_id = await service.handoff(order.id)
    batch = await receive_batch(world.warehouse, m.id, sku.id, 20)
    rs = await asyncio.gather(*[world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                                     json={"sku_id": sku.id, "batch": batch, "quantity": 2})
                                for _ in range(6)])
    assert sorted(r.status_code for r in rs).count(200) == 2
    line = await TaskLine.get(task_id=task_id)
    assert line.picked_qty == 4
    # concurrent packers of the same picked units: never more packed than picked
    rs = await asyncio.gather(*[world.warehouse.post(f"{WH}/tasks/{task_id}/parcels", json={
        "lines": [{"task_line_id": line.id, "quantity": 3}], "weight_g": 100}) for _ in range(4)])
    assert [r.status_code for r in rs].count(201) == 1
    assert (await TaskLine.get(id=line.id)).packed_qty == 3


async def test_concurrent_inbound_receipts_add_stock_once(world):
    m, (sku, _) = await f.merchant_with_skus(stock=0)
    r = await world.warehouse.post(f"{WH}/inbound-notes", json={
        "merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 7, "batch": "C1"}]})
    note = r.json()
    body = {"lines": [{"line_id": note["lines"][0]["id"], "quantity": 7}]}
    rs = await asyncio.gather(*[world.warehouse.post(f"{WH}/inbound-notes/{note['id']}/receive", json=body)
                                for _ in range(8)])
    assert sorted(r.status_code for r in rs) == [200] + [409] * 7
    assert (await Sku.get(id=sku.id)).stock == 7
