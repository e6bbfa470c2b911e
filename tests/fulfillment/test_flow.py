"""Handoff, inbound, pick/pack/dispatch and the three-level route to a pickup station."""
import asyncio

from server.fulfillment import service
from server.models.audit import AuditLog
from server.models.catalog import Product, Sku
from server.models.fulfillment import FulfillmentTask, ScanEvent
from server.models.orders import Order
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import ready_parcel, receive_batch, scan

WH = "/api/v1/console/warehouse"


async def test_handoff_creates_one_task_and_flags_cold_chain(world):
    m, (ambient, cold) = await f.merchant_with_skus(2, cold=(False, True))
    order = await f.paid_order(world.buyer.id, [(ambient, 2), (cold, 1)], station=world.net.village)
    ids = await asyncio.gather(*[service.handoff(order.id) for _ in range(5)])
    assert len(set(ids)) == 1 and ids[0]
    assert await FulfillmentTask.filter(order_id=order.id).count() == 1
    task = (await world.warehouse.get(f"{WH}/tasks/{ids[0]}")).json()
    assert task["cold_chain"] is True and task["mode"] == "local"
    assert task["route"] == [world.net.county.id, world.net.town.id, world.net.village.id]
    assert sorted(ln["cold_chain"] for ln in task["lines"]) == [False, True]
    assert (await Order.get(id=order.id)).status == "in_fulfilment"
    waves = (await world.warehouse.get(f"{WH}/waves")).json()
    mine = [w for w in waves if ids[0] in w["task_ids"]]
    assert len(mine) == 1 and mine[0]["cold_chain"] and mine[0]["town_station_id"] == world.net.town.id
    assert mine[0]["wave"].endswith(f"{world.net.town.code}/COLD")


async def test_handoff_job_and_sweeper(world, settings):
    from jobs.fulfillment import sweep_handoffs
    from server.kit import clock, jobs

    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.town)
    jobs.enqueue("fulfillment.handoff", order.id)  # what the payments capability does after commit
    for _ in range(100):
        if await FulfillmentTask.exists(order_id=order.id):
            break
        await asyncio.sleep(0.05)
    assert await FulfillmentTask.exists(order_id=order.id)
    # a paid order whose job was lost is found by the sweeper once the grace period passed
    lost = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.town)
    assert lost.id not in await service.paid_orders_without_task()
    clock.shift(__import__("datetime").timedelta(seconds=settings.fulfillment_handoff_grace_seconds + 1))
    try:
        assert lost.id in await service.paid_orders_without_task()
        assert await sweep_handoffs({}) >= 1
    finally:
        clock.shift(-__import__("datetime").timedelta(seconds=settings.fulfillment_handoff_grace_seconds + 1))
    for _ in range(100):
        if await FulfillmentTask.exists(order_id=lost.id):
            break
        await asyncio.sleep(0.05)
    assert (await Order.get(id=lost.id)).status == "in_fulfilment"
    # an unpaid order is never handed off
    unpaid = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.town, status="pending_payment")
    assert await service.handoff(unpaid.id) is None


