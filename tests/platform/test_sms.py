"""SMS codes, notices and phone binding, end to end through the Aliyun simulator over real HTTP."""
from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest

from server.accounts import phone as phone_service
from server.accounts import sms
from server.kit import clock, runtime
from server.kit import redis as kr
from server.kit.errors import Conflict, RateLimited, UpstreamError, ValidationFailed
from tests.conftest import login

SIM_SMS = "/__sim__/aliyun/sms"


def new_phone() -> str:
    return "13" + str(secrets.choice(range(5, 10))) + f"{secrets.randbelow(10**8):08d}"


@pytest.fixture
def shift():
    """Move the service clock forward (code expiry and send windows follow it); reset afterwards."""
    def _shift(seconds: float) -> None:
        clock.shift(timedelta(seconds=seconds))
    yield _shift
    clock.reset()


async def messages(client, phone: str) -> list[dict]:
    r = await client.get(SIM_SMS, params={"phone": phone})
    assert r.status_code == 200
    return r.json()["messages"]


async def last_code(client, phone: str) -> str:
    template = runtime.settings().aliyun_sms_template_code
    codes = [m["params"]["code"] for m in await messages(client, phone) if m["template_code"] == template]
    assert codes, f"no code was sent to {phone}"
    return codes[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_bind_phone_end_to_end(client, consumer, settings):
    phone = new_phone()
    r = await consumer.post("/api/v1/auth/sms-code", json={"phone": phone, "purpose": "bind_phone"})
    assert r.status_code == 200, r.text
    assert r.json() == {"sent": True, "expires_in": settings.sms_code_ttl_seconds}
    msg = (await messages(client, phone))[0]
    assert msg["template_code"] == settings.aliyun_sms_template_code
    assert msg["sign_name"] == settings.aliyun_sms_sign_name and len(msg["params"]["code"]) == 6
    code = msg["params"]["code"]
    # Only a keyed hash is stored: the code itself is nowhere in Redis.
    stored = await kr.redis().hgetall(kr.key("sms", "code", "bind_phone", phone))
    assert stored and code.encode() not in b"".join(stored.values())

    r = await consumer.post("/api/v1/me/phone", json={"phone": phone, "code": code},
                            headers={"X-Request-ID": "bind-phone-1"})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == phone and r.json()["phone_verified_at"]
    assert (await consumer.get("/api/v1/me")).json()["phone"] == phone
    from server.models.accounts import User
    from server.models.audit import AuditLog

    user = await User.get(id=consumer.id)
    assert user.phone == phone and user.phone_verified_at is not None
    entry = await AuditLog.filter(action="user.phone_bind", object_id=str(consumer.id)).first()
    assert entry and phone not in str(entry.data)  # masked in the audit trail
    assert entry.request_id == "bind-phone-1"  # the audit entry names the request that made it

    # single use: the same code does not work twice
    r = await consumer.post("/api/v1/me/phone", json={"phone": phone, "code": code})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "code"


async def test_phone_bound_to_another_user_is_409(client, consumer, shift):
    phone = new_phone()
    await consumer.post("/api/v1/auth/sms-code", json={"phone": phone})
    code = await last_code(client, phone)
    assert (await consumer.post("/api/v1/me/phone", json={"phone": phone, "code": code})).status_code == 200
    other = await login(client)
    shift(61)
    r = await other.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert r.status_code == 200, r.text
    r = await other.post("/api/v1/me/phone", json={"phone": phone, "code": await last_code(client, phone)})
    assert r.status_code == 409 and r.json()["error"]["code"] == "phone_taken"


async def test_concurrent_binds_of_one_phone_leave_one_owner(client, monkeypatch):
    # Two accounts that both passed the code check race for the number: the unique index decides
    # (on PostgreSQL this is a real race between two transactions).
    async def _verified(phone, purpose, code):
        return None

    monkeypatch.setattr(phone_service.sms, "verify_code", _verified)
    users = [await login(client) for _ in range(4)]
    phone = new_phone()
    results = await asyncio.gather(*(phone_service.bind_phone(u.id, phone, "000000") for u in users),
                                   return_exceptions=True)
    ok = [r for r in results if not isinstance(r, Exception)]
    taken = [r for r in results if isinstance(r, Conflict)]
    assert len(ok) == 1 and len(taken) == 3, results
    assert all(t.code == "phone_taken" for t in taken)
    from server.models.accounts import User

    assert await User.filter(phone=phone).count() == 1


async def test_five_wrong_tries_invalidate_the_code():
    phone = new_phone()
    assert await sms.send_code(phone, "merchant_application") == 300
    code = await last_code_direct(phone)
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationFailed) as err:
            await sms.verify_code(phone, "merchant_application", wrong(code))
        assert err.value.code == "sms_code_wrong" and f"{left} tries left" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        await sms.verify_code(phone, "merchant_application", wrong(code))
    assert err.value.code == "sms_code_locked"
    with pytest.raises(ValidationFailed) as err:
        await sms.verify_code(phone, "merchant_application", code)  # the right code, too late
    assert err.value.details == [{"field": "code", "message": err.value.details[0]["message"]}]
    assert err.value.code == "sms_code_invalid"


