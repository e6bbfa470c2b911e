"""The web console in a real headless browser (Debian's chromium driven by playwright, as /t/ and
/screen are): sign in by SMS code and by scan, walk every office page, run one full flow per page,
and see no console errors and no request leaving the server."""
from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from tests.catalog.conftest import category, create_product, make_shop, make_station
from server.media import get_storage, key_of
from tests.console.conftest import last_code, new_phone, operator, png
from tests.console.test_office import _application
from tests.console.test_queue_pages import needs_person
from tests.stats.test_screen_browser import ARGS, CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


class Watch:
    """A page's console errors, page errors and requests to anywhere but our server."""

    def __init__(self, page, base_url: str):
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.foreign.append(r.url) if not r.url.startswith(base_url) else None)
        self.refused: list[str] = []   # named in the failure message: a console error "404" says no URL
        page.on("response", lambda r: self.refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def check(self):
        assert self.errors == [], (self.errors, self.refused)
        assert self.foreign == [], self.foreign


async def _browser(pw):
    return await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


async def _desk(browser, settings):
    """A page at a 1366x768 desk, and what it logs."""
    page = await browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    return page, Watch(page, settings.base_url)


async def _signed_in(browser, settings, client, phone: str):
    """A desk page signed in by SMS code, and what it logs."""
    page, watch = await _desk(browser, settings)
    await page.goto(settings.base_url + "/console/login", wait_until="load")
    await _sms_sign_in(page, client, phone)
    return page, watch


async def _sms_sign_in(page, client, phone: str):
    await page.fill("input[name=phone]", phone)
    await page.click("#send-code")
    await _until(lambda: page.is_visible("#code-msg .flash.ok"), 10, "the code to be sent")
    assert "验证码已发送" in await page.inner_text("#code-msg")
    assert await page.is_disabled("#send-code")   # counting down to the next send
    await page.fill("input[name=code]", await last_code(client, phone))
    async with page.expect_navigation():
        await page.click("#login-form button[type=submit]")


async def test_office_walk_and_flows_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    _, phone = await operator("admin", name="王主任")
    name = "喀左紫砂" + secrets.token_hex(2)
    mid = await _application(name)
    cat = await category()
    shop = await make_shop(client)
    product = await create_product(shop, cat, name="喀左小米" + secrets.token_hex(2))
    await shop.member.post(f"/api/v1/merchant/products/{product['id']}/submit")
    await get_storage().save(key_of(product["images"][0]), png(40, 30), "image/png")  # the review page shows it
    station = await make_station()
    order_no, upload_id = await needs_person(client)
    _, teacher_phone = await operator(None, name="孙老师")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _desk(browser, settings)
            await page.goto(settings.base_url + "/console/merchants", wait_until="load")
            assert page.url.startswith(settings.base_url + "/console/login")   # not signed in yet
            await _until(lambda: page.is_visible("#scan img"), 10, "the scan code")
            await _sms_sign_in(page, client, phone)
            assert page.url == settings.base_url + "/console/merchants"   # back where we were going
            # 首页: the queues, each a link; fits a 1366 px desk without sideways scrolling
            await page.goto(settings.base_url + "/console/", wait_until="load")
            assert "今日待办" in await page.inner_text("main")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
            # 商户: approve the application and see it leave the queue
            await page.click("[data-queue=merchant_applications]")
            await page.fill("input[name=q]", name)
            async with page.expect_navigation():
                await page.click("form.filters button[type=submit]")
            async with page.expect_navigation():
                await page.click(f"[data-merchant='{mid}'] a")
            await page.click("#approve")
            await _until(lambda: page.is_visible(".flash.ok"), 10, "the approval")
            assert "已通过入驻申请" in await page.inner_text("#detail")
            assert await page.inner_text("#merchant-status") == "正常"
            await page.goto(settings.base_url + f"/console/merchants?status=pending&q={name}", wait_until="load")
            assert await page.locator(f"[data-merchant='{mid}']").count() == 0
            assert "没有符合条件的商户" in await page.inner_text("main")
            # 商品审核: an empty reason is refused beside its field, then a real one rejects
            await page.goto(settings.base_url + "/console/reviews?kind=listing", wait_until="load")
            await page.fill("form.filters input[name=q]", product["name"])
            async with page.expect_navigation():
                await page.click("form.filters button[type=submit]")
            async with page.expect_navigation():
                await page.click(f"text={product['name']}")
            page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            await page.click("form[hx-post$='/reject'] button")
            await _until(lambda: page.is_visible("em.err[data-field=reason]"), 10, "the reason error")
            await page.fill("textarea[name=reason]", "图片与实物不符")
            await page.click("form[hx-post$='/reject'] button")
            await _until(lambda: page.is_visible(".flash.ok"), 10, "the rejection")
            assert await page.inner_text("#review-status") == "已驳回"
            # 用户与角色: create an operator, then grant station staff by station code
            await page.goto(settings.base_url + "/console/users", wait_until="load")
            op_phone = new_phone()
            await page.fill("#operator-form input[name=name]", "刘站长")
            await page.fill("#operator-form input[name=phone]", op_phone)
            async with page.expect_navigation():
                await page.click("#operator-form button")
            assert "刘站长" in await page.inner_text("h1")
            from server.models.stations import Station

            await page.select_option("#grant-form select[name=role]", "station_staff")
            await page.fill("#grant-form input[name=station]", (await Station.get(id=station)).code)
            await page.click("#grant-form button")
            await _until(lambda: page.is_visible(".flash.ok"), 10, "the grant")
            assert "服务站工作人员" in await page.inner_text("#grants")
            # 审计日志: the actions above, with where they came from
            await page.goto(settings.base_url + "/console/audit?action=merchant.", wait_until="load")
            body = await page.inner_text("main")
            assert "merchant.approve" in body and "127.0.0.1" in body
            await page.goto(settings.base_url + "/console/audit?since=bad", wait_until="load")
            assert await page.is_visible("em.err[data-field=since]")
            # 服务站 and 类目与品牌: the pages render; a category made through the form appears
            await page.goto(settings.base_url + "/console/stations", wait_until="load")
            assert "新建服务站" in await page.inner_text("main")
            await page.goto(settings.base_url + "/console/taxonomy", wait_until="load")
            slug = "b" + secrets.token_hex(3)
            await page.fill("#category-form input[name=name]", "山野菜")
            await page.fill("#category-form input[name=slug]", slug)
            await page.click("#category-form button")
            await _until(lambda: page.is_visible(f"[data-category='{slug}']"), 10, "the new category")
            assert "已新建类目“山野菜”" in await page.inner_text("#detail")
            # the desk's smaller queues render
            for path in ("/console/refunds", "/console/station-alerts", "/console/sla-breaches"):
                await page.goto(settings.base_url + path, wait_until="load")
                assert await page.is_visible("h1")
            # 发货信息上传: from the desk's tile, settle one WeChat refused, with a note
            await page.goto(settings.base_url + "/console/", wait_until="load")
            async with page.expect_navigation():
                await page.click("[data-queue=shipping_uploads_late]")
            row = f"[data-upload='{upload_id}']"
            assert order_no in await page.inner_text(row)
            await page.fill(f"{row} input[name=note]", "已在微信后台手动录入")
            await page.click(f"{row} button[value=done]")
            await _until(lambda: page.is_visible(f"{row} .flash.ok"), 10, "the upload settled")
            assert "已人工处理" in await page.inner_text(row)
            # 电商培训: a course made through the form; the archive page renders
            await page.goto(settings.base_url + "/console/training", wait_until="load")
            await page.fill("#course-form input[name=name]", "直播带货人才班（浏览器）")
            async with page.expect_navigation():
                await page.click("#course-form button")
            assert "直播带货人才班（浏览器）" in await page.inner_text("#courses")
            # 讲师: a certified lecturer registered by phone; a missing certificate number is named first
            async with page.expect_navigation():
                await page.click("#lecturers-link")
            await page.fill("#lecturer-form input[name=user]", teacher_phone)
            await page.fill("#lecturer-form input[name=name]", "孙老师")
            await page.select_option("#lecturer-form select[name=qualification_kind]", "certification")
            await page.fill("#lecturer-form input[name=certificate_name]", "电子商务师")
            async with page.expect_navigation():
                await page.click("#lecturer-form button")
            assert await page.is_visible("em.err[data-field=certificate_no]")
            assert await page.input_value("#lecturer-form input[name=certificate_name]") == "电子商务师"
            await page.fill("#lecturer-form input[name=certificate_no]", "DS-001")
            async with page.expect_navigation():
                await page.click("#lecturer-form button")
            assert "已登记讲师" in await page.inner_text("main") and "孙老师" in await page.inner_text("h1")
            await page.goto(settings.base_url + "/console/training/archive", wait_until="load")
            assert "培训档案完整性" in await page.inner_text("h1")
            # 质量追溯: the batch list and the counterfeit flags render
            await page.goto(settings.base_url + "/console/trace", wait_until="load")
            assert "质量追溯" in await page.inner_text("h1")
            await page.goto(settings.base_url + "/console/trace/flags", wait_until="load")
            assert "疑似假冒" in await page.inner_text("h1")
            # 数据统计: an export link downloads with the session cookie alone
            await page.goto(settings.base_url + "/console/statistics", wait_until="load")
            assert "目标增幅" in await page.inner_text("#headline")
            async with page.expect_download() as info:
                await page.click("#exports a[href*='export/headline?format=csv']")
            download = await info.value
            path = await download.path()
            assert download.suggested_filename.endswith(".csv") and os.path.getsize(path) > 0
            # sign out
            async with page.expect_navigation():
                await page.click("header form button")
            assert "您已退出登录" in await page.inner_text("main")
            watch.check()
        finally:
            await browser.close()


async def test_scan_sign_in_and_expired_session_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from tests.conftest import login_as

    member = await login_as(client, "admin")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _desk(browser, settings)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            img = await _until(lambda: page.query_selector("#scan img"), 10, "the scan code")
            # the picture arrives after its element (a slow machine showed it half-loaded)
            await _until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 10, "the scan code's picture")
            ticket = (await img.get_attribute("src")).split("/")[4]
            r = await member.post(f"/api/v1/auth/console-scan/{ticket}/confirm")
            assert r.status_code == 200
            await _until(lambda: asyncio.sleep(0, page.url.rstrip("/").endswith("/console")), 10, "the poll to sign in")
            assert "今日待办" in await page.inner_text("main", timeout=10000)
            # the session ends on the server: the next htmx action says so on the login page
            from server.kit import sessions

            cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
            await sessions.destroy(cookies["kz_console"])
            await page.goto(settings.base_url + "/console/users", wait_until="load")
            assert "/console/login" in page.url and "登录已过期" in await page.inner_text("main")
            watch.check()
        finally:
            await browser.close()


