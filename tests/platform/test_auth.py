import time

import jwt
import pytest

from tests.conftest import login, login_as


async def test_login_code_is_single_use(client):
    r = await client.post("/__sim__/wechat/login-code", json={"openid": "o-single-use"})
    code = r.json()["code"]
    first = await client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert first.status_code == 200
    body = first.json()
    assert body["user"]["roles"] == ["consumer"]
    assert "session_key" not in first.text
    second = await client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "wechat_code_used"


async def test_unknown_code_is_refused(client):
    r = await client.post("/api/v1/auth/wechat-login", json={"code": "never-minted"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "wechat_code_invalid"


async def test_same_openid_is_the_same_user_and_unionid_is_kept(client):
    from server.models.accounts import User

    r = await client.post("/__sim__/wechat/login-code", json={"openid": "o-same", "unionid": "u-1"})
    a = (await client.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})).json()
    b = await login(client, "o-same")
    assert a["user"]["id"] == b.id
    user = await User.get(id=b.id)
    assert user.unionid == "u-1" and user.session_key


@pytest.mark.parametrize("body, field", [({}, "code"), ({"code": ""}, "code"), ({"code": 5}, "code"),
                                         ({"code": "x", "extra": 1}, "extra")])
async def test_bad_login_body_names_the_field(client, body, field):
    r = await client.post("/api/v1/auth/wechat-login", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == field


async def test_me_requires_a_valid_token(client, consumer, settings):
    assert (await consumer.get("/api/v1/me")).json()["id"] == consumer.id
    assert (await client.get("/api/v1/me")).status_code == 401
    now = int(time.time())
    claims = {"sub": str(consumer.id), "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now - 100, "exp": now - 10, "tv": 0}
    key = settings.jwt_secret.get_secret_value()
    expired = jwt.encode(claims, key, algorithm="HS256")
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    claims["exp"] = now + 100
    none_alg = jwt.encode(claims, None, algorithm="none")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {none_alg}"})).status_code == 401
    good = jwt.encode(claims, key, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    head, payload, sig = good.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}"
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"})).status_code == 401
    wrong_aud = jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong_aud}"})).status_code == 401
    other_key = jwt.encode(claims, "x" * 40, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_key}"})).status_code == 401


async def test_granted_role_is_carried_by_the_next_login(client, admin):
    user = await login(client)
    r = await admin.post("/api/v1/console/role-grants", json={"user_id": user.id, "role": "warehouse"})
    assert r.status_code == 201, r.text
    again = await login(client, await _openid(user.id))
    assert "warehouse" in again.user["roles"]
    assert "warehouse" in jwt.decode(again.token, options={"verify_signature": False})["roles"]
    # the old token sees the new role too: roles are checked live, not trusted from the token
    assert "warehouse" in (await user.get("/api/v1/me")).json()["roles"]
    grant_id = r.json()["id"]
    assert (await admin.delete(f"/api/v1/console/role-grants/{grant_id}")).status_code == 204
    assert "warehouse" not in (await user.get("/api/v1/me")).json()["roles"]


async def _openid(user_id):
    from server.models.accounts import User

    return (await User.get(id=user_id)).openid


async def test_only_admins_grant_and_scopes_are_checked(client, admin, consumer):
    r = await consumer.post("/api/v1/console/role-grants", json={"user_id": consumer.id, "role": "admin"})
    assert r.status_code == 403
    r = await admin.post("/api/v1/console/role-grants", json={"user_id": consumer.id, "role": "station_staff"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "station_id"
    r = await admin.post("/api/v1/console/role-grants", json={"user_id": 99999999, "role": "warehouse"})
    assert r.status_code == 404
    r = await admin.post("/api/v1/console/role-grants", json={"user_id": consumer.id, "role": "king"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "role"


async def test_disabled_account_loses_its_tokens(client, admin):
    user = await login_as(client, None)
    r = await admin.post(f"/api/v1/console/users/{user.id}/disable")
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await user.get("/api/v1/me")).status_code == 401
    await admin.post(f"/api/v1/console/users/{user.id}/enable")
    assert (await user.get("/api/v1/me")).status_code == 401  # the old token stays revoked


async def test_an_admin_cannot_disable_their_own_account(admin):
    r = await admin.post(f"/api/v1/console/users/{admin.id}/disable")
    assert r.status_code == 409 and r.json()["error"]["code"] == "cannot_disable_self"
    me = await admin.get("/api/v1/me")
    assert me.status_code == 200  # still signed in, still active
    assert (await admin.get(f"/api/v1/console/users/{admin.id}")).json()["is_active"] is True


async def test_a_remembered_token_still_expires_and_a_revoked_one_is_still_refused(client, consumer, settings,
                                                                                   monkeypatch):
    import server.kit.auth as auth

    now = int(time.time())
    claims = {"sub": str(consumer.id), "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now - 5, "exp": now + 60, "tv": 0}
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # from memory now
    # a minute later the remembered token has expired like any other
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(now + 61), raising=False)
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    monkeypatch.undo()
    # revocation is checked per request, after the signature: memory of the signature does not skip it
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    from server.models.accounts import User

    await User.filter(id=consumer.id).update(token_version=1)
    await auth.forget_principal(consumer.id)
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


class _FrozenDatetime:
    """Stands in for datetime in PyJWT's module: now() answers a fixed wall-clock second."""

    def __init__(self, ts: int):
        from datetime import datetime, timezone

        self._now = datetime.fromtimestamp(ts, tz=timezone.utc)
        self._real = datetime

    def now(self, tz=None):
        return self._now

    def __getattr__(self, name):
        return getattr(self._real, name)


async def test_a_principal_changed_by_another_process_is_dropped_here(client, consumer):
    """Each process keeps signed-in users' principals (server.kit.local_cache); another process's
    forget_principal (its DEL and its message, without this process's own drop) reaches it."""
    from server.kit import auth
    from server.kit import redis as kr
    from server.kit.local_cache import LocalCache
    from server.models.accounts import User
    from tests.conftest import wait_for

    assert (await consumer.get("/api/v1/me")).status_code == 200
    tier = LocalCache.of("principal", life=auth.PRINCIPAL_LOCAL_SECONDS, max_entries=auth.PRINCIPAL_LOCAL_MAX)
    assert await wait_for(lambda: _ready(tier), 3.0, 0.02)
    assert (await consumer.get("/api/v1/me")).status_code == 200
    assert tier.get(consumer.id) is not None  # served from this process
    # what another process does when it disables the account: the database, Redis, then the message
    await User.filter(id=consumer.id).update(is_active=False)
    await kr.redis().delete(auth._principal_key(consumer.id))
    assert (await consumer.get("/api/v1/me")).status_code == 200  # this process's tier, until the message
    await kr.redis().publish(kr.key("principal", "invalidate"), str(consumer.id))

    async def refused():
        return (await consumer.get("/api/v1/me")).status_code == 401

    assert await wait_for(refused, 3.0, 0.02)


async def _ready(tier):
    return tier.ready
