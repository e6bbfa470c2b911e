"""Two hands at once: the same receipt twice at the same moment is one receipt (stock once), the same
hop scanned twice at once is one event; a collection at a town centre goes straight to the county."""
from __future__ import annotations

import asyncio

from server.collection import service
from server.collection.schemas import ReceiveCollectionIn
from server.kit.errors import Conflict
from server.models.catalog import Sku
from server.models.collection import CollectionScan
from server.models.inventory import StockMove
from tests.collection.conftest import collect, household_merchant, scan


async def test_concurrent_receipts_and_scans_count_once(cworld):
    w = cworld
    c = await collect(w)
    both = await asyncio.gather(scan(w.village_staff, c["label"], "dispatched", w.net.village.id),
                                scan(w.village_staff, c["label"], "dispatched", w.net.village.id))
    assert sorted(r.json()["duplicate"] for r in both) == [False, True]
    assert await CollectionScan.filter(collection_id=c["id"], kind="dispatched").count() == 1
    for actor, kind, sid in ((w.town_staff, "arrived", w.net.town.id), (w.town_staff, "dispatched", w.net.town.id),
                             (w.warehouse, "arrived", None)):
        assert (await scan(actor, c["label"], kind, sid)).status_code == 200
    got = await asyncio.gather(*(service.receive(c["id"], ReceiveCollectionIn(received_qty=20), actor_id=w.warehouse.id)
                                 for _ in range(3)), return_exceptions=True)
    assert sum(1 for g in got if not isinstance(g, Exception)) == 1
    assert all(isinstance(g, Conflict) for g in got if isinstance(g, Exception))
    assert (await Sku.get(id=w.sku.id)).stock == 20
    assert await StockMove.filter(sku_id=w.sku.id, reason="collection").count() == 1


async def test_a_town_centre_collects_straight_to_the_county(cworld):
    w = cworld
    m, sku = await household_merchant(w.net.town.id)
    r = await w.town_staff.post(f"/api/v1/station/{w.net.town.id}/collections",
                                json={"merchant_id": m.id, "sku_id": sku.id, "quantity": 4, "weight_g": 2000})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["route"] == [w.net.town.id, w.net.county.id] and c["village"] == ""
    assert [p["leg"] for p in c["promises"]] == ["town_county"]
    assert (await scan(w.town_staff, c["label"], "dispatched", w.net.town.id)).status_code == 200
    r = await scan(w.warehouse, c["label"], "arrived")
    assert r.status_code == 200 and r.json()["collection"]["status"] == "arrived"