async def test_concurrent_wrong_guesses_cannot_exceed_the_limit():
    phone = new_phone()
    await sms.send_code(phone, "assisted_purchase")
    code = await last_code_direct(phone)
    guesses = [f"{g:06d}" for g in range(1, 41) if f"{g:06d}" != code][:30]
    results = await asyncio.gather(*(sms.verify_code(phone, "assisted_purchase", g) for g in guesses),
                                   return_exceptions=True)
    codes = sorted(e.code for e in results)
    assert codes.count("sms_code_wrong") == 4 and codes.count("sms_code_locked") == 1
    assert codes.count("sms_code_invalid") == len(guesses) - 5
    with pytest.raises(ValidationFailed):
        await sms.verify_code(phone, "assisted_purchase", code)


async def test_a_code_expires_after_its_ttl(shift, settings):
    phone = new_phone()
    await sms.send_code(phone, "bind_phone")
    code = await last_code_direct(phone)
    shift(settings.sms_code_ttl_seconds + 1)
    with pytest.raises(ValidationFailed) as err:
        await sms.verify_code(phone, "bind_phone", code)
    assert err.value.code == "sms_code_expired"


async def test_a_code_is_bound_to_its_purpose_and_phone():
    phone = new_phone()
    await sms.send_code(phone, "bind_phone")
    code = await last_code_direct(phone)
    with pytest.raises(ValidationFailed):
        await sms.verify_code(phone, "merchant_application", code)
    with pytest.raises(ValidationFailed):
        await sms.verify_code(new_phone(), "bind_phone", code)
    await sms.verify_code(phone, "bind_phone", code)  # still valid for its own purpose


