"""Complaints in headless Chromium: the office acknowledges and resolves a complaint by clicking (the
takedown takes effect), the merchant answers on a phone, and a complaint whose text is a script and an
image with onerror runs nothing on any page it is shown on (the office's, the merchant's, both
stations', the public report form typed back after a refusal). No console errors, no foreign request."""
from __future__ import annotations

import os

import pytest

from tests.console.conftest import operator
from tests.console.test_browser import Watch, _browser, _signed_in, _sms_sign_in
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")

EVIL = '<script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2;alert(2)">霉变'


def _guard(page) -> list[str]:
    """Alerts a script would raise (our own confirm dialogs are accepted, not counted)."""
    alerts: list[str] = []

    async def on_dialog(d):
        if d.type == "confirm":
            await d.accept()
        else:
            alerts.append(d.message)
            await d.dismiss()

    page.on("dialog", on_dialog)
    return alerts


async def _clean(page, alerts, where: str):
    assert alerts == [], where
    assert await page.evaluate("window.__pwned === undefined"), where
    assert await page.locator("img[src='x']").count() == 0, where


async def test_office_resolves_and_no_script_runs_anywhere(world, client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.models.catalog import Product

    w = world
    v1, v2 = w.shop.net.village.id, w.shop.net.village2.id
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality", "text": EVIL,
                                                            "product_id": w.shop.skus[0].product_id})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await w.staff.post(f"/api/v1/station/{v1}/complaints",
                           json={"kind": "station", "text": EVIL, "reporter_phone": "13700002468",
                                 "reporter_name": "<b>王</b>", "about_station_id": v2})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    _, admin_phone = await operator("admin", name="王主任")
    _, mer_phone = await operator("merchant", name="王秀兰", merchant_id=w.shop.merchant.id)
    _, st1_phone = await operator("station_staff", name="刘站长", station_id=v1)
    _, st2_phone = await operator("station_staff", name="周站长", station_id=v2)
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            # the office: the queue, the complaint, acknowledge and resolve by clicking
            page, watch = await _signed_in(browser, settings, client, admin_phone)
            alerts = _guard(page)
            await page.goto(settings.base_url + "/console/complaints", wait_until="load")
            await page.click(f"[data-complaint='{cid}'] a")
            await page.wait_for_load_state("load")
            assert "霉变" in await page.inner_text("#complaint-text")
            await _clean(page, alerts, "office detail")
            await page.click("#acknowledge")
            await _until(lambda: page.is_visible(".flash.ok"), 10, "acknowledged")
            assert "处理中" in await page.inner_text("#complaint-status")
            await page.select_option("#resolve-form select[name=outcome]", "takedown")
            await page.fill("#resolve-form textarea[name=note]", "抽检霉变，下架处理")
            await page.click("#resolve-form button[type=submit]")
            await _until(lambda: page.is_visible("#complaint-outcome"), 10, "resolved")
            assert "涉事商品已下架" in await page.inner_text("#complaint-outcome")
            assert (await Product.get(id=w.shop.skus[0].product_id)).status == "off_shelf"
            await page.goto(settings.base_url + f"/console/complaints/{sid}", wait_until="load")
            await _clean(page, alerts, "office, station's complaint")
            watch.check()
            await page.close()
            # the merchant on a phone answers
            ctx = await browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", is_mobile=True)
            page = await ctx.new_page()
            watch = Watch(page, settings.base_url)
            alerts = _guard(page)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, mer_phone)
            await page.goto(settings.base_url + f"/console/shop/complaints/{cid}", wait_until="load")
            assert "霉变" in await page.inner_text("#complaint-text")
            await _clean(page, alerts, "merchant")
            await ctx.close()
            # both stations
            for phone, url in ((st1_phone, f"/console/station/{v1}/complaints/{sid}"),
                               (st2_phone, f"/console/station/{v2}/complaints/{sid}")):
                page, watch = await _signed_in(browser, settings, client, phone)
                alerts = _guard(page)
                await page.goto(settings.base_url + url, wait_until="load")
                assert "霉变" in await page.inner_text("#complaint-text")
                await _clean(page, alerts, url)
                if url.startswith(f"/console/station/{v2}/"):
                    await page.fill("#answer-form textarea[name=text]", "已向村民道歉 <i>抱歉</i>")
                    await page.click("#answer-form button[type=submit]")
                    await _until(lambda: page.is_visible(".flash.ok"), 10, "the answer")
                    assert "<i>抱歉</i>" in await page.inner_text("#complaint-answer")
                await page.goto(settings.base_url + url.rsplit("/", 1)[0], wait_until="load")
                await _clean(page, alerts, url + " list")
                watch.check()
                await page.close()
            # the public report form, typed back after a refusal (a bad phone)
            page = await browser.new_page(viewport={"width": 360, "height": 640}, locale="zh-CN")
            alerts = _guard(page)
            await page.goto(settings.base_url + f"/report/{w.item_code}", wait_until="load")
            await page.fill("#text", EVIL)
            await page.fill("#phone", "12")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert await page.is_visible("[data-field=phone]")
            assert "霉变" in await page.input_value("#text")
            await _clean(page, alerts, "report form")
            await page.fill("#phone", "")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert "受理编号" in await page.inner_text("#filed")
            await _clean(page, alerts, "report filed")
            await page.close()
        finally:
            await browser.close()


async def test_complaint_gaps_by_clicking(world, client, settings, app):
    """The merchant's home shows the open complaint and leads to it; the station pages its list by
    clicking 下一页; the office's CSV link downloads the figures."""
    playwright = pytest.importorskip("playwright.async_api")
    w = world
    v1 = w.shop.net.village.id
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "quality",
                                                            "text": "小米有霉味，请处理"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    for i in range(21):
        r = await w.staff.post(f"/api/v1/station/{v1}/complaints",
                               json={"kind": "delivery", "text": f"第{i}件：送货慢", "reporter_phone": "13700001357"})
        assert r.status_code == 201, r.text
    _, mer_phone = await operator("merchant", name="王秀兰", merchant_id=w.shop.merchant.id)
    _, st_phone = await operator("station_staff", name="刘站长", station_id=v1)
    _, admin_phone = await operator("admin", name="王主任")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, mer_phone)
            await page.goto(settings.base_url + "/console/shop/", wait_until="load")
            assert await page.is_visible("#complaints-waiting")
            await page.click("#complaints-waiting a")
            await page.wait_for_load_state("load")
            assert await page.locator(f"[data-complaint='{cid}']").count() == 1
            watch.check()

            page, watch = await _signed_in(browser, settings, client, st_phone)
            await page.goto(f"{settings.base_url}/console/station/{v1}/complaints", wait_until="load")
            assert await page.locator("#filed li[data-complaint]").count() == 20
            await page.click("#filed-pager a.next")
            await page.wait_for_load_state("load")
            assert await page.locator("#filed li[data-complaint]").count() == 1
            assert await page.is_visible("#filed-pager a:has-text('第一页')")
            watch.check()

            page, watch = await _signed_in(browser, settings, client, admin_phone)
            await page.goto(settings.base_url + "/console/complaints", wait_until="load")
            async with page.expect_download() as got:
                await page.click("#figures-csv")
            download = await got.value
            body = open(await download.path(), encoding="utf-8-sig").read()
            assert body.startswith("分组,项目,数值") and "投诉总数" in body
            watch.check()
        finally:
            await browser.close()
