import asyncio
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.audit import AuditLog
from server.models.training import SignIn
from tests.conftest import login, login_as
from tests.training.helpers import enrolled, make_course, make_session, make_trainee_user, qr

BASE = "/api/v1/console/training"


async def test_qr_signin_once_per_day_and_person_times(client, admin):
    course = await make_course(admin)
    today = clock.local_today()
    s = await make_session(admin, course["id"], starts=today, ends=today + timedelta(days=1))
    trainee = await enrolled(client, admin, s["id"])
    payload = await qr(admin, s["id"])
    r = await trainee.post("/api/v1/training/signin", json={"payload": payload})
    assert r.status_code == 201, r.text
    assert r.json()["method"] == "qr" and r.json()["day"] == str(today)
    screen = (await admin.get(f"{BASE}/sessions/{s['id']}/signin-qr")).json()
    assert (screen["signed_today"], screen["enrolled"]) == (1, 1)
    again = await trainee.post("/api/v1/training/signin", json={"payload": payload})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_signed_in"
    # the next day is a new sign-in; the person-time stays one (one trainee, one session)
    clock.shift(timedelta(days=1))
    r = await trainee.post("/api/v1/training/signin", json={"payload": await qr(admin, s["id"])})
    assert r.status_code == 201, r.text
    me = (await trainee.get("/api/v1/training/me")).json()
    assert me["person_times"] == 1
    assert me["trainings"][0]["days_signed"] == [str(today), str(today + timedelta(days=1))]
    sheet = (await admin.get(f"{BASE}/sessions/{s['id']}/signins")).json()
    assert sheet["person_times"] == 1 and len(sheet["rows"]) == 2