async def test_inbound_receipt_makes_stock_sellable_once(world, admin):
    m, (sku, other) = await f.merchant_with_skus(stock=0)
    r = await world.warehouse.post(f"{WH}/inbound-notes", json={
        "merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 30, "batch": "2026-11-A"},
                                       {"sku_id": other.id, "quantity": 5, "batch": "2026-11-B"}]})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["status"] == "open" and note["created_by_id"] == world.warehouse.id
    body = {"lines": [{"line_id": note["lines"][0]["id"], "quantity": 28},
                      {"line_id": note["lines"][1]["id"], "quantity": 5}]}
    r = await world.warehouse.post(f"{WH}/inbound-notes/{note['id']}/receive", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "received" and got["received_by_id"] == world.warehouse.id and got["received_at"]
    assert [ln["received_qty"] for ln in got["lines"]] == [28, 5]
    again = await world.warehouse.post(f"{WH}/inbound-notes/{note['id']}/receive", json=body)
    assert again.status_code == 409
    assert (await Sku.get(id=sku.id)).stock == 28
    r = await world.warehouse.get(f"{WH}/stock", params={"sku_id": [sku.id, other.id]})
    assert {s["sku_id"]: (s["on_hand"], s["reserved"], s["sellable"]) for s in r.json()} == {
        sku.id: (28, 0, 28), other.id: (5, 0, 5)}
    await f.paid_order(world.buyer.id, [(sku, 3)], station=world.net.town)
    r = await admin.get(f"{WH}/stock", params={"sku_id": sku.id})
    product_name = (await Product.get(id=sku.product_id)).name
    assert r.json()[0] == {"sku_id": sku.id, "product_id": sku.product_id, "product_name": product_name,
                           "spec": sku.spec, "on_hand": 28, "reserved": 3, "sellable": 25}


async def test_inbound_bad_input_names_the_field(world, consumer):
    m, (sku, _) = await f.merchant_with_skus()
    _, (foreign, _) = await f.merchant_with_skus()
    url = f"{WH}/inbound-notes"
    cases = [
        ({"merchant_id": m.id, "lines": [{"sku_id": foreign.id, "quantity": 1, "batch": "X"}]}, "lines[0].sku_id"),
        ({"merchant_id": m.id, "lines": []}, "lines"),
        ({"merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 0, "batch": "X"}]}, "lines.0.quantity"),
        ({"merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 1, "batch": "a\u0000b"}]}, None),
        ({"merchant_id": 2**70, "lines": [{"sku_id": sku.id, "quantity": 1, "batch": "X"}]}, "merchant_id"),
        ({"merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": "many", "batch": "X"}]},
         "lines.0.quantity"),
        ({"merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 1, "batch": ""}]}, "lines.0.batch"),
        ({"merchant_id": m.id, "lines": [{"sku_id": sku.id, "quantity": 1, "batch": "X"}], "status": "received"},
         "status"),
    ]
    for body, field in cases:
        r = await world.warehouse.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["error"]["details"][0]["field"] == field, r.text
    assert (await consumer.post(url, json=cases[0][0])).status_code == 403
    assert (await world.town_staff.post(url, json=cases[0][0])).status_code == 403


async def test_pick_pack_guards(world):
    m, (a, c) = await f.merchant_with_skus(2, cold=(False, True))
    order = await f.paid_order(world.buyer.id, [(a, 3), (c, 1)], station=world.net.village)
    task_id = await service.handoff(order.id)
    task = (await world.warehouse.get(f"{WH}/tasks/{task_id}")).json()
    la, lc = sorted(task["lines"], key=lambda x: x["cold_chain"])
    batch = await receive_batch(world.warehouse, m.id, a.id, 10)
    pick = f"{WH}/tasks/{task_id}/pick"
    # a batch never received for this SKU is refused
    r = await world.warehouse.post(pick, json={"sku_id": a.id, "batch": "NOPE", "quantity": 1})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "batch"
    r = await world.warehouse.post(pick, json={"sku_id": a.id, "batch": batch, "quantity": 4})
    assert r.status_code == 409 and r.json()["error"]["code"] == "over_pick"
    r = await world.warehouse.post(pick, json={"sku_id": a.id, "batch": batch, "quantity": 2})
    assert r.status_code == 200 and r.json()["status"] == "picking"
    parcels = f"{WH}/tasks/{task_id}/parcels"
    # no packing of unpicked units
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": la["id"], "quantity": 3}], "weight_g": 900})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_picked"
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": lc["id"], "quantity": 1}], "weight_g": 900})
    assert r.status_code == 409
    cbatch = await receive_batch(world.warehouse, m.id, c.id, 5)
    assert (await world.warehouse.post(pick, json={"sku_id": c.id, "batch": cbatch, "quantity": 1})).status_code == 200
    # cold chain and ambient goods are never packed together
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": la["id"], "quantity": 1},
                                                            {"task_line_id": lc["id"], "quantity": 1}], "weight_g": 900})
    assert r.status_code == 409 and r.json()["error"]["code"] == "mixed_cold_chain"
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": lc["id"], "quantity": 1}], "weight_g": 700})
    assert r.status_code == 201 and r.json()["cold_chain"] is True
    cold_parcel = r.json()
    assert cold_parcel["qr_payload"] == f"KZP:{cold_parcel['label']}"
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": 999999999, "quantity": 1}], "weight_g": 1})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "lines[0].task_line_id"
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": la["id"], "quantity": 2}], "weight_g": 0})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "weight_g"
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": la["id"], "quantity": 2}], "weight_g": 1800})
    assert r.status_code == 201
    # dispatch of a task that is not fully packed is fine per parcel; the task is not shipped yet
    assert (await world.warehouse.post(f"{WH}/parcels/{r.json()['id']}/dispatch")).status_code == 200
    assert (await FulfillmentTask.get(id=task_id)).status == "picking"
    assert (await world.warehouse.post(pick, json={"sku_id": a.id, "batch": batch, "quantity": 1})).status_code == 200
    r = await world.warehouse.post(parcels, json={"lines": [{"task_line_id": la["id"], "quantity": 1}], "weight_g": 500})
    assert r.status_code == 201
    assert (await FulfillmentTask.get(id=task_id)).status == "packed"
    r = await world.warehouse.get(f"{WH}/parcels/{r.json()['id']}/label.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert (await world.warehouse.get(f"{WH}/tasks/99999999")).status_code == 404


async def test_three_level_pickup_route(world, client):
    m, (sku, _) = await f.merchant_with_skus()
    order = await f.paid_order(world.buyer.id, [(sku, 2)], station=world.net.village)
    parcel = await ready_parcel(world, order.id, m.id)
    label, net = parcel["label"], world.net
    before = await Sku.get(id=sku.id)
    assert before.reserved == 2

    # impossible: arriving anywhere before leaving the county
    r = await scan(world.town_staff, label, "arrived", net.town.id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "impossible_scan"
    # station staff cannot scan at someone else's station: 404, audited
    r = await scan(world.other_staff, label, "arrived", net.town.id)
    assert r.status_code == 404
    # unknown parcel: 404, audited
    r = await scan(world.warehouse, "KZNOSUCHLABEL", "dispatched")
    assert r.status_code == 404
    assert await AuditLog.filter(action="parcel.scan_refused", object_id="KZNOSUCHLABEL").exists()
    assert await AuditLog.filter(action="parcel.scan_refused", object_id=label, actor_id=world.other_staff.id).exists()

    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    assert r.status_code == 200 and r.json()["duplicate"] is False
    # the answer shows what was written: the time it left, as the GET right after shows it
    assert r.json()["parcel"]["dispatched_at"] is not None
    got = (await world.warehouse.get(f"{WH}/parcels/{parcel['id']}")).json()
    assert got["dispatched_at"] == r.json()["parcel"]["dispatched_at"]
    assert {k: got[k] for k in ("status", "moving", "position")} == \
        {k: r.json()["parcel"][k] for k in ("status", "moving", "position")}
    after = await Sku.get(id=sku.id)
    assert (after.stock, after.reserved) == (before.stock, 0)  # the reservation left with the goods
    # the same scan again is one event; dispatching it again from the console is a clear 409
    r = await scan(world.warehouse, label, "dispatched")
    assert r.status_code == 200 and r.json()["duplicate"] is True
    r = await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_dispatched"
    refused = await AuditLog.filter(action="parcel.scan_refused", object_id=label,
                                    actor_id=world.warehouse.id).values_list("data", flat=True)
    assert any(d["code"] == "already_dispatched" for d in refused)
    assert (await Sku.get(id=sku.id)).reserved == 0

    # impossible: arrived at the village before leaving the town
    r = await scan(world.village_staff, label, "arrived", net.village.id)
    assert r.status_code == 409
    assert (await scan(world.town_staff, label, "arrived", net.town.id)).status_code == 200
    r = await scan(world.village_staff, label, "arrived", net.village.id)
    assert r.status_code == 409  # still at the town
    assert (await scan(world.town_staff, label, "dispatched", net.town.id)).status_code == 200
    r = await scan(world.village_staff, label, "handed_over", net.village.id)
    assert r.status_code == 409  # not arrived yet
    assert (await scan(world.village_staff, label, "arrived", net.village.id)).status_code == 200
    assert (await Order.get(id=order.id)).status == "in_fulfilment"
    r = await scan(world.village_staff, label, "out_for_delivery", net.village.id)
    assert r.status_code == 409  # a pickup order is not delivered to the door
    r = await scan(world.village_staff, label, "handed_over", net.village.id)
    assert r.status_code == 200 and r.json()["parcel"]["status"] == "ready_for_pickup"
    assert (await Order.get(id=order.id)).status == "ready_for_pickup"
    from server.models.pickup import Pickup

    assert await Pickup.filter(order_id=order.id, station_id=net.village.id).exists()

    events = await ScanEvent.filter(parcel_id=parcel["id"]).order_by("id").values_list("kind", "station_id")
    assert events == [("packed", net.county.id), ("dispatched", net.county.id), ("arrived", net.town.id),
                      ("dispatched", net.town.id), ("arrived", net.village.id), ("handed_over", net.village.id)]
    # the truthful record, for staff on the route and the office; not for others
    r = await world.village_staff.get(f"/api/v1/logistics/parcels/{label}/timeline")
    assert r.status_code == 200
    tl = r.json()
    assert [e["kind"] for e in tl["events"]] == [k for k, _ in events]
    assert all(e["actor_id"] for e in tl["events"]) and tl["events"][2]["station_name"] == net.town.name
    assert {p["leg"] for p in tl["promises"]} == {"county_town", "town_village", "county_village"}
    assert all(p["met_at"] for p in tl["promises"])
    assert (await world.other_staff.get(f"/api/v1/logistics/parcels/{label}/timeline")).status_code == 404
    # the buyer's tracking: own order only
    r = await world.buyer.get(f"/api/v1/orders/{order.id}/tracking")
    assert r.status_code == 200
    tr = r.json()
    assert tr["order_status"] == "ready_for_pickup" and len(tr["parcels"][0]["events"]) == 6
    assert tr["parcels"][0]["pod_code"] is None
    from tests.conftest import login

    stranger = await login(client)
    assert (await stranger.get(f"/api/v1/orders/{order.id}/tracking")).status_code == 404
    assert (await client.get(f"/api/v1/orders/{order.id}/tracking")).status_code == 401
    # nothing after the end of the route
    r = await scan(world.village_staff, label, "dispatched", net.village.id)
    assert r.status_code == 409


async def test_scan_bad_input(world):
    for body, field in [({"label": "kz-lower", "kind": "arrived"}, "label"),
                        ({"label": "KZ1", "kind": "teleported"}, "kind"),
                        ({"label": "KZ1", "kind": "arrived", "station_id": 2**64}, "station_id"),
                        ({"label": "KZ1", "kind": "arrived", "station_id": "x"}, "station_id"),
                        ({"label": "", "kind": "arrived"}, "label"),
                        ({"label": "KZ1\u0000", "kind": "arrived"}, None),
                        ({"kind": "arrived"}, "label")]:
        r = await world.town_staff.post("/api/v1/logistics/scans", json=body)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["error"]["details"][0]["field"] == field
    # station staff must say where they are
    r = await world.town_staff.post("/api/v1/logistics/scans", json={"label": "KZ1", "kind": "arrived"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_id"
    # warehouse operators scan only at the county warehouse
    r = await scan(world.warehouse, "KZ1", "arrived", world.net.town.id)
    assert r.status_code == 404


async def test_query_and_path_bad_input(world):
    r = await world.warehouse.get(f"{WH}/stock", params={"merchant_id": str(2**70)})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "merchant_id"
    r = await world.warehouse.get(f"{WH}/stock", params={"sku_id": ["1", "x"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].startswith("sku_id")
    for bad in ("kz%00x", "%E4%B8%AD", "A" * 300):
        r = await world.warehouse.get(f"/api/v1/logistics/parcels/{bad}/timeline")
        assert r.status_code == 404, (bad, r.text)
    r = await world.warehouse.get(f"{WH}/tasks", params={"cursor": "!!"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "cursor"
    r = await world.warehouse.get(f"{WH}/tasks", params={"status": "lost"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "status"
    assert (await world.warehouse.get(f"{WH}/tasks/{2**70}")).status_code == 404
    assert (await world.warehouse.post(f"{WH}/parcels/{2**64}/dispatch")).status_code == 404


async def test_task_list_pages(world):
    m, (sku, _) = await f.merchant_with_skus()
    ids = []
    for _ in range(3):
        order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.village2)
        ids.append(await service.handoff(order.id))
    seen, cursor = [], None
    for _ in range(10):
        params = {"town_station_id": world.net.town.id, "limit": 2, "status": "pending"}
        if cursor:
            params["cursor"] = cursor
        page = (await world.warehouse.get(f"{WH}/tasks", params=params)).json()
        seen += [t["id"] for t in page["items"]]
        assert all(t["lines"] and t["destination_station_id"] == world.net.village2.id for t in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and set(ids) <= set(seen)
    assert (await world.town_staff.get(f"{WH}/tasks")).status_code == 403
