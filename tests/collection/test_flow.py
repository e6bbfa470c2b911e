"""First-mile collection end to end (#26): collect at the village, three hops up, receive at the county
warehouse, sellable, picked for an order (sold), the household sees it, the trace page shows it."""
from __future__ import annotations

from server.fulfillment import floor
from server.fulfillment import service as fulfillment
from server.models.catalog import Sku
from server.models.collection import Collection, CollectionScan
from server.models.inventory import StockMove
from server.models.trace import Batch
from tests.collection.conftest import bring_up, collect, scan
from tests.fulfillment import factories as f


async def test_collect_travel_receive_sell(cworld, consumer):
    w = cworld
    c = await collect(w)
    assert c["status"] == "at_station" and c["new_batch"] is True and c["trace_code"]
    assert c["route"] == [w.net.village.id, w.net.town.id, w.net.county.id]
    assert c["value_fen"] == 20 * 1500 and c["grade_label"] == "一级"
    assert [p["leg"] for p in c["promises"]] == ["village_town"]
    batch = await Batch.get(id=c["batch_id"])
    assert batch.producer_kind == "household" and batch.origin_plot == "东山坡3号地" and batch.quantity == 20
    assert str(batch.produced_on) == "2026-10-01" and batch.origin_village == w.net.village.village

    # the way up, with the parcels' rules: a replay is one event, an impossible hop is refused
    r = await scan(w.village_staff, c["label"], "dispatched", w.net.village.id)
    assert r.status_code == 200 and r.json()["collection"]["status"] == "in_transit"
    again = await scan(w.village_staff, c["label"], "dispatched", w.net.village.id)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    wrong = await scan(w.other_staff, c["label"], "arrived", w.net.village2.id)
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "impossible_scan"
    foreign = await scan(w.other_staff, c["label"], "arrived", w.net.town.id)
    assert foreign.status_code == 404
    skip = await scan(w.warehouse, c["label"], "arrived")  # the county is not its next stop
    assert skip.status_code == 409
    early = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive",
                                   json={"received_qty": 20})
    assert early.status_code == 409 and early.json()["error"]["code"] == "collection_not_arrived"
    r = await scan(w.town_staff, c["label"], "arrived", w.net.town.id)
    assert r.status_code == 200, r.text
    got = r.json()["collection"]
    assert got["status"] == "at_station" and got["position"] == 1
    assert {p["leg"] for p in got["promises"]} == {"village_town", "town_county"}
    r = await scan(w.town_staff, c["label"], "dispatched", w.net.town.id)
    assert r.status_code == 200
    r = await scan(w.warehouse, c["label"], "arrived")
    assert r.status_code == 200 and r.json()["collection"]["status"] == "arrived"
    kinds = [e.kind for e in await CollectionScan.filter(collection_id=c["id"]).order_by("id")]
    assert kinds == ["collected", "dispatched", "arrived", "dispatched", "arrived"]

    # received against the collection: a difference needs its reason; nothing half-written
    listed = await w.warehouse.get("/api/v1/console/warehouse/collections?status=arrived")
    assert c["id"] in [x["id"] for x in listed.json()["items"]]
    r = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive", json={"received_qty": 19})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reason"
    r = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive", json={"received_qty": 21,
                                                                                              "reason": "多"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "received_qty"
    assert (await Sku.get(id=w.sku.id)).stock == 0
    r = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive",
                               json={"received_qty": 19, "reason": "一袋破损"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received" and r.json()["difference"] == -1
    twice = await w.warehouse.post(f"/api/v1/console/warehouse/collections/{c['id']}/receive",
                                   json={"received_qty": 19, "reason": "一袋破损"})
    assert twice.status_code == 409
    assert (await Sku.get(id=w.sku.id)).stock == 19
    moves = await StockMove.filter(sku_id=w.sku.id, reason="collection")
    assert [(m.d_stock, m.ref_type, m.ref_id) for m in moves] == [(19, "collection", c["id"])]

    # sellable: the pick list offers the collection's batch, and an order is picked from it (no
    # inbound note exists)
    assert c["batch_code"] in (await floor.received_batches([w.sku.id]))[w.sku.id]
    order = await f.paid_order(consumer.id, [(await Sku.get(id=w.sku.id), 3)], address=f.address(w.net))
    task_id = await fulfillment.handoff(order.id)
    pick = await w.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/pick",
                                  json={"sku_id": w.sku.id, "batch": c["batch_code"], "quantity": 3})
    assert pick.status_code == 200, pick.text

    # the household sees its collection, its hops and what sold
    mine = await w.household.get(f"/api/v1/merchant/merchants/{w.merchant.id}/collections/{c['id']}")
    assert mine.status_code == 200, mine.text
    view = mine.json()
    assert view["status"] == "received" and view["received_qty"] == 19
    assert view["sold"]["batch_sold_units"] == 3 and view["sold"]["batch_sold_fen"] == 3 * 1500
    assert view["sold"]["merchant_sold_units_30d"] == 3
    assert [s["kind"] for s in view["scans"]][-1] == "received"

    # a sold batch is never changed: a new collection cannot add to it
    r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections",
                                   json={"merchant_id": w.merchant.id, "sku_id": w.sku.id, "quantity": 5,
                                         "weight_g": 2500, "batch_id": c["batch_id"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "batch_locked"
    assert await Collection.filter(merchant_id=w.merchant.id).count() == 1

    # the public trace page shows the collection
    r = await consumer.get(f"/api/v1/trace/{c['trace_code']}")
    assert r.status_code == 200, r.text
    assert any("揽收" in s["description"] and w.net.village.name in s["description"] for s in r.json()["steps"])


async def test_adds_to_an_open_unsold_batch(cworld):
    w = cworld
    first = await collect(w)
    r = await w.village_staff.get(f"/api/v1/station/{w.net.village.id}/collections/open-batches"
                                  f"?merchant_id={w.merchant.id}&sku_id={w.sku.id}")
    assert r.status_code == 200 and [b["id"] for b in r.json()] == [first["batch_id"]]
    second = await collect(w, quantity=10, weight_g=5000, batch_id=first["batch_id"])
    assert second["batch_id"] == first["batch_id"] and second["new_batch"] is False
    assert (await Batch.get(id=first["batch_id"])).quantity == 30


async def test_cold_chain_and_figures(cworld):
    w = cworld
    c = await collect(w, cold_chain=True)
    assert c["cold_chain"] is True
    await bring_up(w, c["label"])
    r = await w.admin.get("/api/v1/console/stats/collections")
    assert r.status_code == 200, r.text
    st = r.json()
    village = next(v for v in st["by_village"] if v["key"] == str(w.net.village.id))
    assert village["units"] == 20 and village["weight_g"] == 10_000 and village["is_poor_village"] is True
    assert village["name"] == w.net.village.village
    town = next(t for t in st["by_town"] if t["key"] == w.net.town.town)
    assert town["value_fen"] == 30_000
    # a collection without its village's name is named by its station (joined into the grouped query)
    await Collection.filter(label=c["label"]).update(village="")
    st = (await w.admin.get("/api/v1/console/stats/collections")).json()
    assert next(v for v in st["by_village"] if v["key"] == str(w.net.village.id))["name"] == w.net.village.name
    await Collection.filter(label=c["label"]).update(village=w.net.village.village)
    assert st["poor_village_value_fen"] >= 30_000 and 0 < st["poor_village_value_share"] <= 1
    screen = await w.admin.get("/screen/data")   # the big screen carries the year's figures
    assert screen.status_code == 200 and {"collections", "by_town", "poor_village_value_share"} <= set(
        screen.json()["collection"])
    bad = await w.admin.get("/api/v1/console/stats/collections?since=2026-12-01&until=2026-11-01")
    assert bad.status_code == 422
    assert (await w.village_staff.get("/api/v1/console/stats/collections")).status_code in (401, 403)
