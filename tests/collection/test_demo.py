"""The demo data has first-mile collections (#26 gap): households that village stations sell for, with
collections at the station, on the way, arrived and received; seeding again adds none."""
from __future__ import annotations

from server import demo
from server.collection import service as collection
from server.collection.demo import HOUSEHOLDS
from server.models.collection import Collection
from server.models.merchants import Merchant


async def test_demo_seeds_collections_once(client):
    await demo.seed()
    names = [h[0] for h in HOUSEHOLDS]
    merchants = await Merchant.filter(name__in=names)
    assert len(merchants) == len(HOUSEHOLDS) and all(m.operated_by_station_id for m in merchants)
    rows = await Collection.filter(merchant_id__in=[m.id for m in merchants])
    assert len(rows) == sum(len(h[-1]) for h in HOUSEHOLDS)
    assert {"received", "arrived", "at_station"} <= {c.status for c in rows}
    received = [c for c in rows if c.status == "received"]
    assert received and all(c.received_qty == c.quantity for c in received)
    figures = await collection.stats()
    assert figures.collections >= len(rows) and figures.poor_village_value_fen > 0
    await demo.seed()
    assert await Collection.filter(merchant_id__in=[m.id for m in merchants]).count() == len(rows)
