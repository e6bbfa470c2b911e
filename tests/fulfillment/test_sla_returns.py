"""Delivery promises and their breaches; returns travel the route backwards and restock."""
from datetime import datetime, timedelta, timezone

from jobs.fulfillment import sweep_breaches
from server.fulfillment import routing
from server.kit import clock
from server.models.catalog import Sku
from server.models.fulfillment import DeliveryPromise, ScanEvent
from server.models.orders import Order
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import ready_parcel, scan

WH = "/api/v1/console/warehouse"


def test_same_day_cutoff(app):
    # 15:59 Shanghai (07:59 UTC) is before the 16:00 cut-off: due at the end of the same local day
    before = datetime(2026, 11, 2, 7, 59, tzinfo=timezone.utc)
    assert routing.county_town_due(before) == datetime(2026, 11, 2, 15, 59, 59, tzinfo=timezone.utc)
    after = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    assert routing.county_town_due(after) == datetime(2026, 11, 3, 15, 59, 59, tzinfo=timezone.utc)
    # 01:00 Shanghai on the 3rd is 17:00 UTC on the 2nd: the local date counts
    night = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)
    assert routing.county_town_due(night) == datetime(2026, 11, 3, 15, 59, 59, tzinfo=timezone.utc)
    legs = routing.initial_promises([1, 2, 3], before)
    assert [(leg, due) for leg, due, _ in legs] == [
        ("county_town", datetime(2026, 11, 2, 15, 59, 59, tzinfo=timezone.utc)),
        ("county_village", before + timedelta(hours=48))]
    assert routing.initial_promises([1], before) == []


async def test_breaches_are_flagged_and_rates_reported(world, admin, consumer):
    m, (sku, _) = await f.merchant_with_skus()
    late_order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.village)
    ok_order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.village2)
    late = await ready_parcel(world, late_order.id, m.id)
    ok = await ready_parcel(world, ok_order.id, m.id)
    for p in (late, ok):
        assert (await world.warehouse.post(f"{WH}/parcels/{p['id']}/dispatch")).status_code == 200
    # the on-time parcel reaches its town at once
    assert (await scan(world.town_staff, ok["label"], "arrived", world.net.town.id)).status_code == 200
    ct = await DeliveryPromise.get(parcel_id=late["id"], leg="county_town")
    assert ct.due_at > clock.now()
    await sweep_breaches({})
    assert (await DeliveryPromise.get(id=ct.id)).breached_at is None
    shift = ct.due_at - clock.now() + timedelta(minutes=1)
    clock.shift(shift)
    try:
        # the breach sweep flags it; a second run changes nothing
        assert await sweep_breaches({}) >= 1
        flagged = (await DeliveryPromise.get(id=ct.id)).breached_at
        assert flagged is not None
        await sweep_breaches({})
        assert (await DeliveryPromise.get(id=ct.id)).breached_at == flagged
        # the met promise of the other parcel is never flagged
        assert await DeliveryPromise.get(parcel_id=ok["id"], leg="county_town", breached_at=None)
        # a late arrival records the time it came
        assert (await scan(world.town_staff, late["label"], "arrived", world.net.town.id)).status_code == 200
        pr = await DeliveryPromise.get(id=ct.id)
        assert pr.met_at > pr.due_at
        # town -> village starts at the town arrival: 24 h
        tv = await DeliveryPromise.get(parcel_id=late["id"], leg="town_village")
        assert abs((tv.due_at - pr.met_at) - timedelta(hours=24)) < timedelta(seconds=2)
        r = await admin.get(f"{WH}/sla")
        assert r.status_code == 200
        assert {row["key"] for row in r.json()["by_route"]} >= {"county_town", "town_village"}
        # The two county -> town deadlines (the same end of day), alone: packed after the 16:00
        # cut-off, that deadline is the next day's and the clock has also passed the 24 h town ->
        # village deadline of the on-time parcel, which an unbounded window would count as well.
        window = {"since": (ct.due_at - timedelta(seconds=1)).isoformat(),
                  "until": (ct.due_at + timedelta(seconds=1)).isoformat()}
        body = (await admin.get(f"{WH}/sla", params=window)).json()
        town = next(row for row in body["by_town"] if row["key"] == world.net.town.town)
        assert town["total"] == 2 and town["on_time"] == 1 and town["late"] == 1 and town["on_time_rate"] == 0.5
        assert {row["key"] for row in body["by_route"]} >= {"county_town"}
        r = await admin.get(f"{WH}/sla/breaches", params={"limit": 100})
        assert any(b["label"] == late["label"] and b["leg"] == "county_town" for b in r.json()["items"])
        # the 48 h county -> village promise of the parcel left at the town: the sweeper flags it
        clock.shift(timedelta(hours=48))
        assert await sweep_breaches({}) >= 1
        open_b = (await admin.get(f"{WH}/sla/breaches", params={"open_only": "true", "limit": 100})).json()["items"]
        assert any(b["label"] == late["label"] and b["leg"] == "county_village" for b in open_b)
        assert any(b["label"] == ok["label"] and b["leg"] == "town_village" for b in open_b)
    finally:
        clock.reset()
    assert (await consumer.get(f"{WH}/sla")).status_code == 403
    assert (await admin.get(f"{WH}/sla", params={"since": "yesterday"})).status_code == 422
    assert (await admin.get(f"{WH}/sla/breaches", params={"cursor": "%%%"})).status_code == 422


