"""Console sign-in and sessions over HTTP: SMS code, scan, CSRF, live roles, expiry, audit, downloads."""
from __future__ import annotations

from datetime import timedelta

import httpx

from server.kit import clock
from tests.conftest import login
from tests.console.conftest import Browser, last_code, new_phone, operator, sign_in


async def sign_in_a_minute_later(settings, phone):
    """Sign in again as phone (one code a minute per phone: the clock moves on a minute for it)."""
    clock.shift(timedelta(seconds=61))
    try:
        return await sign_in(settings, phone)
    finally:
        clock.shift(-timedelta(seconds=61))


async def test_sms_sign_in_sets_a_strict_httponly_session_and_audits_it(settings, client, app):
    uid, phone = await operator("admin", name="李科长")
    b = await sign_in(settings, phone)
    try:
        cookie = next(c for c in b.client.cookies.jar if c.name == "kz_console")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/"
        r = await b.page("/console/")
        assert "今日待办" in r.text and "李科长" in r.text and "商户入驻申请" in r.text
        # every page's header names the operator (kept in the session at sign-in), not only the desk's
        for path in ("/console/merchants", "/console/payouts", "/console/audit"):
            header = (await b.page(path)).text.split("<main>")[0]
            assert "李科长（县电商办）" in header, path
        from server.kit import audit

        rows, _ = await audit.feed(actor_id=uid, action="console.sign_in")
        assert rows and rows[0].ip == "127.0.0.1" and "python-httpx" in rows[0].user_agent
        # sign-out ends the session: the old cookie opens nothing
        old = cookie.value
        r = await b.post("/console/logout", htmx=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        r = await b.client.get("/console/", cookies={"kz_console": old})
        assert r.status_code == 303 and "reason=signin" not in r.headers["location"]
        rows, _ = await audit.feed(actor_id=uid, action="console.sign_out")
        assert rows
    finally:
        await b.client.aclose()


async def test_session_id_rotates_at_sign_in(settings, app):
    _, phone = await operator("admin")
    b = await sign_in(settings, phone)
    first = b.client.cookies.get("kz_console")
    r = await b.page("/console/login?reason=expired")
    r = await b.post("/console/login/code", {"phone": phone})
    clock.shift(timedelta(seconds=61))   # one code a minute per phone
    try:
        r = await b.post("/console/login/code", {"phone": phone})
        assert r.headers.get("X-Kz-Sent") == "1", r.text
        r = await b.post("/console/login", {"phone": phone, "code": await last_code(b.client, phone)})
        assert r.headers.get("HX-Redirect") == "/console/"
    finally:
        clock.shift(timedelta(seconds=-61))
    second = b.client.cookies.get("kz_console")
    assert second and second != first
    async with httpx.AsyncClient(base_url=settings.base_url, cookies={"kz_console": first}) as old:
        assert (await old.get("/console/")).status_code == 303
    await b.client.aclose()


async def test_wrong_code_and_unknown_phone_get_clear_messages(settings, app):
    _, phone = await operator("admin")
    async with httpx.AsyncClient(base_url=settings.base_url) as c:
        b = Browser(c)
        await b.page("/console/login")
        r = await b.post("/console/login/code", {"phone": "12345"})
        assert "请输入 11 位手机号" in r.text and r.headers.get("X-Kz-Sent") is None
        r = await b.post("/console/login/code", {"phone": new_phone()})
        assert "此手机号没有后台账号" in r.text
        r = await b.post("/console/login/code", {"phone": phone})
        code = await last_code(c, phone)
        wrong = "000000" if code != "000000" else "111111"
        r = await b.post("/console/login", {"phone": phone, "code": wrong})
        assert "验证码不正确（还可尝试 4 次）" in r.text and f'value="{phone}"' in r.text  # nothing typed is lost
        # a second send within the minute: the per-phone limit, said plainly
        r = await b.post("/console/login/code", {"phone": phone})
        assert "验证码发送太频繁" in r.text


async def test_consumer_only_user_is_refused_with_a_clear_page(settings, client, app):
    uid, phone = await operator(None)   # an account with a phone but no operator role
    async with httpx.AsyncClient(base_url=settings.base_url) as c:
        b = Browser(c)
        await b.page("/console/login")
        await b.post("/console/login/code", {"phone": phone})
        r = await b.post("/console/login", {"phone": phone, "code": await last_code(c, phone)})
        assert "没有后台角色" in r.text and "HX-Redirect" not in r.headers
        assert "kz_console" not in c.cookies
    from server.kit import audit

    rows, _ = await audit.feed(actor_id=uid, action="console.sign_in_refused")
    assert rows


async def test_station_staff_sees_none_of_the_office_pages(settings, app):
    from tests.catalog.conftest import make_station

    _, phone = await operator("station_staff", station_id=await make_station())
    b = await sign_in(settings, phone)
    try:
        r = await b.client.get("/console/")
        assert r.status_code == 303 and r.headers["location"] == "/console/station"   # their own desk
        r = await b.client.get("/console/station", follow_redirects=True)
        assert "核销提货" in r.text and "服务站工作人员" in r.text
        assert "测试员（服务站工作人员）" in r.text.split("<main>")[0]   # named in every page's header
        for path in ("/console/merchants", "/console/reviews", "/console/users", "/console/audit"):
            assert path not in r.text.split("<main>")[0]   # not in the navigation
            r2 = await b.client.get(path)
            assert r2.status_code == 403 and "此页面仅供县电商办使用" in r2.text, path
    finally:
        await b.client.aclose()


async def test_post_without_csrf_token_is_refused(office):
    r = await office.post("/console/users", {"name": "张三", "phone": new_phone()}, csrf=False, htmx=False)
    assert r.status_code == 403 and "页面已失效" in r.text
    r = await office.post("/console/users", {"name": "张三", "phone": new_phone(), "_csrf": "0" * 64},
                          csrf=False, htmx=False)
    assert r.status_code == 403
    # the sign-in form needs it too
    async with httpx.AsyncClient(base_url=office.client.base_url) as c:
        r = await c.post("/console/login/code", data={"phone": new_phone()})
        assert r.status_code == 403


async def test_revoked_role_ends_console_access_at_once(settings, app):
    from server.accounts import service
    from server.models.accounts import RoleGrant

    uid, phone = await operator("admin")
    await operator("admin")   # not the last admin
    b = await sign_in(settings, phone)
    try:
        assert (await b.page("/console/merchants")).status_code == 200
        grant = await RoleGrant.get(user_id=uid, role="admin")
        await service.revoke_grant(grant.id, revoked_by=None)
        r = await b.client.get("/console/merchants")
        assert r.status_code == 403 and "没有后台角色" in r.text
        # a fragment's refusal lands in the page's message area (no failed request in the console)
        r = await b.client.get("/console/merchants", headers={"HX-Request": "true"})
        assert r.headers.get("HX-Retarget") == "#flash" and "没有后台角色" in r.text
    finally:
        await b.client.aclose()


async def test_idle_and_absolute_expiry_send_back_to_login(settings, app):
    _, phone = await operator("admin")
    b = await sign_in(settings, phone)
    try:
        clock.shift(timedelta(hours=8, minutes=1))
        try:
            r = await b.client.get("/console/merchants")
            assert r.status_code == 303 and "reason=expired" in r.headers["location"]
            r = await b.client.get(r.headers["location"])
            assert "登录已过期，请重新登录" in r.text
        finally:
            clock.shift(-timedelta(hours=8, minutes=1))
        # an htmx fragment is sent to the login page by HX-Redirect
        r = await b.client.get("/console/merchants", headers={"HX-Request": "true"})
        assert r.headers.get("HX-Redirect", "").startswith("/console/login?reason=expired")
    finally:
        await b.client.aclose()
    b = await sign_in_a_minute_later(settings, phone)
    try:
        from server.kit import sessions

        sid = b.client.cookies.get("kz_console")
        try:
            for _ in range(23):   # used every 7 hours: never idle for 8, alive for 161 hours
                clock.shift(timedelta(hours=7))
                assert await sessions.load(sid) is not None
            clock.shift(timedelta(hours=7, minutes=2))   # past 168 h: seven days after sign-in it ends
            assert await sessions.load(sid) is None
        finally:
            clock.shift(-timedelta(hours=7 * 24, minutes=2))
    finally:
        await b.client.aclose()


async def test_a_sign_out_in_another_process_ends_the_session_here_at_once(settings, app):
    """A process answers from its own copy of a session for a few seconds; a sign-out elsewhere drops
    that copy through the tier's message, and the copy never outlives its next touch."""
    import asyncio

    from server.kit import redis as kr
    from server.kit import sessions

    _, phone = await operator("admin")
    b = await sign_in(settings, phone)
    try:
        sid = b.client.cookies.get("kz_console")
        assert (await b.page("/console/")).status_code == 200
        k = sessions._key(sid)
        # Redis loses the session without a message (not how a sign-out works): this process's copy
        # still answers, until the moment its last use would have to be written again.
        await kr.redis().delete(k)
        assert await sessions.load(sid) is not None
        clock.shift(timedelta(milliseconds=sessions.TOUCH_EVERY_MS + 1000))
        try:
            assert await sessions.load(sid) is None
        finally:
            clock.shift(-timedelta(milliseconds=sessions.TOUCH_EVERY_MS + 1000))
        # another session, signed out by another process: its delete and its message, not this
        # process's destroy()
        b2 = await sign_in_a_minute_later(settings, phone)
        try:
            sid2 = b2.client.cookies.get("kz_console")
            assert (await b2.page("/console/")).status_code == 200
            assert await sessions.load(sid2) is not None
            k2 = sessions._key(sid2)
            await kr.redis().delete(k2)
            await kr.redis().publish(kr.key("csess", "invalidate"), k2)
            for _ in range(50):
                if await sessions.load(sid2) is None:
                    break
                await asyncio.sleep(0.05)
            assert await sessions.load(sid2) is None
            r = await b2.client.get("/console/")
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        finally:
            await b2.client.aclose()
    finally:
        await b.client.aclose()


async def test_scan_to_sign_in(settings, client, app):
    from tests.conftest import login_as

    member = await login_as(client, "admin")
    async with httpx.AsyncClient(base_url=settings.base_url) as c:
        b = Browser(c)
        await b.page("/console/login")
        r = await c.get("/console/login/scan")
        ticket = r.text.split("/console/login/scan/")[1].split("/code.png")[0]
        png = await c.get(f"/console/login/scan/{ticket}/code.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert (await c.get(f"/console/login/scan/{ticket}")).status_code == 204   # waiting
        consumer = await login(client)
        r = await consumer.post(f"/api/v1/auth/console-scan/{ticket}/confirm")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_operator"
        r = await member.post(f"/api/v1/auth/console-scan/{ticket}/confirm")
        assert r.status_code == 200 and r.json() == {"confirmed": True}
        r = await member.post(f"/api/v1/auth/console-scan/{ticket}/confirm")
        assert r.status_code == 409
        r = await c.get(f"/console/login/scan/{ticket}", headers={"HX-Request": "true"})
        assert r.headers.get("HX-Redirect") == "/console/" and "kz_console" in c.cookies
        # single use: the next poll finds nothing
        r = await c.get(f"/console/login/scan/{ticket}")
        assert "二维码已过期或已使用" in r.text
        assert (await c.get("/console/")).status_code == 200
    r = await member.post("/api/v1/auth/console-scan/AAAAAAAAAAAAAAAAAAAAAA/confirm")
    assert r.status_code == 410 and r.json()["error"]["code"] == "scan_ticket_expired"


async def test_exports_download_with_the_session_cookie(office, settings):
    url = "/api/v1/console/stats/export/headline?format=csv"
    r = await office.client.get(url)
    assert r.status_code == 200, r.text
    async with httpx.AsyncClient(base_url=settings.base_url) as anon:
        assert (await anon.get(url)).status_code == 401
    # only GETs: a cookie never authorizes a state-changing API call
    r = await office.client.post("/api/v1/console/operators", json={"name": "x", "phone": new_phone()})
    assert r.status_code == 401


async def test_grant_role_by_phone_creates_the_user(app):
    from server.accounts import console
    from server.models.accounts import User

    phone = new_phone()
    grant = await console.grant_role_by_phone(phone, "warehouse", name="赵仓管")
    user = await User.get(id=grant.user_id)
    assert user.phone == phone and user.nickname == "赵仓管" and user.openid is None
    again = await console.grant_role_by_phone(phone, "admin")
    assert again.user_id == user.id


async def test_sign_in_attempts_per_phone_are_throttled_with_a_clear_message(settings, app):
    from server.kit import runtime

    _, phone = await operator("admin")
    limit = runtime.settings().console_signin_per_phone_per_hour
    async with httpx.AsyncClient(base_url=settings.base_url) as c:
        b = Browser(c)
        await b.page("/console/login")
        for _ in range(limit):
            r = await b.post("/console/login", {"phone": phone, "code": "123456"})
            assert "操作太频繁" not in r.text and "too many" not in r.text
        r = await b.post("/console/login", {"phone": phone, "code": "123456"})
        assert r.headers.get("HX-Retarget") == "#flash" and "操作太频繁，请" in r.text and "分钟后再试" in r.text
        r = await b.post("/console/login", {"phone": phone, "code": "123456"}, htmx=False)
        assert r.status_code == 429


async def test_sign_out_needs_the_csrf_token_and_works_after_a_revoked_role(settings, app):
    from server.accounts import service
    from server.models.accounts import RoleGrant

    uid, phone = await operator("livestreamer")
    b = await sign_in(settings, phone)
    try:
        r = await b.post("/console/logout", htmx=False, csrf=False)
        assert r.status_code == 403 and (await b.client.get("/console/live/")).status_code == 200
        await service.revoke_grant((await RoleGrant.get(user_id=uid)).id, revoked_by=None)
        r = await b.client.get("/console/")
        assert r.status_code == 403 and "退出" in r.text   # the refusal page still offers sign-out
        r = await b.post("/console/logout", htmx=False)
        assert r.status_code == 303 and "reason=signout" in r.headers["location"]
        r = await b.client.get("/console/")
        assert r.status_code == 303
    finally:
        await b.client.aclose()
