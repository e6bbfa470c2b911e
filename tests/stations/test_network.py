import pytest

from server.models.audit import AuditLog
from tests.conftest import login_as
from tests.stations.conftest import make_station

URL = "/api/v1/console/stations"


async def test_admin_builds_the_hierarchy(admin):
    county = await admin.post(URL, json={"code": "NET-C1", "name": "县中心", "level": "county"})
    assert county.status_code == 201, county.text
    cid = county.json()["id"]
    town = await admin.post(URL, json={"code": "NET-T1", "name": "某镇中心", "level": "town", "parent_id": cid,
                                       "town": "某镇", "latitude": 41.2, "longitude": 119.8})
    assert town.status_code == 201, town.text
    tid = town.json()["id"]
    village = await admin.post(URL, json={
        "code": "NET-V1", "name": "某村服务站", "level": "village", "parent_id": tid, "village": "某村",
        "address": "村委会", "latitude": 41.21, "longitude": 119.81, "opening_hours": "08:00-18:00",
        "contact_name": "王站长", "contact_phone": "13900000000", "services": ["pickup", "assisted_purchase"],
        "is_poor_village": True})
    assert village.status_code == 201, village.text
    v = village.json()
    assert v["town"] == "某镇" and v["parent_id"] == tid and v["is_poor_village"] is True
    # a village under the county, a town under a village, a county with a parent: refused
    for body, field in [({"code": "NET-X1", "name": "x", "level": "village", "parent_id": cid, "village": "x"},
                         "parent_id"),
                        ({"code": "NET-X2", "name": "x", "level": "town", "parent_id": v["id"]}, "parent_id"),
                        ({"code": "NET-X3", "name": "x", "level": "county", "parent_id": cid}, "parent_id"),
                        ({"code": "NET-X4", "name": "x", "level": "village", "parent_id": tid}, "village"),
                        ({"code": "NET-X5", "name": "x", "level": "town"}, "parent_id")]:
        r = await admin.post(URL, json=body)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field, (body, r.text)
    dup = await admin.post(URL, json={"code": "NET-V1", "name": "y", "level": "village", "parent_id": tid,
                                      "village": "y"})
    assert dup.status_code == 409
    # patch: suspend, change hours; the parent must stay a town centre
    r = await admin.patch(f"{URL}/{v['id']}", json={"status": "suspended", "opening_hours": "09:00-17:00"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await admin.patch(f"{URL}/{v['id']}", json={"parent_id": cid})
    assert r.status_code == 422
    r = await admin.get(f"{URL}/{v['id']}")
    assert r.json()["opening_hours"] == "09:00-17:00"
    assert await AuditLog.filter(action="station.update", object_id=str(v["id"])).count() == 1
    page = (await admin.get(URL, params={"level": "village", "town": "某镇"})).json()
    assert [s["code"] for s in page["items"]] == ["NET-V1"]


@pytest.mark.parametrize("body, field", [
    ({"code": "B1", "name": "x", "level": "moon"}, "level"),
    ({"code": "B 1", "name": "x", "level": "county"}, "code"),
    ({"code": "B1", "name": "", "level": "county"}, "name"),
    ({"code": "B1", "name": "x\x00", "level": "county"}, "name"),
    ({"code": "B1", "name": "x", "level": "county", "latitude": 91, "longitude": 1}, "latitude"),
    ({"code": "B1", "name": "x", "level": "county", "latitude": 41}, "body"),
    ({"code": "B1", "name": "x", "level": "town", "parent_id": 2**70}, "parent_id"),
    ({"code": "B1", "name": "x", "level": "county", "services": ["spaceflight"]}, "services.0"),
    ({"code": "B1", "name": "x", "level": "county", "pickup_locked_until": None}, "pickup_locked_until"),
    ({"code": 5, "name": "x", "level": "county"}, "code"),
])
async def test_bad_station_input_names_the_field(admin, body, field):
    r = await admin.post(URL, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_network_admin_needs_the_admin_role(client):
    staff = await login_as(client, "warehouse")
    assert (await staff.get(URL)).status_code == 403
    assert (await staff.post(URL, json={"code": "Z1", "name": "x", "level": "county"})).status_code == 403
    assert (await client.get("/api/v1/console/station-coverage")).status_code == 401


async def test_nearby_lists_active_stations_by_distance(client, admin):
    town = await make_station("town", await make_station("county"), latitude=10.0, longitude=10.0)
    near = await make_station("village", town, latitude=10.01, longitude=10.0)
    far = await make_station("village", town, latitude=10.1, longitude=10.0)
    away = await make_station("village", town, latitude=12.0, longitude=10.0)
    await make_station("village", town, latitude=10.02, longitude=10.0, services=["parcel"])
    r = await client.get("/api/v1/stations/nearby", params={"lat": 10.0, "lng": 10.0, "radius_km": 30})
    assert r.status_code == 200, r.text
    ids = [s["id"] for s in r.json()]
    assert ids == [town.id, near.id, far.id]
    assert away.id not in ids
    assert 1.0 < r.json()[1]["distance_km"] < 1.2
    only_villages = await client.get("/api/v1/stations/nearby",
                                     params={"lat": 10.0, "lng": 10.0, "radius_km": 30, "level": "village"})
    assert [s["id"] for s in only_villages.json()] == [near.id, far.id]
    # suspension takes effect at once (the cached list is invalidated)
    assert (await client.get(f"/api/v1/stations/{near.id}")).status_code == 200
    r = await admin.patch(f"{URL}/{near.id}", json={"status": "suspended"})
    assert r.status_code == 200
    r = await client.get("/api/v1/stations/nearby", params={"lat": 10.0, "lng": 10.0, "radius_km": 30})
    assert near.id not in [s["id"] for s in r.json()]
    assert (await client.get(f"/api/v1/stations/{near.id}")).status_code == 404
    assert (await client.get("/api/v1/stations/999999999")).status_code == 404
    assert (await client.get(f"/api/v1/stations/{2**64}")).status_code == 404


@pytest.mark.parametrize("params, field", [({"lat": 100, "lng": 1}, "lat"), ({"lng": 1}, "lat"),
                                           ({"lat": "x", "lng": 1}, "lat"), ({"lat": 1, "lng": 1, "radius_km": 0},
                                                                          "radius_km"),
                                           ({"lat": "nan", "lng": 1}, "lat"), ({"lat": 1, "lng": 1, "limit": 0},
                                                                               "limit")])
async def test_nearby_rejects_bad_points(client, params, field):
    r = await client.get("/api/v1/stations/nearby", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_coverage_counts(admin):
    before = (await admin.get("/api/v1/console/station-coverage")).json()
    county = await make_station("county", town="")
    town = await make_station("town", county, town="覆盖镇")
    await make_station("village", town, town="覆盖镇", village="甲村", is_poor_village=True)
    await make_station("village", town, town="覆盖镇", village="甲村", is_poor_village=True)  # same village
    await make_station("village", town, town="覆盖镇", village="乙村")
    await make_station("village", town, town="覆盖镇", village="丙村", is_poor_village=True, status="suspended")
    r = await admin.get("/api/v1/console/station-coverage")
    assert r.status_code == 200
    after = r.json()
    assert after["stations_by_level"]["village"] - before["stations_by_level"]["village"] == 4
    assert after["active_by_level"]["village"] - before["active_by_level"]["village"] == 3
    assert after["villages_covered"] - before["villages_covered"] == 2
    assert after["poor_villages_covered"] - before["poor_villages_covered"] == 1
    assert after["suspended"] - before["suspended"] == 1
    town_row = next(t for t in after["stations_by_town"] if t["town"] == "覆盖镇")
    assert town_row == {"town": "覆盖镇", "town_centre": 1, "village_stations": 3, "poor_village_stations": 2}
    assert after["targets"] == {"county": 1, "town": 22, "village": 139}
