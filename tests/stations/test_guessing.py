"""Anti-guessing: 5 wrong codes per staff account per station in 10 minutes -> that account waits;
20 per station in an hour -> the station is locked and admins are alerted; every attempt audited."""
from server.models.audit import AuditLog
from server.models.pickup import StationAlert
from server.models.stations import Station
from tests.conftest import login_as
from tests.stations.conftest import make_order, make_station, with_code


def wrong(n: int) -> str:
    return f"{90000000 + n:08d}"


async def test_staff_waits_after_five_wrong_codes(client, net, buyer, shift_clock):
    st = net["a"]
    staff = await login_as(client, "station_staff", station_id=st.id)
    colleague = await login_as(client, "station_staff", station_id=st.id)
    url = f"/api/v1/station/{st.id}/verify"
    for i in range(5):
        r = await staff.post(url, json={"code": wrong(i)})
        assert r.status_code == 404 and r.json()["error"]["code"] == "pickup_code_wrong"
    order = await make_order(buyer.id, st.id)
    code = (await with_code((await staff.post(f"/api/v1/station/{st.id}/receive",
                                               json={"order_no": order.order_no})).json()))["code"]
    # blocked even with the right code: the account waits
    r = await staff.post(url, json={"code": code})
    assert r.status_code == 429 and r.json()["error"]["code"] == "pickup_attempts_exceeded"
    assert int(r.headers["retry-after"]) > 0
    # a colleague at the same counter is not blocked
    r = await colleague.post(url, json={"code": code})
    assert r.status_code == 200, r.text
    failed = await AuditLog.filter(action="pickup.verify_failed", object_id=str(st.id), actor_id=staff.id).order_by("id")
    assert len(failed) == 6
    assert failed[4].data["staff_wrong"] == 5 and failed[5].data["error"] == "pickup_attempts_exceeded"


async def test_station_locks_after_twenty_wrong_codes_and_admin_unlocks(client, admin, buyer):
    town = await make_station("town", await make_station("county"))
    st = await make_station("village", town)
    url = f"/api/v1/station/{st.id}/verify"
    staff = [await login_as(client, "station_staff", station_id=st.id) for _ in range(5)]
    n = 0
    for s in staff[:4]:
        for _ in range(5):
            r = await s.post(url, json={"code": wrong(n)})
            n += 1
            assert r.status_code == 404, r.text
    order = await make_order(buyer.id, st.id)
    pickup = await with_code((await staff[4].post(f"/api/v1/station/{st.id}/receive",
                                                  json={"order_no": order.order_no})).json())
    r = await staff[4].post(url, json={"code": pickup["code"]})
    assert r.status_code == 423 and r.json()["error"]["code"] == "station_locked"
    r = await staff[4].post(url, json={"qr": pickup["qr_payload"]})
    assert r.status_code == 423
    assert (await Station.get(id=st.id)).pickup_locked_until is not None
    alerts = await StationAlert.filter(station_id=st.id)
    assert len(alerts) == 1 and alerts[0].kind == "pickup_code_guessing"
    listed = (await admin.get("/api/v1/console/station-alerts")).json()["items"]
    assert any(a["id"] == alerts[0].id and a["station_id"] == st.id for a in listed)
    assert (await staff[4].get("/api/v1/console/station-alerts")).status_code == 403
    # the county office looks, acknowledges and unlocks
    r = await admin.post(f"/api/v1/console/station-alerts/{alerts[0].id}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    open_ids = [a["id"] for a in (await admin.get("/api/v1/console/station-alerts")).json()["items"]]
    assert alerts[0].id not in open_ids
    r = await admin.post(f"/api/v1/console/stations/{st.id}/unlock-pickups")
    assert r.status_code == 200 and r.json()["pickup_locked_until"] is None
    r = await staff[4].post(url, json={"code": pickup["code"]})
    assert r.status_code == 200, r.text
    assert await AuditLog.filter(action="pickup.verify_failed", object_id=str(st.id)).count() == 22
    assert await AuditLog.filter(action="station.pickup_locked", object_id=str(st.id)).count() == 1


async def test_wrong_code_window_passes(client, net, shift_clock):
    """The staff window is a fixed Redis window: after it expires the account may try again."""
    from server.kit import redis as kr
    from server.stations.service import RL_STAFF

    st = net["b"]
    staff = await login_as(client, "station_staff", station_id=st.id)
    url = f"/api/v1/station/{st.id}/verify"
    for i in range(5):
        await staff.post(url, json={"code": wrong(i)})
    assert (await staff.post(url, json={"code": wrong(9)})).status_code == 429
    # expire the window as ten minutes would
    await kr.redis().delete(kr.key("rl", RL_STAFF, f"{staff.id}:{st.id}"))
    assert (await staff.post(url, json={"code": wrong(9)})).status_code == 404


async def test_parallel_guesses_cannot_pass_the_limit(client, buyer):
    """Thirty wrong codes fired at once by one account: five are checked, the rest wait."""
    import asyncio

    town = await make_station("town", await make_station("county"))
    st = await make_station("village", town)
    staff = await login_as(client, "station_staff", station_id=st.id)
    url = f"/api/v1/station/{st.id}/verify"
    results = await asyncio.gather(*[staff.post(url, json={"code": wrong(i)}) for i in range(30)])
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(404) == 5 and statuses.count(429) == 25, statuses
    # a right code and a used one give their slot back: a colleague's count is untouched by them
    colleague = await login_as(client, "station_staff", station_id=st.id)
    for _ in range(3):
        order = await make_order(buyer.id, st.id)
        pickup = await with_code((await colleague.post(f"/api/v1/station/{st.id}/receive",
                                                       json={"order_no": order.order_no})).json())
        assert (await colleague.post(url, json={"code": pickup["code"]})).status_code == 200
        assert (await colleague.post(url, json={"code": pickup["code"]})).status_code == 409
    for i in range(5):
        assert (await colleague.post(url, json={"code": wrong(100 + i)})).status_code == 404
    assert (await colleague.post(url, json={"code": wrong(200)})).status_code == 429