async def test_consumer_and_station_staff_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    _, consumer_phone = await operator(None)
    _, staff_phone = await operator("station_staff", station_id=await make_station())
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _desk(browser, settings)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await page.fill("input[name=phone]", consumer_phone)
            await page.click("#send-code")
            await _until(lambda: page.is_visible("#code-msg .flash.ok"), 10, "the code")
            await page.fill("input[name=code]", await last_code(client, consumer_phone))
            await page.click("#login-form button[type=submit]")
            await _until(lambda: page.is_visible("#flash .flash.error"), 10, "the refusal")
            assert "没有后台角色" in await page.inner_text("#flash")
            page2, watch2 = await _desk(browser, settings)
            await page2.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page2, client, staff_phone)
            nav = await page2.inner_text("header")
            for label in ("商户", "商品审核", "用户与角色", "审计日志"):
                assert label not in nav
            assert "/console/station/" in page2.url and "核销提货" in await page2.inner_text("main")
            watch.check()
            assert watch2.errors == [] and watch2.foreign == []
        finally:
            await browser.close()


async def test_station_import_in_chromium(client, settings, app):
    """A 50-row sheet with 3 bad rows: the 3 are reported and nothing is written; fixed, it applies."""
    playwright = pytest.importorskip("playwright.async_api")
    from server.models.stations import Station
    from tests.console.test_station_import import _sheet

    _, phone = await operator("admin")
    prefix = "BR" + secrets.token_hex(2).upper()
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _desk(browser, settings)
            await page.goto(settings.base_url + "/console/stations/import", wait_until="load")
            await _sms_sign_in(page, client, phone)
            await page.set_input_files("#import-form input[type=file]", files=[{
                "name": "站点.csv", "mimeType": "text/csv", "buffer": _sheet(prefix, bad=True).encode("gbk")}])
            await page.click("#import-form button")
            await _until(lambda: page.is_visible("#problems"), 10, "the report")
            rows = await page.eval_on_selector_all("#problems tr[data-row]", "trs => trs.map(t => t.dataset.row)")
            assert sorted(set(rows), key=int) == ["11", "21", "31"]
            assert "有 3 行存在问题" in await page.inner_text("#report")
            assert not await Station.filter(code__startswith=prefix).exists()
            await page.set_input_files("#import-form input[type=file]", files=[{
                "name": "站点.csv", "mimeType": "text/csv", "buffer": _sheet(prefix, bad=False).encode("gbk")}])
            await page.click("#import-form button")
            await _until(lambda: page.is_visible("#apply"), 10, "a clean check")
            await page.click("#apply")
            await _until(lambda: page.is_visible("#report .flash.ok a"), 10, "the import")
            assert "已导入 50 个服务站" in await page.inner_text("#report")
            assert await Station.filter(code__startswith=prefix).count() == 50
            # a 20 MB sheet is refused on the page before it is sent
            await page.set_input_files("#import-form input[type=file]", files=[{
                "name": "big.csv", "mimeType": "text/csv", "buffer": b"x" * (20 * 1024 * 1024)}])
            await page.click("#import-form button")
            await _until(lambda: page.is_visible("#flash .flash.error"), 10, "the size refusal")
            assert "文件太大" in await page.inner_text("#flash")
            # the tree shows the new town and its villages
            await page.goto(settings.base_url + f"/console/stations?q={prefix}-T", wait_until="load")
            async with page.expect_navigation():
                await page.click(f"[data-station='{prefix}-T'] a >> text=下级站点")
            assert await page.locator("tr[data-station]").count() == 48
            watch.check()
        finally:
            await browser.close()


