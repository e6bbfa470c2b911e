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


async def test_lecturers_list_create_and_edit(office, client):
    from server.models.audit import AuditLog
    from server.models.training import Lecturer
    from tests.conftest import login
    from tests.console.conftest import new_phone, operator
    from tests.fulfillment import factories as ff
    from tests.training import factories as tf

    r = await office.page("/console/training")
    assert 'href="/console/training/lecturers"' in r.text
    r = await office.page("/console/training/lecturers")
    assert r.status_code == 200 and 'id="lecturer-form"' in r.text
    uid, phone = await operator(None, name="赵老师")
    # every problem beside its field, what was typed kept
    r = await office.post("/console/training/lecturers", {"user": new_phone(), "name": "", "qualification_kind": "certification",
                                                          "certificate_name": "电子商务师", "bio": "十年网店经验"}, htmx=False)
    assert r.status_code == 200 and 'data-field="user"' in r.text and "没有手机号或编号为" in r.text
    assert 'data-field="name"' in r.text and 'value="电子商务师"' in r.text and "十年网店经验" in r.text
    r = await office.post("/console/training/lecturers", {"user": phone, "name": "赵老师", "qualification_kind": "certification",
                                                          "certificate_name": "电子商务师"}, htmx=False)
    assert 'data-field="certificate_no"' in r.text and "请填写证书编号" in r.text
    m = await tf.merchant()
    r = await office.post("/console/training/lecturers", {"user": phone, "name": "赵老师", "qualification_kind": "shop_results",
                                                          "merchant": str(m.id)}, htmx=False)
    assert 'data-field="merchant"' in r.text and "已有成交记录" in r.text
    r = await office.post("/console/training/lecturers", {"user": phone, "name": "赵老师", "qualification_kind": "shop_results"},
                          htmx=False)
    assert 'data-field="merchant"' in r.text
    assert not await Lecturer.filter(user_id=uid).exists()
    # a certified lecturer, by phone
    r = await office.post("/console/training/lecturers", {"user": phone, "name": "赵老师", "qualification_kind": "certification",
                                                          "certificate_name": "电子商务师", "certificate_no": "DS-2026-001",
                                                          "certificate_issuer": "朝阳市人社局"}, htmx=False)
    assert r.status_code == 303, r.text
    lec = await Lecturer.get(user_id=uid)
    assert r.headers["location"] == f"/console/training/lecturers/{lec.id}?created=1"
    assert await AuditLog.filter(action="training.lecturer.create", object_id=str(lec.id)).exists()
    r = await office.post("/console/training/lecturers", {"user": str(uid), "name": "赵老师", "qualification_kind": "certification",
                                                          "certificate_name": "电子商务师", "certificate_no": "X"}, htmx=False)
    assert "该用户已经是讲师" in r.text
    # a lecturer with real shop results, by user id and merchant id (a sale posted as payment posts it:
    # the ledger stays whole for the suite's later checks)
    m, skus = await ff.merchant_with_skus(1)
    buyer = await login(client)
    await ff.paid_order(buyer.id, [(skus[0], 2)], station=(await ff.network()).village)
    uid2, _ = await operator(None, name="钱店主")
    r = await office.post("/console/training/lecturers", {"user": str(uid2), "name": "钱店主", "qualification_kind": "shop_results",
                                                          "merchant": str(m.id)}, htmx=False)
    assert r.status_code == 303 and (await Lecturer.get(user_id=uid2)).merchant_id == m.id
    r = await office.page("/console/training/lecturers")
    assert f'data-lecturer="{lec.id}"' in r.text and "DS-2026-001" in r.text and "有真实网店业绩" in r.text
    # edit: a blank name is named; retire; a stale form is refused with the typed text kept
    r = await office.page(f"/console/training/lecturers/{lec.id}")
    version = r.text.split('name="version" value="')[1].split('"')[0]
    r = await office.post(f"/console/training/lecturers/{lec.id}", {"name": "", "is_active": "on", "version": version},
                          htmx=False)
    assert 'data-field="name"' in r.text
    r = await office.post(f"/console/training/lecturers/{lec.id}", {"name": "赵晓梅", "bio": "电商讲师", "version": version},
                          htmx=False)
    assert r.status_code == 200 and "已保存" in r.text
    got = await Lecturer.get(id=lec.id)
    assert got.name == "赵晓梅" and got.bio == "电商讲师" and got.is_active is False
    r = await office.post(f"/console/training/lecturers/{lec.id}", {"name": "赵老师", "is_active": "on", "version": version},
                          htmx=False)
    assert r.status_code == 409 and 'id="stale"' in r.text and 'value="赵老师"' in r.text and "赵晓梅" in r.text
    assert (await Lecturer.get(id=lec.id)).name == "赵晓梅"
    r = await office.page("/console/training/lecturers/999999999")
    assert r.status_code == 404