async def test_uncollected_parcel_travels_back_and_restocks(world):
    m, (sku, _) = await f.merchant_with_skus(stock=10)
    order = await f.paid_order(world.buyer.id, [(sku, 2)], station=world.net.village)
    parcel = await ready_parcel(world, order.id, m.id)
    label, net = parcel["label"], world.net
    await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    for actor, kind, st in [(world.town_staff, "arrived", net.town.id), (world.town_staff, "dispatched", net.town.id),
                            (world.village_staff, "arrived", net.village.id),
                            (world.village_staff, "handed_over", net.village.id)]:
        assert (await scan(actor, label, kind, st)).status_code == 200
    stock_before = (await Sku.get(id=sku.id)).stock
    # staff of another station cannot send it back; the town cannot either (it is not there)
    body = {"label": label, "station_id": net.village.id, "reason": "uncollected"}
    assert (await world.other_staff.post("/api/v1/logistics/returns", json=body)).status_code == 404
    r = await world.town_staff.post("/api/v1/logistics/returns", json={**body, "station_id": net.town.id})
    assert r.status_code == 409
    r = await world.village_staff.post("/api/v1/logistics/returns", json=body)
    assert r.status_code == 200 and r.json()["parcel"]["direction"] == "return"
    assert (await world.village_staff.post("/api/v1/logistics/returns", json=body)).json()["duplicate"] is True
    # impossible: received at the county before leaving the town
    assert (await scan(world.warehouse, label, "arrived")).status_code == 409
    assert (await scan(world.town_staff, label, "arrived", net.town.id)).status_code == 409  # not dispatched yet
    assert (await scan(world.village_staff, label, "dispatched", net.village.id)).status_code == 200
    assert (await scan(world.town_staff, label, "arrived", net.town.id)).status_code == 200
    assert (await scan(world.warehouse, label, "arrived")).status_code == 409
    assert (await scan(world.town_staff, label, "dispatched", net.town.id)).status_code == 200
    assert (await Sku.get(id=sku.id)).stock == stock_before  # not back until the warehouse has it
    r = await scan(world.warehouse, label, "arrived")
    assert r.status_code == 200 and r.json()["parcel"]["status"] == "returned"
    assert (await Sku.get(id=sku.id)).stock == stock_before + 2
    # the same receipt again is one event: stock comes back once
    assert (await scan(world.warehouse, label, "arrived")).json()["duplicate"] is True
    assert (await Sku.get(id=sku.id)).stock == stock_before + 2
    kinds = await ScanEvent.filter(parcel_id=parcel["id"]).order_by("id").values_list("kind", "direction")
    assert kinds[-5:] == [("return_started", "return"), ("dispatched", "return"), ("arrived", "return"),
                          ("dispatched", "return"), ("arrived", "return")]
    tl = (await world.warehouse.get(f"{WH}/parcels/by-label/{label}/timeline")).json()
    assert len(tl["events"]) == len(kinds) and tl["parcel"]["status"] == "returned"


async def test_stations_uncollected_return_is_picked_up_by_the_sweeper(world):
    """When the stations capability closes a pickup as uncollected, its parcel starts back."""
    from jobs.fulfillment import sweep_pickups
    from server.models.pickup import Pickup, PickupReturn

    m, (sku, _) = await f.merchant_with_skus(stock=10)
    order = await f.paid_order(world.buyer.id, [(sku, 1)], station=world.net.town)
    parcel = await ready_parcel(world, order.id, m.id)
    await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    await scan(world.town_staff, parcel["label"], "arrived", world.net.town.id)
    assert (await scan(world.town_staff, parcel["label"], "handed_over", world.net.town.id)).status_code == 200
    assert (await Order.get(id=order.id)).status == "ready_for_pickup"
    pickup = await Pickup.get(order_id=order.id)
    await PickupReturn.create(pickup=pickup, order_id=order.id, station_id=world.net.town.id)
    assert await sweep_pickups({}) >= 1
    ev = await ScanEvent.filter(parcel_id=parcel["id"]).order_by("-id").first()
    assert ev.kind == "return_started" and ev.data["reason"] == "uncollected"


