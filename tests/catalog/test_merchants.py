"""Merchant onboarding: SMS-verified application, county review, the applicant becomes a member."""
import secrets

from tests.catalog.conftest import make_station
from tests.conftest import login, login_as


def _phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


async def _code(client, phone: str) -> str:
    r = await client.get("/__sim__/aliyun/sms", params={"phone": phone})
    return r.json()["messages"][0]["params"]["code"]


def _app(phone: str, code: str, **over) -> dict:
    body = {"name": "南哨杂粮合作社", "kind": "cooperative", "contact_name": "王秀兰", "contact_phone": phone,
            "sms_code": code, "licence_no": "93211324" + secrets.token_hex(5).upper(), "town": "南哨街道",
            "village": "四官营子村", "is_poor_household": True, "description": "带动贫困户种植谷子"}
    body.update(over)
    return body


async def test_apply_approve_makes_the_applicant_a_member(client, admin):
    user = await login(client)
    phone = _phone()
    r = await user.post("/api/v1/merchant/applications/sms-code", json={"phone": phone})
    assert r.status_code == 200, r.text
    r = await user.post("/api/v1/merchant/applications", json=_app(phone, "000000" if True else ""))
    code = await _code(client, phone)
    if code == "000000":  # astronomically unlikely; keep the wrong-code check meaningful
        return
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "sms_code"
    r = await user.post("/api/v1/merchant/applications", json=_app(phone, code))
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["status"] == "pending" and m["applicant_id"] == user.id
    # the code is single use
    r = await user.post("/api/v1/merchant/applications", json=_app(phone, code))
    assert r.status_code == 422
    queue = (await admin.get("/api/v1/console/merchants", params={"status": "pending"})).json()["items"]
    assert m["id"] in [x["id"] for x in queue]
    # not yet a member: cannot manage it
    assert (await user.get(f"/api/v1/merchant/merchants/{m['id']}/products")).status_code == 403
    r = await admin.post(f"/api/v1/console/merchants/{m['id']}/approve")
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert (await admin.post(f"/api/v1/console/merchants/{m['id']}/approve")).status_code == 409
    mine = (await user.get("/api/v1/merchant/applications")).json()
    assert mine[0]["status"] == "active"
    assert m["id"] in (await user.get("/api/v1/me")).json()["merchant_ids"]
    r = await user.get(f"/api/v1/merchant/merchants/{m['id']}/products")
    assert r.status_code == 200 and r.json()["items"] == []


async def test_reject_with_reason_is_visible_to_the_applicant(client, admin):
    user = await login(client)
    phone = _phone()
    await user.post("/api/v1/merchant/applications/sms-code", json={"phone": phone})
    r = await user.post("/api/v1/merchant/applications",
                        json=_app(phone, await _code(client, phone), kind="enterprise"))
    mid = r.json()["id"]
    r = await admin.post(f"/api/v1/console/merchants/{mid}/reject", json={"reason": "营业执照不清晰"})
    assert r.status_code == 200
    mine = (await user.get("/api/v1/merchant/applications")).json()
    assert mine[0]["status"] == "rejected" and mine[0]["reject_reason"] == "营业执照不清晰"
    assert (await admin.post(f"/api/v1/console/merchants/{mid}/reject", json={"reason": ""})).status_code == 422
    trail = (await admin.get("/api/v1/console/catalog-audit",
                             params={"object_type": "merchant", "object_id": mid})).json()["items"]
    assert [a["action"] for a in trail] == ["merchant.reject", "merchant.apply"]


async def test_station_applies_for_a_household(client, admin):
    station = await make_station()
    staff = await login_as(client, "station_staff", station_id=station)
    phone = _phone()
    await staff.post("/api/v1/merchant/applications/sms-code", json={"phone": phone})
    code = await _code(client, phone)
    r = await staff.post("/api/v1/merchant/applications",
                         json=_app(phone, code, kind="cooperative", station_id=station))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "kind"
    other = await make_station()
    r = await staff.post("/api/v1/merchant/applications", json=_app(phone, code, kind="household", station_id=other))
    assert r.status_code == 404
    r = await staff.post("/api/v1/merchant/applications",
                         json=_app(phone, code, kind="household", station_id=station, name="李大爷家"))
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    await admin.post(f"/api/v1/console/merchants/{mid}/approve")
    assert mid in [m["id"] for m in (await staff.get("/api/v1/merchant/merchants")).json()]
    assert (await staff.get(f"/api/v1/merchant/merchants/{mid}/products")).status_code == 200


async def test_bad_applications_name_the_field(client):
    user = await login(client)
    phone = _phone()
    cases = [({"kind": "farmer"}, "kind"), ({"contact_phone": "12345"}, "contact_phone"),
             ({"name": "x" * 65}, "name"), ({"licence_no": "<script>"}, "licence_no"),
             ({"status": "active"}, "status"), ({"description": "a\x00b"}, "description"),
             ({"station_id": 2**70}, "station_id"), ({"is_poor_household": "maybe"}, "is_poor_household")]
    for over, field in cases:
        r = await user.post("/api/v1/merchant/applications", json=_app(phone, "123456", **over))
        assert r.status_code == 422, (over, r.text)
        # the field is named in details (or, for control characters, in the message)
        named = [d["field"] + " " + d["message"] for d in r.json()["error"]["details"]]
        assert any(field in f for f in named), (over, named)
    assert (await client.post("/api/v1/merchant/applications", json=_app(phone, "123456"))).status_code == 401
