from server.models.accounts import RoleGrant
from tests.conftest import login, login_as


async def test_one_head_per_station(client, admin, net):
    a1 = await login_as(client, "station_staff", station_id=net["a"].id)
    a2 = await login(client)
    url = f"/api/v1/console/stations/{net['a'].id}/head"
    r = await admin.put(url, json={"user_id": a1.id})
    assert r.status_code == 200, r.text
    assert [(s["user_id"], s["is_head"]) for s in r.json()] == [(a1.id, True)]
    # a user not yet staff becomes staff and head; the previous head stays staff
    r = await admin.put(url, json={"user_id": a2.id})
    assert r.status_code == 200
    assert [(s["user_id"], s["is_head"]) for s in r.json()] == [(a2.id, True), (a1.id, False)]
    assert await RoleGrant.filter(station_id=net["a"].id, is_head=True).count() == 1
    # the new head's principal carries it at once
    me = (await a2.get("/api/v1/me")).json()
    assert net["a"].id in me["station_ids"]
    listed = (await a1.get(f"/api/v1/station/{net['a'].id}/staff")).json()
    assert listed[0]["user_id"] == a2.id and listed[0]["is_head"] is True
    assert (await admin.put(f"/api/v1/console/stations/999999999/head", json={"user_id": a1.id})).status_code == 404
    assert (await admin.put(url, json={"user_id": 999999999})).status_code == 404
    assert (await admin.put(url, json={"user_id": "x"})).status_code == 422
    assert (await a1.put(url, json={"user_id": a1.id})).status_code == 403
    r = await admin.get(f"/api/v1/console/stations/{net['a'].id}/staff")
    assert {s["user_id"] for s in r.json()} == {a1.id, a2.id}