async def test_refused_delivery_goes_back_and_a_packed_parcel_is_unreserved(world):
    m, (sku, other) = await f.merchant_with_skus(stock=10)
    order = await f.paid_order(world.buyer.id, [(sku, 1)], address=f.address(world.net, village=False))
    parcel = await ready_parcel(world, order.id, m.id)
    label, town = parcel["label"], world.net.town.id
    await world.warehouse.post(f"{WH}/parcels/{parcel['id']}/dispatch")
    await scan(world.town_staff, label, "arrived", town)
    assert (await scan(world.town_staff, label, "out_for_delivery", town)).status_code == 200
    stock = (await Sku.get(id=sku.id)).stock
    r = await world.town_staff.post("/api/v1/logistics/returns",
                                    json={"label": label, "station_id": town, "reason": "refused"})
    assert r.status_code == 200 and r.json()["parcel"]["status"] == "at_station"
    assert (await scan(world.town_staff, label, "dispatched", town)).status_code == 200
    assert (await scan(world.warehouse, label, "arrived")).json()["parcel"]["status"] == "returned"
    assert (await Sku.get(id=sku.id)).stock == stock + 1
    # a parcel that never left (the order was stopped in the warehouse): its reservation is released
    order2 = await f.paid_order(world.buyer.id, [(other, 2)], station=world.net.village)
    p2 = await ready_parcel(world, order2.id, m.id)
    before = await Sku.get(id=other.id)
    assert before.reserved == 2
    r = await world.warehouse.post("/api/v1/logistics/returns", json={"label": p2["label"], "reason": "other"})
    assert r.status_code == 200 and r.json()["parcel"]["status"] == "returned"
    after = await Sku.get(id=other.id)
    assert (after.stock, after.reserved) == (before.stock + 2, 0)
    # and it cannot be dispatched any more
    assert (await world.warehouse.post(f"{WH}/parcels/{p2['id']}/dispatch")).status_code == 409


async def test_a_closed_order_stops_its_task_and_releases_the_warehouse_units(world):
    from jobs.fulfillment import sweep_closed
    from server.models.fulfillment import FulfillmentTask, Parcel

    m, (sku, _) = await f.merchant_with_skus(stock=10)
    order = await f.paid_order(world.buyer.id, [(sku, 3)], station=world.net.village)
    from server.fulfillment import service

    task_id = await service.handoff(order.id)
    line = (await world.warehouse.get(f"{WH}/tasks/{task_id}")).json()["lines"][0]
    from tests.fulfillment.conftest import receive_batch

    batch = await receive_batch(world.warehouse, m.id, sku.id, 5)
    await world.warehouse.post(f"{WH}/tasks/{task_id}/pick", json={"sku_id": sku.id, "batch": batch, "quantity": 3})
    sent = (await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels", json={
        "lines": [{"task_line_id": line["id"], "quantity": 1}], "weight_g": 100})).json()
    kept = (await world.warehouse.post(f"{WH}/tasks/{task_id}/parcels", json={
        "lines": [{"task_line_id": line["id"], "quantity": 1}], "weight_g": 100})).json()
    await world.warehouse.post(f"{WH}/parcels/{sent['id']}/dispatch")
    before = await Sku.get(id=sku.id)
    assert before.reserved == 2  # one unit left with the dispatched parcel
    await sweep_closed({})
    assert (await FulfillmentTask.get(id=task_id)).status == "picking"  # the order is still live
    await Order.filter(id=order.id).update(status="closed")  # fully refunded by the orders capability
    assert await sweep_closed({}) >= 1
    after = await Sku.get(id=sku.id)
    assert (after.stock, after.reserved) == (before.stock + 2, 0)
    assert (await FulfillmentTask.get(id=task_id)).status == "cancelled"
    assert (await Parcel.get(id=kept["id"])).status == "returned"
    assert (await Parcel.get(id=sent["id"])).status == "in_transit"  # on the road: it comes back as a return
    await sweep_closed({})  # a second sweep changes nothing
    again = await Sku.get(id=sku.id)
    assert (again.stock, again.reserved) == (after.stock, 0)
    assert (await world.warehouse.post(f"{WH}/tasks/{task_id}/pick",
                                       json={"sku_id": sku.id, "batch": batch, "quantity": 1})).status_code == 409
