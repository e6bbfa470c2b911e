"""The training pages: a course and a session made through the forms, the projector's sign-in QR, the
archive completeness and its zip download with the session cookie."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock


async def test_course_session_qr_archive(office):
    from server.models.stations import Station
    from tests.catalog.conftest import make_station

    venue = (await Station.get(id=await make_station())).code
    r = await office.post("/console/training/courses", {"track": "basic", "name": ""}, htmx=False)
    assert r.status_code == 200 and 'data-field="name"' in r.text
    r = await office.post("/console/training/courses", {"track": "basic", "name": "电商基础普及班（测试）"}, htmx=False)
    assert r.status_code == 303
    r = await office.page("/console/training")
    assert "电商基础普及班（测试）" in r.text
    form = r.text.split('id="session-form"')[1]
    course_id = form.split('<select name="course_id">')[1].split('value="')[1].split('"')[0]
    today = clock.local_today()
    r = await office.post("/console/training/sessions", {"course_id": course_id, "title": "南哨班",
                                                         "starts_on": str(today), "ends_on": str(today - timedelta(days=1))},
                          htmx=False)
    assert r.status_code == 200 and 'value="南哨班"' in r.text and "err" in r.text   # kept, with the error
    r = await office.post("/console/training/sessions", {"course_id": course_id, "title": "南哨班",
                                                         "starts_on": str(today), "ends_on": str(today),
                                                         "venue": "没有这个站", "venue_detail": "二楼教室"}, htmx=False)
    assert r.status_code == 200 and 'data-field="venue"' in r.text and "没有名称或编码为" in r.text
    r = await office.post("/console/training/sessions", {"course_id": course_id, "title": "南哨班",
                                                         "starts_on": str(today), "ends_on": str(today),
                                                         "venue": venue, "venue_detail": "二楼教室"}, htmx=False)
    assert r.status_code == 303, r.text
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    r = await office.page(f"/console/training/sessions/{sid}")
    assert "南哨班" in r.text and "签到二维码" in r.text
    r = await office.page(f"/console/training/sessions/{sid}/qr")
    assert r.status_code == 200 and 'src="data:image/png;base64,' in r.text and "今日已签到" in r.text
    r = await office.page("/console/training/archive?incomplete=1")
    assert f'data-session="{sid}"' in r.text and "缺少" in r.text
    r = await office.client.get(f"/api/v1/console/training/sessions/{sid}/archive.zip")
    assert r.status_code == 200 and r.content[:2] == b"PK"
