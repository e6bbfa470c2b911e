from datetime import timedelta

import pytest

from server.kit import clock
from server.models.training import Lecturer, TrainingSession
from tests.conftest import login
from tests.training import factories as f
from tests.training.helpers import enrolled, make_course, make_session, make_trainee_user

BASE = "/api/v1/console/training"


async def test_only_admins_run_the_console(client, consumer):
    for method, url in (("get", f"{BASE}/courses"), ("post", f"{BASE}/sessions"), ("get", f"{BASE}/progress"),
                        ("get", f"{BASE}/trainees")):
        r = await getattr(consumer, method)(url)
        assert r.status_code == 403, url
    assert (await client.get(f"{BASE}/courses")).status_code == 401


async def test_lecturer_needs_a_qualification(client, admin):
    user = await login(client)
    url = f"{BASE}/lecturers"
    base = {"user_id": user.id, "name": "李老师"}
    cases = [
        ({**base, "qualification_kind": "certification"}, "certificate_name"),
        ({**base, "qualification_kind": "certification", "certificate_name": "电子商务师"}, "certificate_no"),
        ({**base, "qualification_kind": "shop_results"}, "merchant_id"),
        ({**base, "qualification_kind": "degree"}, "qualification_kind"),
        ({**base, "qualification_kind": "shop_results", "merchant_id": 2**63 - 1}, "merchant_id"),
        ({**base, "user_id": 2**63 - 1, "qualification_kind": "certification", "certificate_name": "x",
          "certificate_no": "1"}, "user_id"),
    ]
    for body, field in cases:
        r = await admin.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, r.text
    # a shop without sales is not "real shop results"
    m = await f.merchant()
    r = await admin.post(url, json={**base, "qualification_kind": "shop_results", "merchant_id": m.id})
    assert r.status_code == 422 and "sales" in r.json()["error"]["message"]
    assert not await Lecturer.filter(user_id=user.id).exists()
    p, sku = await f.product(m)
    buyer = await login(client)
    await f.paid_order(buyer.id, [(m, p, sku, 1000, 2)])
    r = await admin.post(url, json={**base, "qualification_kind": "shop_results", "merchant_id": m.id})
    assert r.status_code == 201, r.text
    r = await admin.post(url, json={**base, "qualification_kind": "shop_results", "merchant_id": m.id})
    assert r.status_code == 409


async def test_session_validation_changes_nothing(client, admin):
    course = await make_course(admin)
    before = await TrainingSession.all().count()
    today = clock.local_today()
    good = {"course_id": course["id"], "title": "第2期", "starts_on": str(today), "ends_on": str(today),
            "online": True}
    cases = [
        ({**good, "ends_on": str(today - timedelta(days=1))}, "ends_on"),
        ({**good, "ends_on": str(today + timedelta(days=90))}, "ends_on"),
        ({**good, "starts_on": "9999-01-01"}, "starts_on"),
        ({**good, "starts_on": "yesterday"}, "starts_on"),
        ({**good, "course_id": 2**63 - 1}, "course_id"),
        ({**good, "course_id": 2**70}, "course_id"),
        ({**good, "online": False}, "venue_station_id"),
        ({**good, "lecturer_ids": [2**63 - 1]}, "lecturer_ids"),
        ({**good, "title": ""}, "title"),
        ({**good, "title": "a\u0000b"}, "title"),
        ({**good, "status": "open"}, "status"),
        ({**good, "capacity": -1}, "capacity"),
    ]
    for body, field in cases:
        r = await admin.post(f"{BASE}/sessions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"][0]["field"] == field, (body, r.text)
    assert await TrainingSession.all().count() == before
    venue = await f.station(level="town")
    r = await admin.post(f"{BASE}/sessions", json={**good, "online": False, "venue_station_id": venue.id,
                                                   "venue_detail": "三楼培训室"})
    assert r.status_code == 201 and r.json()["venue_name"] == venue.name


async def test_update_session_keeps_signed_days_and_lecturers(client, admin):
    course = await make_course(admin)
    today = clock.local_today()
    s = await make_session(admin, course["id"], starts=today, ends=today + timedelta(days=2))
    trainee = await enrolled(client, admin, s["id"])
    r = await admin.post(f"{BASE}/sessions/{s['id']}/signins", json={"trainee_id": trainee.trainee["id"],
                                                                      "reason": "现场补签"})
    assert r.status_code == 201
    r = await admin.patch(f"{BASE}/sessions/{s['id']}", json={"starts_on": str(today + timedelta(days=1))})
    assert r.status_code == 409 and r.json()["error"]["code"] == "signins_outside"
    r = await admin.patch(f"{BASE}/sessions/{s['id']}", json={"title": None})
    assert r.status_code == 422
    r = await admin.patch(f"{BASE}/sessions/{s['id']}", json={"ends_on": str(today + timedelta(days=3)),
                                                               "capacity": 30})
    assert r.status_code == 200 and r.json()["capacity"] == 30
    assert (await admin.post(f"{BASE}/sessions/{s['id']}/cancel")).status_code == 409
    assert (await admin.patch(f"{BASE}/sessions/999999999", json={"title": "x"})).status_code == 404