async def test_station_tree_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.models.stations import Station

    prefix = "BT" + secrets.token_hex(2).upper()
    county = await Station.create(code=f"{prefix}-C", name="浏览器县中心", level="county")
    town = await Station.create(code=f"{prefix}-T", name="浏览器镇中心", level="town", parent_id=county.id)
    await Station.create(code=f"{prefix}-V", name="浏览器村站", level="village", parent_id=town.id)
    _, phone = await operator("admin", name="站务员")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, phone)
            await page.goto(settings.base_url + "/console/stations", wait_until="load")
            loads: list[str] = []
            page.on("request", lambda r: loads.append(r.url) if "/children" in r.url else None)
            county_node = f"[data-node='{prefix}-C']"
            assert not await page.is_visible(f"[data-node='{prefix}-T']")
            await page.click(f"{county_node} > details > summary")
            await _until(lambda: page.is_visible(f"[data-node='{prefix}-T']"), 10, "the town under the county")
            await page.click(f"[data-node='{prefix}-T'] > details > summary")
            await _until(lambda: page.is_visible(f"[data-node='{prefix}-V']"), 10, "the village under the town")
            assert await page.locator(f"[data-node='{prefix}-V'] details").count() == 0   # a leaf
            # closing and opening again does not load the branch again
            await page.click(f"{county_node} > details > summary")
            assert not await page.is_visible(f"[data-node='{prefix}-T']")
            await page.click(f"{county_node} > details > summary")
            assert await page.is_visible(f"[data-node='{prefix}-V']")
            assert len(loads) == 2, loads
            # the name opens the station's page
            async with page.expect_navigation():
                await page.click(f"[data-node='{prefix}-V'] a")
            assert page.url.endswith(f"/console/stations/{(await Station.get(code=f'{prefix}-V')).id}")
            watch.check()
        finally:
            await browser.close()
