from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tests.conftest import Actor, login, login_as
from tests.fulfillment import factories as f


@dataclass
class World:
    net: f.Network
    warehouse: Actor
    town_staff: Actor
    village_staff: Actor
    other_staff: Actor   # staff of the second village: not on the route
    buyer: Actor


async def make_world(client) -> World:
    """A county-town-village network, warehouse and station staff, a buyer (the after-sales and
    notification tests use it too: a completed order needs a parcel packed at the warehouse)."""
    net = await f.network()
    return World(
        net=net,
        warehouse=await login_as(client, "warehouse"),
        town_staff=await login_as(client, "station_staff", station_id=net.town.id),
        village_staff=await login_as(client, "station_staff", station_id=net.village.id),
        other_staff=await login_as(client, "station_staff", station_id=net.village2.id),
        buyer=await login(client, "o-buyer-" + secrets.token_hex(4)),
    )


@pytest.fixture
async def world(client) -> World:
    return await make_world(client)


async def receive_batch(wh: Actor, merchant_id: int, sku_id: int, qty: int = 50, batch: str | None = None) -> str:
    """Put a batch of a SKU into the warehouse through the inbound API; returns the batch number."""
    batch = batch or "B" + secrets.token_hex(4).upper()
    r = await wh.post("/api/v1/console/warehouse/inbound-notes",
                      json={"merchant_id": merchant_id, "lines": [{"sku_id": sku_id, "quantity": qty, "batch": batch}]})
    assert r.status_code == 201, r.text
    note = r.json()
    r = await wh.post(f"/api/v1/console/warehouse/inbound-notes/{note['id']}/receive",
                      json={"lines": [{"line_id": note["lines"][0]["id"], "quantity": qty}]})
    assert r.status_code == 200, r.text
    return batch


async def ready_parcel(w: World, order_id: int, merchant_id: int) -> dict:
    """Hand off, pick everything and pack it into one parcel; returns the parcel JSON."""
    from server.fulfillment import service

    task_id = await service.handoff(order_id)
    task = (await w.warehouse.get(f"/api/v1/console/warehouse/tasks/{task_id}")).json()
    lines = []
    for ln in task["lines"]:
        batch = await receive_batch(w.warehouse, merchant_id, ln["sku_id"], ln["quantity"])
        r = await w.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/pick",
                                   json={"sku_id": ln["sku_id"], "batch": batch, "quantity": ln["quantity"]})
        assert r.status_code == 200, r.text
        lines.append({"task_line_id": ln["id"], "quantity": ln["quantity"]})
    r = await w.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/parcels",
                               json={"lines": lines, "weight_g": 1500})
    assert r.status_code == 201, r.text
    return r.json()


async def scan(actor: Actor, label: str, kind: str, station_id: int | None = None):
    body = {"label": label, "kind": kind}
    if station_id is not None:
        body["station_id"] = station_id
    return await actor.post("/api/v1/logistics/scans", json=body)