async def test_not_enrolled_forged_late_and_other_day_are_refused(client, admin):
    course = await make_course(admin)
    # two days: the test moves the clock 4 minutes, which may cross midnight in Asia/Shanghai
    s = await make_session(admin, course["id"], ends=clock.local_today() + timedelta(days=1))
    outsider = await make_trainee_user(client)
    payload = await qr(admin, s["id"])
    r = await outsider.post("/api/v1/training/signin", json={"payload": payload})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_enrolled"
    trainee = await enrolled(client, admin, s["id"])
    head, sid, day, window, sig = payload.split(".")
    forged = [
        f"{head}.{sid}.{day}.{window}.{'A' * 22}",                       # made-up signature
        f"{head}.{int(sid) + 1}.{day}.{window}.{sig}",                   # signature of another session
        f"{head}.{sid}.{day}.{int(window) + 5}.{sig}",                   # pushed into the future
        "KZT1.1.20260101.1.short", "", "x" * 201, "KZT1.\u0000",
    ]
    for bad in forged:
        r = await trainee.post("/api/v1/training/signin", json={"payload": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["details"][0]["field"] in ("payload", "body")  # NUL: the body check
    r = await trainee.post("/api/v1/training/signin", json={"payload": 12345})
    assert r.status_code == 422
    assert await SignIn.filter(session_id=s["id"]).count() == 0
    # a photo of the code kept for later: refused once two windows have passed
    clock.shift(timedelta(seconds=2 * 120 + 1))
    r = await trainee.post("/api/v1/training/signin", json={"payload": payload})
    assert r.status_code == 410 and r.json()["error"]["code"] == "signin_code_expired"
    assert await SignIn.filter(session_id=s["id"]).count() == 0
    # within its window it works
    r = await trainee.post("/api/v1/training/signin", json={"payload": await qr(admin, s["id"])})
    assert r.status_code == 201


async def test_payload_from_yesterday_is_refused_and_qr_only_on_session_days(client, admin):
    course = await make_course(admin)
    today = clock.local_today()
    s = await make_session(admin, course["id"], starts=today, ends=today + timedelta(days=2))
    trainee = await enrolled(client, admin, s["id"])
    payload = await qr(admin, s["id"])
    clock.shift(timedelta(days=1))
    r = await trainee.post("/api/v1/training/signin", json={"payload": payload})
    assert r.status_code == 410
    clock.shift(timedelta(days=5))
    r = await admin.get(f"{BASE}/sessions/{s['id']}/signin-qr")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_session_day"


async def test_concurrent_scans_sign_in_exactly_once(client, admin):
    course = await make_course(admin)
    s = await make_session(admin, course["id"])
    trainee = await enrolled(client, admin, s["id"])
    payload = await qr(admin, s["id"])
    results = await asyncio.gather(*[trainee.post("/api/v1/training/signin", json={"payload": payload})
                                     for _ in range(12)])
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1 and codes.count(409) == 11, codes
    assert await SignIn.filter(session_id=s["id"]).count() == 1


async def test_manual_signin_needs_a_reason_a_session_day_and_is_audited(client, admin):
    course = await make_course(admin)
    today = clock.local_today()
    s = await make_session(admin, course["id"], starts=today - timedelta(days=1), ends=today + timedelta(days=1))
    trainee = await enrolled(client, admin, s["id"])
    tid = trainee.trainee["id"]
    url = f"{BASE}/sessions/{s['id']}/signins"
    r = await admin.post(url, json={"trainee_id": tid})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "reason"
    for day in (today - timedelta(days=2), today + timedelta(days=1)):  # outside; not yet come
        r = await admin.post(url, json={"trainee_id": tid, "day": str(day), "reason": "手机没电"})
        assert r.status_code == 409, r.text
    r = await admin.post(url, json={"trainee_id": 2**63 - 1, "reason": "手机没电"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "trainee_id"
    r = await admin.post(url, json={"trainee_id": 2**64, "reason": "手机没电"})
    assert r.status_code == 422
    r = await admin.post(url, json={"trainee_id": tid, "day": str(today - timedelta(days=1)), "reason": "手机没电"})
    assert r.status_code == 201 and r.json()["method"] == "manual"
    r = await admin.post(url, json={"trainee_id": tid, "day": str(today - timedelta(days=1)), "reason": "再签"})
    assert r.status_code == 409
    log = await AuditLog.filter(action="training.signin.manual", object_id=str(s["id"])).first()
    assert log is not None and log.actor_id == admin.id and log.data["reason"] == "手机没电"
    outsider = await make_trainee_user(client)
    r = await admin.post(url, json={"trainee_id": outsider.trainee["id"], "reason": "补签"})
    assert r.status_code == 403
    assert await SignIn.filter(session_id=s["id"]).count() == 1
    # only the office signs people in by hand
    r = await trainee.post(url, json={"trainee_id": tid, "reason": "自己签"})
    assert r.status_code == 403


async def test_lecturer_shows_qr_only_for_own_sessions(client, admin):
    course = await make_course(admin)
    lecturer_user = await login(client)
    r = await admin.post(f"{BASE}/lecturers", json={
        "user_id": lecturer_user.id, "name": "王老师", "qualification_kind": "certification",
        "certificate_name": "电子商务师", "certificate_no": "EC-2020-001"})
    assert r.status_code == 201, r.text
    lec = r.json()
    mine = await make_session(admin, course["id"], lecturer_ids=[lec["id"]])
    other = await make_session(admin, course["id"])
    r = await lecturer_user.get(f"/api/v1/training/lecturer/sessions/{mine['id']}/signin-qr")
    assert r.status_code == 200 and r.json()["payload"].startswith("KZT1.")
    r = await lecturer_user.get(f"/api/v1/training/lecturer/sessions/{other['id']}/signin-qr")
    assert r.status_code == 404
    assert [x["id"] for x in (await lecturer_user.get("/api/v1/training/lecturer/sessions")).json()] == [mine["id"]]
    nobody = await login(client)
    assert (await nobody.get(f"/api/v1/training/lecturer/sessions/{mine['id']}/signin-qr")).status_code == 404
    # the console stays closed to them
    assert (await lecturer_user.get(f"{BASE}/sessions/{mine['id']}/signins")).status_code == 403


async def test_cancelled_session_takes_no_signins_or_enrolments(client, admin):
    course = await make_course(admin)
    s = await make_session(admin, course["id"])
    trainee = await enrolled(client, admin, s["id"])
    payload = await qr(admin, s["id"])
    r = await admin.post(f"{BASE}/sessions/{s['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await trainee.post("/api/v1/training/signin", json={"payload": payload})
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_cancelled"
    other = await make_trainee_user(client)
    assert (await other.post(f"/api/v1/training/sessions/{s['id']}/enrol")).status_code == 404
    assert (await client.get(f"/api/v1/training/sessions/{s['id']}")).status_code == 404


@pytest.mark.parametrize("bad", [{"payload": None}, {}, {"payload": "a", "trainee_id": 1}, ["KZT1"]])
async def test_signin_body_is_validated(client, bad):
    user = await login_as(client, None)
    r = await user.post("/api/v1/training/signin", json=bad)
    assert r.status_code == 422


async def test_qr_png_for_the_classroom_screen(client, admin):
    course = await make_course(admin)
    s = await make_session(admin, course["id"])
    r = await admin.get(f"{BASE}/sessions/{s['id']}/signin-qr.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and r.headers["cache-control"] == "no-store"
    assert (await admin.get(f"{BASE}/sessions/999999999/signin-qr.png")).status_code == 404


async def test_a_retired_lecturer_runs_no_sessions(client, admin):
    course = await make_course(admin)
    user = await login(client)
    lec = (await admin.post(f"{BASE}/lecturers", json={
        "user_id": user.id, "name": "周老师", "qualification_kind": "certification",
        "certificate_name": "直播电商讲师", "certificate_no": "ZB-01"})).json()
    s = await make_session(admin, course["id"], lecturer_ids=[lec["id"]])
    r = await admin.patch(f"{BASE}/lecturers/{lec['id']}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await user.get(f"/api/v1/training/lecturer/sessions/{s['id']}/signin-qr")).status_code == 404
    r = await admin.post(f"{BASE}/sessions", json={"course_id": course["id"], "title": "x", "online": True,
                                                   "starts_on": str(clock.local_today()),
                                                   "ends_on": str(clock.local_today()), "lecturer_ids": [lec["id"]]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "lecturer_ids"
    assert (await admin.patch(f"{BASE}/lecturers/999999999", json={"is_active": True})).status_code == 404
    r = await admin.patch(f"{BASE}/lecturers/{lec['id']}", json={"qualification_kind": "shop_results"})
    assert r.status_code == 422  # the qualification on record is not edited in place
