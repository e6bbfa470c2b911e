from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from server.models.catalog import Category, Product, Sku
from server.models.merchants import Merchant
from tests.conftest import Actor, login_as
from tests.fulfillment import factories as f


@dataclass
class CWorld:
    net: f.Network
    merchant: Merchant
    sku: Sku
    warehouse: Actor
    town_staff: Actor
    village_staff: Actor
    other_staff: Actor     # staff of the second village station
    household: Actor       # a member of the household merchant
    admin: Actor


async def household_merchant(station_id: int, *, weight_g: int = 500, cold: bool = False) -> tuple[Merchant, Sku]:
    tag = secrets.token_hex(3)
    m = await Merchant.create(name=f"农户{tag}", kind="household", status="active", operated_by_station_id=station_id,
                              contact_name="王大爷", contact_phone="13900001234")
    cat, _ = await Category.get_or_create(slug="ff-test", defaults={"name": "测试"})
    p = await Product.create(merchant=m, category=cat, name=f"小米{tag}", status="on_sale")
    sku = await Sku.create(product=p, spec="500g", price=1500, list_price=1800, stock=0, weight_g=weight_g,
                           cold_chain=cold)
    return m, sku


@pytest.fixture
async def cworld(client) -> CWorld:
    net = await f.network()
    await type(net.village).filter(id=net.village.id).update(is_poor_village=True)
    m, sku = await household_merchant(net.village.id)
    return CWorld(
        net=net, merchant=m, sku=sku,
        warehouse=await login_as(client, "warehouse"),
        town_staff=await login_as(client, "station_staff", station_id=net.town.id),
        village_staff=await login_as(client, "station_staff", station_id=net.village.id),
        other_staff=await login_as(client, "station_staff", station_id=net.village2.id),
        household=await login_as(client, "merchant", merchant_id=m.id),
        admin=await login_as(client, "admin"),
    )


def body(w: CWorld, **kw) -> dict:
    out = {"merchant_id": w.merchant.id, "sku_id": w.sku.id, "quantity": 20, "weight_g": 10_000,
           "grade": "first", "plot": "东山坡3号地", "harvested_on": "2026-10-01", "photos": ["collect/a.jpg"]}
    out.update(kw)
    return out


async def collect(w: CWorld, **kw) -> dict:
    r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections", json=body(w, **kw))
    assert r.status_code == 201, r.text
    return r.json()


async def scan(actor: Actor, label: str, kind: str, station_id: int | None = None):
    b = {"label": label, "kind": kind}
    if station_id is not None:
        b["station_id"] = station_id
    return await actor.post("/api/v1/collections/scans", json=b)


async def bring_up(w: CWorld, label: str) -> None:
    """village → town → county: the four scans of the way up."""
    for actor, kind, sid in ((w.village_staff, "dispatched", w.net.village.id), (w.town_staff, "arrived", w.net.town.id),
                             (w.town_staff, "dispatched", w.net.town.id), (w.warehouse, "arrived", None)):
        r = await scan(actor, label, kind, sid)
        assert r.status_code == 200, r.text
        assert r.json()["duplicate"] is False
