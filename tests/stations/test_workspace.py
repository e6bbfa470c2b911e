from datetime import timedelta

from tests.conftest import login_as
from tests.stations.conftest import make_order, make_station, with_code


async def test_workspace_and_pickup_lists(client, buyer, shift_clock):
    town = await make_station("town", await make_station("county"))
    st = await make_station("village", town)
    staff = await login_as(client, "station_staff", station_id=st.id)
    base = f"/api/v1/station/{st.id}"
    old = await make_order(buyer.id, st.id)
    old_p = (await staff.post(f"{base}/receive", json={"order_no": old.order_no})).json()
    shift_clock(timedelta(hours=49))
    fresh = []
    for _ in range(3):
        o = await make_order(buyer.id, st.id)
        fresh.append(await with_code((await staff.post(f"{base}/receive", json={"order_no": o.order_no})).json()))
    r = await staff.post(f"{base}/verify", json={"code": fresh[0]["code"]})
    assert r.status_code == 200
    ws = (await staff.get(f"{base}/workspace")).json()
    assert ws["station"]["id"] == st.id
    assert ws["ready"] == 3 and ws["overdue"] == 1 and ws["verified_today"] == 1
    assert ws["arrivals_today"] >= 3  # the 49-hour-old one may fall on "today" only across midnight
    assert [p["id"] for p in ws["recent_verifications"]] == [fresh[0]["id"]]
    assert ws["open_alerts"] == 0 and ws["cash_to_hand_over_fen"] == 0 and ws["fee_earnings_fen"] == 0

    async def ids(state, **params):
        r = await staff.get(f"{base}/pickups", params={"state": state, **params})
        assert r.status_code == 200, r.text
        return r.json()

    assert [p["id"] for p in (await ids("overdue"))["items"]] == [old_p["id"]]
    assert {p["id"] for p in (await ids("ready"))["items"]} == {old_p["id"], fresh[1]["id"], fresh[2]["id"]}
    assert [p["id"] for p in (await ids("picked_up"))["items"]] == [fresh[0]["id"]]
    page1 = await ids("ready", limit=2)
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = await ids("ready", limit=2, cursor=page1["next_cursor"])
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    for bad in ({"state": "lost"}, {"limit": 0}, {"limit": 10**30}, {"cursor": "!!"}):
        r = await staff.get(f"{base}/pickups", params=bad)
        assert r.status_code == 422, (bad, r.text)
    r = await staff.get(f"{base}/pickups/{fresh[1]['id']}")
    assert r.status_code == 200 and r.json()["status"] == "ready" and "code" not in r.json()
