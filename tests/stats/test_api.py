"""Admin statistics endpoints: range figures with growth and targets, validation, exports, rollup
re-runs through the worker, and access to the big screen (admin login or a revocable screen token)."""
from __future__ import annotations

import io
import secrets
from datetime import date, timedelta

from tests.conftest import login, wait_for

from tests.stats.conftest import at, make_world, paid_order, unique_day, unique_month

S = "/api/v1/console/stats"


async def _stat(day, dimension, key, **cols):
    from server.kit import clock
    from server.models.stats import StatDaily

    await StatDaily.create(day=day, dimension=dimension, key=key, label=cols.pop("label", key),
                           computed_at=clock.now(), **cols)


async def test_summary_growth_and_targets(admin):
    from server.stats.service import year_before

    day = unique_day()
    ly = year_before(day)
    await _stat(day, "sales", "all", orders=12, gmv_fen=121_000, refund_fen=1_000)
    await _stat(ly, "sales", "all", orders=10, gmv_fen=100_000)
    await _stat(day, "farm", "all", gmv_fen=125_000)
    await _stat(ly, "farm", "all", gmv_fen=100_000)
    await _stat(day, "route", "county_town:1", total=20, hits=19, label="县→乡 甲")
    await _stat(day, "active", "merchants", total=7)
    await _stat(day + timedelta(days=1), "active", "merchants", total=3)
    r = await admin.get(f"{S}/summary", params={"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    head = {h["key"]: h for h in body["headline"]}
    # Sales grew 21% against a 20% target: met; farm products 25% against 30%: not met.
    assert head["sales"]["gmv_growth_pct"] == 21.0 and head["sales"]["target_gmv_fen"] == 120_000
    assert head["sales"]["target_met"] is True and head["sales"]["net_fen"] == 120_000
    assert head["farm"]["gmv_growth_pct"] == 25.0 and head["farm"]["target_gmv_fen"] == 130_000
    assert head["farm"]["target_met"] is False
    assert body["tables"]["route"][0]["rate_pct"] == 95.0
    active = body["tables"]["active"][0]
    assert (active["daily_avg"], active["peak_day"]) == (5.0, 7)
    assert {r["key"] for r in body["coverage"]["rows"]} == {"towns", "villages", "poor_villages"}
    assert body["training_progress"]["total"]["target"] == 6130


async def test_summary_input_is_checked(client, admin, consumer):
    assert (await consumer.get(f"{S}/summary")).status_code == 403
    assert (await client.get(f"{S}/summary")).status_code == 401
    for params, field in (({"from": "2026-02-30"}, "from"), ({"from": "2026-03-01", "to": "2026-02-01"}, "to"),
                          ({"from": "1000-01-01", "to": "1000-01-02"}, "from"), ({"to": "9" * 30}, "to"),
                          ({"from": "2026-01-01\x00"}, "from"), ({"from": "1990-01-01", "to": "2026-01-01"}, "to")):
        r = await admin.get(f"{S}/summary", params=params)
        assert 400 <= r.status_code < 500, (params, r.text)
        assert field in r.text, (params, r.text)
    r = await admin.get(f"{S}/summary")  # default: this year so far
    assert r.status_code == 200 and r.json()["from"].endswith("-01-01")


async def test_exports_csv_and_xlsx(admin):
    from openpyxl import load_workbook

    day = unique_day()
    await _stat(day, "town", "=HYPERLINK(\"x\")", gmv_fen=5000, orders=1, label="=HYPERLINK(\"x\")")
    await _stat(day, "sales", "all", gmv_fen=5000, orders=1)
    q = {"from": day.isoformat(), "to": day.isoformat()}
    r = await admin.get(f"{S}/export/town", params={**q, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("key,label,orders")
    assert "'=HYPERLINK" in text  # never a live formula in a spreadsheet
    r = await admin.get(f"{S}/export/daily", params={**q, "format": "csv"})
    assert r.content.decode("utf-8-sig").splitlines()[1].startswith(day.isoformat() + ",1,5000")
    r = await admin.get(f"{S}/export/all", params=q)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert {"总览与目标", "按产地乡镇", "服务站覆盖率", "培训目标进度", "每日"} <= set(wb.sheetnames)
    sheet = wb["总览与目标"]
    assert [c.value for c in sheet[2]][:3] == ["key", "label", "orders"]
    assert sheet[3][0].value == "sales" and sheet[3][4].value == 5000
    assert (await admin.get(f"{S}/export/nope", params=q)).status_code == 404
    assert (await admin.get(f"{S}/export/all", params={**q, "format": "csv"})).status_code == 404
    assert (await admin.get(f"{S}/export/town", params={**q, "format": "pdf"})).status_code == 422


async def test_rollup_rerun_through_the_worker(admin):
    from server.models.stats import StatDaily

    w = await make_world()
    day = unique_day()
    # A past day is needed (no future days): use one long ago that nobody else writes to.
    day = day.replace(year=2003)
    await paid_order(w, at(day, 11), [("pear", 3)])
    r = await admin.post(f"{S}/rollups", json={"from": day.isoformat(), "to": day.isoformat()})
    assert r.status_code == 202 and r.json() == {"days": 1}

    async def done():
        return await StatDaily.filter(day=day, dimension="farm", key="all").first()

    row = await wait_for(done, timeout=10)
    assert row is not None and row.gmv_fen == 9000
    assert (await admin.post(f"{S}/rollups", json={"from": "2003-01-01", "to": "2004-12-31"})).status_code == 422
    assert (await admin.post(f"{S}/rollups", json={"from": "2099-01-01", "to": "2099-01-02"})).status_code == 422
    assert (await admin.post(f"{S}/rollups", json={"from": "2003-01-01", "to": "2003-01-01",
                                                    "x": 1})).status_code == 422


async def test_screen_access_admin_or_revocable_token(client, admin, consumer):
    # No credential: the page says what is needed, the data is refused.
    r = await client.get("/screen")
    assert r.status_code == 401 and "大屏令牌" in r.text
    assert (await client.get("/screen/data")).status_code == 401
    assert (await consumer.get("/screen/data")).status_code == 401
    assert (await client.get("/screen", params={"token": "scr_forged"})).status_code == 401
    # An admin's login works as a header.
    r = await admin.get("/screen/data")
    assert r.status_code == 200 and "gmv_fen" in r.json()["today"]
    # A screen token: minted by an admin, shown once, taken from ?token= into an HttpOnly cookie.
    r = await admin.post(f"{S}/screen-tokens", json={"name": "县服务中心大厅"})
    assert r.status_code == 201
    minted = r.json()
    assert (await consumer.post(f"{S}/screen-tokens", json={"name": "x"})).status_code == 403
    import httpx

    async with httpx.AsyncClient(base_url=str(client.base_url)) as hall:
        r = await hall.get("/screen", params={"token": minted["token"]})
        assert r.status_code == 302 and r.headers["location"] == "/screen"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/screen" in cookie and "SameSite=Strict" in cookie
        r = await hall.get("/screen")
        assert r.status_code == 200 and "今日网络交易额" in r.text
        assert "Content-Security-Policy" in r.headers
        assert (await hall.get("/screen/data")).status_code == 200
        listed = (await admin.get(f"{S}/screen-tokens")).json()
        mine = next(t for t in listed if t["id"] == minted["id"])
        assert "token" not in mine and mine["last_used_at"]
        r = await admin.delete(f"{S}/screen-tokens/{minted['id']}")
        assert r.status_code == 200 and r.json()["revoked_at"]
        assert (await hall.get("/screen/data")).status_code == 401
        assert (await hall.get("/screen")).status_code == 401
    assert (await admin.delete(f"{S}/screen-tokens/999999999")).status_code == 404


async def test_screen_figures_follow_a_real_payment(client, admin):
    """Checkout and WeChat Pay (simulator) through the real path: today's figures include the order."""
    from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body

    from server.kit import redis as kr

    buyer = await login(client)
    sku = await make_sku(price=4321, stock=10)
    station = await make_station()
    before = (await admin.get("/screen/data")).json()["today"]
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2)))
    assert r.status_code in (200, 201), r.text
    await pay_and_notify(buyer, r.json()["id"])
    await kr.redis().delete(kr.key("stats", "screen", "today"))  # not waiting out the 2 s cache here

    async def grown():
        now = (await admin.get("/screen/data")).json()["today"]
        return now if now["gmv_fen"] >= before["gmv_fen"] + 8642 else None

    after = await wait_for(grown, timeout=10)
    assert after is not None and after["orders"] >= before["orders"] + 1
    assert any(p["product_id"] == sku.product_id for p in after["top_products"])


async def test_screen_lists_sessions_on_air_with_their_sales(admin):
    from server.kit import clock
    from server.kit import redis as kr
    from server.models.live import LiveRoom, LiveSession, LivestreamerProfile

    w = await make_world()
    await LivestreamerProfile.create(user=w["buyer"], display_name="果园阿强" + w["sx"])
    room = await LiveRoom.create(owner=w["buyer"], title="直播间" + w["sx"])
    sess = await LiveSession.create(room=room, livestreamer=w["buyer"], title="南果梨专场" + w["sx"],
                                    scheduled_at=clock.now(), status="live", stream_name="st-air-" + w["sx"],
                                    started_at=clock.now())
    try:
        await paid_order(w, clock.now(), [("pear", 2)], live_session_id=sess.id, livestreamer_id=w["buyer"].id)
        await kr.redis().delete(kr.key("stats", "screen", "today"))
        today = (await admin.get("/screen/data")).json()["today"]
        on_air = next(s for s in today["live_on_air"] if s["id"] == sess.id)
        assert on_air["livestreamer"] == "果园阿强" + w["sx"] and on_air["gmv_fen"] == 6000
        assert today["live_gmv_fen"] >= 6000
    finally:
        await LiveSession.filter(id=sess.id).update(status="ended", ended_at=clock.now())


async def test_an_unknown_poor_village_total_gives_no_percent_and_is_never_met(admin, monkeypatch):
    """KAZUO_STATS_POOR_VILLAGES_TOTAL=0 (the county list not set): no percent and never "met", on the
    API, the exports and the big screen; with the total set, the percent is against it."""
    from openpyxl import load_workbook

    from server.kit import runtime

    await make_world()  # a poor village with a station
    monkeypatch.setattr(runtime.settings(), "stats_poor_villages_total", 0)
    body = (await admin.get(f"{S}/coverage")).json()
    poor = next(r for r in body["rows"] if r["key"] == "poor_villages")
    assert poor["covered"] >= 1 and poor["total"] is None and poor["percent"] is None and poor["met"] is False
    assert body["poor_villages_total_known"] is False
    day = unique_day()
    q = {"from": day.isoformat(), "to": day.isoformat()}
    text = (await admin.get(f"{S}/export/coverage", params={**q, "format": "csv"})).content.decode("utf-8-sig")
    line = next(x for x in text.splitlines() if x.startswith("poor_villages,"))
    assert line.split(",")[3:] == ["", "", "100", "False"], line
    wb = load_workbook(io.BytesIO((await admin.get(f"{S}/export/coverage", params=q)).content))
    row = next(r for r in wb["服务站覆盖率"].iter_rows(values_only=True) if r[0] == "poor_villages")
    assert row[4] in (None, "") and row[6] is False
    screen = (await admin.get("/screen/data")).json()
    cov = {c["key"]: c for c in screen["coverage"]}
    assert cov["poor_villages"]["percent"] is None and cov["poor_villages"]["met"] is False
    monkeypatch.setattr(runtime.settings(), "stats_poor_villages_total", 100_000)
    poor = next(r for r in (await admin.get(f"{S}/coverage")).json()["rows"] if r["key"] == "poor_villages")
    assert poor["total"] == 100_000 and poor["percent"] == round(poor["covered"] * 100 / 100_000, 1)
    assert poor["met"] is False


async def test_the_screen_has_two_years_of_monthly_trend(admin):
    from server.kit import clock
    from server.stats import service as stats

    today = clock.local_today()
    months = await stats.monthly_series(today, 24)
    assert len(months) == 24 and months[-1]["month"] == today.strftime("%Y-%m")
    assert [m["month"] for m in months] == sorted({m["month"] for m in months})
    # A month of its own: its sum is what was written there.
    day = unique_month().replace(day=10)
    await _stat(day, "sales", "all", gmv_fen=7000, orders=2)
    await _stat(day.replace(day=1), "sales", "all", gmv_fen=3000, orders=1)
    got = {m["month"]: m for m in await stats.monthly_series(day, 3)}
    assert got[day.strftime("%Y-%m")]["gmv_fen"] >= 10_000
