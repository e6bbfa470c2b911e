"""#26 audit: what the first tests left unexercised — a collection cannot add to another producer's
(or another product's, or an unknown) batch; the promises of the way up turn breached when a leg is
late; the public trace page (HTML) shows the collection's step."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock
from server.models.collection import Collection
from server.models.trace import Batch, BatchStep
from tests.collection.conftest import body, collect, household_merchant, scan


async def test_only_an_open_batch_of_the_same_producer_and_product(cworld):
    w = cworld
    first = await collect(w)
    other_m, other_sku = await household_merchant(w.net.village.id)   # a second household of the station
    r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections",
                                   json=body(w, merchant_id=other_m.id, sku_id=other_sku.id))
    assert r.status_code == 201, r.text
    foreign_batch = r.json()["batch_id"]
    before = (await Collection.all().count(), await Batch.filter(merchant_id=w.merchant.id).count(),
              await BatchStep.filter(batch_id=first["batch_id"]).count(),
              (await Batch.get(id=first["batch_id"])).quantity)
    for batch_id in (foreign_batch, 2**62):   # another producer's batch; no such batch
        r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections",
                                       json=body(w, batch_id=batch_id))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "batch_id"
    # the household's own batch, but through another station's staff: not theirs to collect
    r = await w.other_staff.post(f"/api/v1/station/{w.net.village2.id}/collections",
                                 json=body(w, batch_id=first["batch_id"]))
    assert r.status_code == 404
    after = (await Collection.all().count(), await Batch.filter(merchant_id=w.merchant.id).count(),
             await BatchStep.filter(batch_id=first["batch_id"]).count(),
             (await Batch.get(id=first["batch_id"])).quantity)
    assert after == before   # nothing half-written


async def test_a_late_leg_shows_its_promise_breached(cworld):
    w = cworld
    c = await collect(w)
    assert [(p["leg"], p["breached"]) for p in c["promises"]] == [("village_town", False)]
    # the town was due an hour ago and the goods are still at the village
    await Collection.filter(id=c["id"]).update(town_due_at=clock.now() - timedelta(hours=1))
    r = await w.village_staff.get(f"/api/v1/station/{w.net.village.id}/collections/{c['id']}")
    assert [(p["leg"], p["breached"]) for p in r.json()["promises"]] == [("village_town", True)]
    # it reaches the town late: the leg stays breached (met after due); the next leg is on time so far
    assert (await scan(w.village_staff, c["label"], "dispatched", w.net.village.id)).status_code == 200
    r = await scan(w.town_staff, c["label"], "arrived", w.net.town.id)
    assert r.status_code == 200, r.text
    legs = {p["leg"]: p for p in r.json()["collection"]["promises"]}
    assert legs["village_town"]["breached"] is True and legs["village_town"]["met_at"]
    assert legs["town_county"]["breached"] is False and legs["town_county"]["met_at"] is None
    # the household sees the same promises
    mine = await w.household.get(f"/api/v1/merchant/merchants/{w.merchant.id}/collections/{c['id']}")
    assert {p["leg"]: p["breached"] for p in mine.json()["promises"]} == {"village_town": True,
                                                                          "town_county": False}


async def test_the_public_trace_page_shows_the_collection(cworld, client):
    w = cworld
    c = await collect(w)
    r = await client.get(f"/t/{c['trace_code']}")
    assert r.status_code == 200, r.text[:500]
    assert f"{w.net.village.name}揽收" in r.text and "东山坡3号地" in r.text
    # what staff typed is shown escaped (a script in the plot runs nowhere)
    c = await collect(w, plot="<script>alert(1)</script>")
    r = await client.get(f"/t/{c['trace_code']}")
    assert r.status_code == 200 and "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text
