"""Scoping (a station sees only its own collections, a household only its own) and bad input (clear
refusals, nothing half-written)."""
from __future__ import annotations

import pytest

from server.models.collection import Collection
from server.models.trace import Batch
from tests.collection.conftest import body, collect, household_merchant


async def test_a_station_sees_only_its_own(cworld, client):
    w = cworld
    c = await collect(w)
    v = w.net.village.id
    assert (await w.other_staff.get(f"/api/v1/station/{v}/collections")).status_code == 404
    assert (await w.other_staff.get(f"/api/v1/station/{v}/collections/{c['id']}")).status_code == 404
    # its own station, someone else's collection id: 404 as well
    r = await w.other_staff.get(f"/api/v1/station/{w.net.village2.id}/collections/{c['id']}")
    assert r.status_code == 404
    r = await w.other_staff.get(f"/api/v1/station/{w.net.village2.id}/collections")
    assert r.status_code == 200 and r.json()["items"] == []
    mine = await w.village_staff.get(f"/api/v1/station/{v}/collections")
    assert [x["id"] for x in mine.json()["items"]] == [c["id"]]
    # a producer of another station cannot be collected here
    other_m, other_sku = await household_merchant(w.net.village2.id)
    r = await w.village_staff.post(f"/api/v1/station/{v}/collections",
                                   json=body(w, merchant_id=other_m.id, sku_id=other_sku.id))
    assert r.status_code == 404
    # another household sees none of it
    from tests.conftest import login_as

    stranger = await login_as(client, "merchant", merchant_id=other_m.id)
    assert (await stranger.get(f"/api/v1/merchant/merchants/{w.merchant.id}/collections")).status_code == 404
    r = await stranger.get(f"/api/v1/merchant/merchants/{other_m.id}/collections/{c['id']}")
    assert r.status_code == 404
    ok = await w.household.get(f"/api/v1/merchant/merchants/{w.merchant.id}/collections")
    assert [x["id"] for x in ok.json()["items"]] == [c["id"]]


@pytest.mark.parametrize("change,field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": 20_000, "weight_g": 10_000_000}, "weight_g"),   # 10 tonnes
    ({"quantity": 20_000}, "quantity"),                           # 20,000 x 500 g = 10 tonnes
    ({"quantity": -1}, "quantity"),
    ({"weight_g": 0}, "weight_g"),
    ({"grade": "super"}, "grade"),
    ({"harvested_on": "2099-01-01"}, "harvested_on"),
    ({"photos": ["<script>"]}, "photos"),
    ({"quantity": "20"}, "quantity"),
])
async def test_bad_input_is_refused_and_nothing_written(cworld, change, field):
    w = cworld
    before = (await Collection.filter(merchant_id=w.merchant.id).count(),
              await Batch.filter(merchant_id=w.merchant.id).count())
    r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections", json=body(w, **change))
    assert r.status_code == 422, r.text
    assert any(field in d["field"] for d in r.json()["error"]["details"]), r.text
    after = (await Collection.filter(merchant_id=w.merchant.id).count(),
             await Batch.filter(merchant_id=w.merchant.id).count())
    assert after == before


async def test_unknown_label_and_town_collect(cworld):
    w = cworld
    r = await w.town_staff.post("/api/v1/collections/scans", json={"label": "CLNOSUCHLABEL", "kind": "dispatched",
                                                                   "station_id": w.net.town.id})
    assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"


async def test_photos_uploaded_then_named(cworld):
    from tests.catalog.conftest import png_bytes

    w = cworld
    url = f"/api/v1/station/{w.net.village.id}/collections/photos"
    r = await w.village_staff.post(url, files={"file": ("goods.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("collection/")
    r = await w.village_staff.post(url, files={"file": ("x.png", b"<script>alert(1)</script>", "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    foreign = await w.other_staff.post(url, files={"file": ("goods.png", png_bytes(), "image/png")})
    assert foreign.status_code == 404
    r = await w.village_staff.post(f"/api/v1/station/{w.net.village.id}/collections", json=body(w, photos=[key]))
    assert r.status_code == 201 and r.json()["photos"] == [key]


async def test_the_town_sees_what_passes_through_it(cworld):
    w = cworld
    c = await collect(w)
    town = await w.town_staff.get(f"/api/v1/station/{w.net.town.id}/collections")
    assert [x["id"] for x in town.json()["items"]] == [c["id"]]
    r = await w.town_staff.get(f"/api/v1/station/{w.net.town.id}/collections/{c['id']}")
    assert r.status_code == 200 and r.json()["station_id"] == w.net.village.id
    r = await w.other_staff.get(f"/api/v1/station/{w.net.village2.id}/collections/{c['id']}")
    assert r.status_code == 404