async def test_capacity_and_public_listing(client, admin):
    course = await make_course(admin, name="直播带货班", track="livestream")
    s = await make_session(admin, course["id"], capacity=1)
    await enrolled(client, admin, s["id"])
    late = await make_trainee_user(client)
    r = await late.post(f"/api/v1/training/sessions/{s['id']}/enrol")
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_full"
    listing = (await client.get("/api/v1/training/sessions", params={"track": "livestream"})).json()
    assert s["id"] in [x["id"] for x in listing["items"]]
    one = (await client.get(f"/api/v1/training/sessions/{s['id']}")).json()
    assert one["enrolled"] == 1 and one["files"] == []
    r = await client.get("/api/v1/training/sessions", params={"cursor": "!!!"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "cursor"
    # no profile yet: enrolment asks for one
    fresh = await login(client)
    r = await fresh.post(f"/api/v1/training/sessions/{s['id']}/enrol")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_trainee_profile"


async def test_session_pages_walk_every_session_once(client, admin):
    course = await make_course(admin, name="分页班")
    today = clock.local_today()
    ids = {(await make_session(admin, course["id"], starts=today + timedelta(days=i)))["id"] for i in range(5)}
    seen, cursor = [], None
    while True:
        params = {"course_id": course["id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await admin.get(f"{BASE}/sessions", params=params)).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5


async def test_session_list_rows_carry_course_venue_lecturers_and_counts(client, admin):
    # The list reads each session with its course and venue in one statement (joins): a session without
    # a venue keeps an empty venue name, and the lecturers and counts still land on their own sessions.
    course = await make_course(admin, name="联表班", track="livestream")
    lecturer_user = await login(client)
    lec = (await admin.post(f"{BASE}/lecturers", json={
        "user_id": lecturer_user.id, "name": "赵老师", "qualification_kind": "certification",
        "certificate_name": "电子商务师", "certificate_no": "EC-2021-007"})).json()
    venue = await f.station(level="town")
    today = clock.local_today()
    held = await make_session(admin, course["id"], online=False, venue_station_id=venue.id, venue_detail="二楼",
                              lecturer_ids=[lec["id"]], starts=today + timedelta(days=2))
    online = await make_session(admin, course["id"], starts=today + timedelta(days=1))
    await enrolled(client, admin, held["id"])
    await enrolled(client, admin, held["id"])
    page = (await admin.get(f"{BASE}/sessions", params={"course_id": course["id"]})).json()
    rows = {x["id"]: x for x in page["items"]}
    assert [x["id"] for x in page["items"]] == [held["id"], online["id"]]
    assert {k: rows[held["id"]][k] for k in ("course_name", "track", "venue_station_id", "venue_name",
                                             "venue_detail", "enrolled", "lecturers")} == {
        "course_name": "联表班", "track": "livestream", "venue_station_id": venue.id, "venue_name": venue.name,
        "venue_detail": "二楼", "enrolled": 2, "lecturers": [{"id": lec["id"], "name": "赵老师"}]}
    assert {k: rows[online["id"]][k] for k in ("venue_station_id", "venue_name", "enrolled", "lecturers")} == {
        "venue_station_id": None, "venue_name": "", "enrolled": 0, "lecturers": []}
    assert rows[held["id"]] == (await admin.get(f"{BASE}/sessions/{held['id']}")).json() | {"files": []}
    by_track = (await admin.get(f"{BASE}/sessions", params={"track": "livestream"})).json()["items"]
    assert {held["id"], online["id"]} <= {x["id"] for x in by_track}


async def test_trainee_personal_data_is_for_the_office_and_the_trainee(client, admin):
    village = await f.station(poor=True, town="甘招镇", village="梁家杖子村")
    trainee = await make_trainee_user(client, name="刘淑芬", phone="13900000001", village_station_id=village.id,
                                      groups=["left_behind_woman"], is_poor_household=True)
    t = trainee.trainee
    assert t["town"] == "甘招镇" and t["village"] == "梁家杖子村"
    assert t["groups"] == ["left_behind_woman", "poor_household"]
    me = (await trainee.get("/api/v1/training/me")).json()
    assert me["phone"] == "13900000001"
    other = await login(client)
    assert (await other.get("/api/v1/training/me")).status_code == 404
    assert (await other.get(f"{BASE}/trainees/{t['id']}")).status_code == 403
    detail = (await admin.get(f"{BASE}/trainees/{t['id']}")).json()
    assert detail["name"] == "刘淑芬"
    found = (await admin.get(f"{BASE}/trainees", params={"q": "刘淑", "group": "left_behind_woman"})).json()
    assert [x["id"] for x in found["items"]] == [t["id"]]
    # public session views never carry trainee data
    course = await make_course(admin)
    s = await make_session(admin, course["id"])
    await trainee.post(f"/api/v1/training/sessions/{s['id']}/enrol")
    assert "刘淑芬" not in (await client.get(f"/api/v1/training/sessions/{s['id']}")).text
    # the trainee cannot claim or drop the registration; their own edits keep the office's record
    r = await trainee.put("/api/v1/training/me", json={"name": "刘淑芬", "groups": ["poor_household"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "groups"
    r = await trainee.put("/api/v1/training/me", json={"name": "刘淑芬", "is_poor_household": False})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "is_poor_household"
    r = await trainee.put("/api/v1/training/me", json={"name": "刘淑芬", "consent": True,
                                                       "groups": ["left_behind_woman", "veteran"]})
    assert r.json()["is_poor_household"] is True
    assert r.json()["groups"] == ["left_behind_woman", "poor_household", "veteran"]
    r = await admin.put(f"{BASE}/trainees/{t['id']}", json={"name": "刘淑芬", "consent": True,
                                                             "is_poor_household": False})
    assert r.status_code == 200 and r.json()["groups"] == [] and r.json()["is_poor_household"] is False
    # withdrawing consent stops tracking
    r = await trainee.put("/api/v1/training/me", json={"name": "刘淑芬", "consent": False})
    assert r.status_code == 200 and r.json()["consent"] is False and r.json()["consent_at"] is None
    assert (await trainee.get("/api/v1/training/me/outcomes")).json()["tracked"] is False


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": "x" * 40}, "name"), ({"name": "a", "phone": "123"}, "phone"),
    ({"name": "a", "groups": ["king"]}, "groups.0"), ({"name": "a", "village_station_id": 2**63 - 1},
                                                       "village_station_id"),
    ({"name": "a", "consent": "maybe"}, "consent"), ({"name": "a", "user_id": 5}, "user_id"),
])
async def test_trainee_profile_validation(client, body, field):
    user = await login(client)
    r = await user.put("/api/v1/training/me", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_concurrent_enrolments_respect_capacity(client, admin):
    import asyncio

    from server.models.training import Enrolment

    course = await make_course(admin, name="抢报班")
    s = await make_session(admin, course["id"], capacity=3)
    users = [await make_trainee_user(client) for _ in range(8)]
    results = await asyncio.gather(*[u.post(f"/api/v1/training/sessions/{s['id']}/enrol") for u in users])
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 3 and codes.count(409) == 5, codes
    assert await Enrolment.filter(session_id=s["id"]).count() == 3


async def test_a_villager_recorded_by_the_office_claims_the_profile_with_a_verified_phone(client, admin):
    from server.models.accounts import User

    course = await make_course(admin, name="线下班")
    s = await make_session(admin, course["id"])
    r = await admin.post(f"{BASE}/trainees", json={"name": "孙大娘", "phone": "13904219999", "consent": True,
                                                   "is_poor_household": True})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    await admin.post(f"{BASE}/sessions/{s['id']}/enrolments", json={"trainee_id": tid})
    r = await admin.post(f"{BASE}/sessions/{s['id']}/signins", json={"trainee_id": tid, "reason": "没有手机，纸质签到"})
    assert r.status_code == 201
    # an unverified phone claims nothing
    stranger = await login(client)
    await User.filter(id=stranger.id).update(phone="13904219998")
    r = await stranger.put("/api/v1/training/me", json={"name": "孙大娘", "phone": "13904219999"})
    assert r.json()["id"] != tid
    villager = await login(client)
    await User.filter(id=villager.id).update(phone="13904219999", phone_verified_at=clock.now())
    r = await villager.put("/api/v1/training/me", json={"name": "孙大娘", "phone": "13904219999", "consent": True})
    assert r.status_code == 200 and r.json()["id"] == tid and r.json()["is_poor_household"] is True
    me = (await villager.get("/api/v1/training/me")).json()
    assert me["person_times"] == 1 and me["user_id"] == villager.id