async def test_one_send_a_minute_per_phone(client, consumer, shift):
    phone = new_phone()
    assert (await consumer.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 200
    r = await consumer.post("/api/v1/auth/sms-code", json={"phone": phone, "purpose": "merchant_application"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "sms_rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert len(await messages(client, phone)) == 1
    shift(61)
    assert (await consumer.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 200
    assert len(await messages(client, phone)) == 2


async def test_ten_sends_a_day_per_phone(client, shift):
    phone = new_phone()
    # 13 minutes apart: under Aliyun's own 5-an-hour limit, so only our daily cap can refuse.
    for _ in range(10):
        await sms.send_code(phone, "bind_phone")
        shift(13 * 60)
    with pytest.raises(RateLimited) as err:
        await sms.send_code(phone, "bind_phone")
    retry = int(err.value.headers["Retry-After"])
    assert 24 * 3600 - 10 * 13 * 60 - 5 <= retry <= 24 * 3600 - 10 * 13 * 60 + 5
    assert len(await messages(client, phone)) == 10
    shift(retry + 1)  # the first send leaves the 24-hour window
    await sms.send_code(phone, "bind_phone")


async def test_aliyun_flow_control_becomes_429(client, shift):
    # Aliyun allows 5 verification codes an hour per phone; the 6th (a minute apart) is refused by
    # the provider and reaches the caller as a rate limit, not an upstream failure.
    phone = new_phone()
    for _ in range(5):
        await sms.send_code(phone, "bind_phone")
        shift(61)
    with pytest.raises(RateLimited) as err:
        await sms.send_code(phone, "bind_phone")
    assert err.value.headers["Retry-After"] == "3600"
    assert len(await messages(client, phone)) == 5


async def test_send_notice_is_deduplicated_by_out_id(client):
    phone = new_phone()
    out_id = f"pickup-ready-{secrets.token_hex(4)}"
    await asyncio.gather(*(sms.send_notice(phone, "SMS_000000005", {"station": "大城子街道服务站", "code": 123456},
                                           out_id) for _ in range(5)))
    await sms.send_notice(phone, "SMS_000000005", {"station": "x"}, out_id)
    msgs = await messages(client, phone)
    assert len(msgs) == 1 and msgs[0]["out_id"] == out_id
    assert msgs[0]["params"] == {"station": "大城子街道服务站", "code": "123456"}
    await sms.send_notice(phone, "SMS_000000005", {"station": "x"}, out_id + "-2")
    assert len(await messages(client, phone)) == 2


async def test_a_failed_notice_can_be_retried():
    phone = new_phone()
    out_id = f"recall-{secrets.token_hex(4)}"
    # SMS_1 passes our format check but the provider has no such template.
    for _ in range(2):  # the failure released the out_id: the retry really tries again
        with pytest.raises(UpstreamError) as err:
            await sms.send_notice(phone, "SMS_1", {}, out_id)
        assert err.value.details["aliyun_code"] == "isv.SMS_TEMPLATE_ILLEGAL"


async def test_a_refused_send_gives_the_quota_back(monkeypatch):
    phone = new_phone()
    monkeypatch.setattr(runtime.settings(), "aliyun_sms_template_code", "SMS_1")
    with pytest.raises(UpstreamError):
        await sms.send_code(phone, "bind_phone")
    monkeypatch.undo()
    # Nothing went out, so the minute window is still free and no stale code is left behind.
    assert await sms.send_code(phone, "bind_phone") == 300


@pytest.mark.parametrize("args, field", [
    (("1380013800", "bind_phone"), "phone"), (("23800138000", "bind_phone"), "phone"),
    (("13800138000", "Bind-Phone"), "purpose"), (("13800138000", ""), "purpose"),
    (("13800138000", "a" * 33), "purpose"), ((13800138000, "bind_phone"), "phone"),
])
async def test_send_code_validates(args, field):
    with pytest.raises(ValidationFailed) as err:
        await sms.send_code(*args)
    assert err.value.details[0]["field"] == field


@pytest.mark.parametrize("kwargs, field", [
    ({"template_code": "TPL_1"}, "template_code"), ({"out_id": ""}, "out_id"),
    ({"out_id": "a b"}, "out_id"), ({"out_id": "x" * 65}, "out_id"), ({"phone": "123"}, "phone"),
    ({"params": ["a"]}, "params"),
])
async def test_send_notice_validates(kwargs, field):
    args = {"phone": "13800138000", "template_code": "SMS_000000005", "params": {}, "out_id": "ok-1", **kwargs}
    with pytest.raises(ValidationFailed) as err:
        await sms.send_notice(**args)
    assert err.value.details[0]["field"] == field


@pytest.mark.parametrize("body, field", [
    ({}, "phone"), ({"phone": "12345"}, "phone"), ({"phone": 13800138000}, "phone"),
    ({"phone": "1380013800\u0000"}, "phone"), ({"phone": "13800138000", "purpose": "BAD"}, "purpose"),
    ({"phone": "13800138000", "purpose": "x" * 40}, "purpose"), ({"phone": "１３８００１３８０００"}, "phone"), ({"phone": "1３８００１３８０００"}, "phone"),
    ({"phone": "13800138000", "user_id": 1}, "user_id"),
])
async def test_sms_code_endpoint_names_the_bad_field(consumer, body, field):
    r = await consumer.post("/api/v1/auth/sms-code", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["error"]["details"][0]
    # Control characters are refused for the whole body by the kit; its message names the field.
    assert detail["field"] == field or (detail["field"] == "body" and field in detail["message"])


@pytest.mark.parametrize("body, field", [
    ({"phone": "13800138000"}, "code"), ({"phone": "13800138000", "code": "12345"}, "code"),
    ({"phone": "13800138000", "code": 123456}, "code"), ({"phone": "13800138000", "code": "12345a"}, "code"),
    ({"phone": "13800138000", "code": "9" * 400}, "code"), ({"code": "123456"}, "phone"),
    ({"phone": "13800138000", "code": "123456", "phone_verified_at": "2020-01-01"}, "phone_verified_at"),
])
async def test_bind_endpoint_names_the_bad_field(consumer, body, field):
    r = await consumer.post("/api/v1/me/phone", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_endpoints_need_a_user(client):
    assert (await client.post("/api/v1/auth/sms-code", json={"phone": "13800138000"})).status_code == 401
    assert (await client.post("/api/v1/me/phone", json={"phone": "13800138000", "code": "123456"})).status_code == 401


async def test_per_ip_and_per_user_limits(client, consumer, monkeypatch):
    s = runtime.settings()
    ip = "127.0.0.1"
    await kr.reset_limit("sms_ip", ip)
    monkeypatch.setattr(s, "sms_per_ip_per_hour", 2)
    try:
        assert (await consumer.post("/api/v1/auth/sms-code", json={"phone": new_phone()})).status_code == 200
        other = await login(client)
        assert (await other.post("/api/v1/auth/sms-code", json={"phone": new_phone()})).status_code == 200
        r = await other.post("/api/v1/auth/sms-code", json={"phone": new_phone()})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    finally:
        await kr.reset_limit("sms_ip", ip)
    monkeypatch.setattr(s, "sms_per_ip_per_hour", 1000)
    monkeypatch.setattr(s, "sms_per_user_per_hour", 1)
    user = await login(client)
    try:
        assert (await user.post("/api/v1/auth/sms-code", json={"phone": new_phone()})).status_code == 200
        assert (await user.post("/api/v1/auth/sms-code", json={"phone": new_phone()})).status_code == 429
    finally:
        await kr.reset_limit("sms_ip", ip)
    monkeypatch.setattr(s, "phone_bind_per_ip_per_hour", 1)
    await kr.reset_limit("phone_bind_ip", ip)
    try:
        assert (await user.post("/api/v1/me/phone", json={"phone": new_phone(), "code": "123456"})).status_code == 422
        assert (await user.post("/api/v1/me/phone", json={"phone": new_phone(), "code": "123456"})).status_code == 429
    finally:
        await kr.reset_limit("phone_bind_ip", ip)


async def test_openapi_publishes_the_phone_endpoints(client):
    spec = (await client.get("/docs/openapi.json")).json()
    op = spec["paths"]["/api/v1/auth/sms-code"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][ref]["required"] == ["phone"]
    assert "429" in op["responses"]
    assert "409" in spec["paths"]["/api/v1/me/phone"]["post"]["responses"]


async def last_code_direct(phone: str) -> str:
    raw = await kr.redis().lrange(kr.key("sim", "aliyun", "sms", phone), 0, 0)
    import orjson

    return orjson.loads(raw[0])["params"]["code"]
