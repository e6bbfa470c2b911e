"""The warehouse and station desks in headless Chromium: a wave picked by typing codes + Enter as a
USB scanner does (a wrong code refused on the spot, a session that expires mid-pick keeps the unsent
scan and counts it once after signing in again), packed, its label printed to PDF at 100×150 mm, and
dispatched; at 360×640 a station scans the parcel in, verifies the pickup code, hands over, and a wrong
code shows the lockout after the limit — no console errors, no page wider than the screen."""
from __future__ import annotations

import asyncio
import os
import re
from urllib.parse import unquote

import pytest

from server.models.accounts import User
from server.models.catalog import Sku
from server.models.fulfillment import Parcel, PickRecord, TaskLine
from server.models.pickup import Pickup
from tests.conftest import login
from tests.console import desk_world as w
from tests.console.conftest import operator
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def _scan(page, selector: str, code: str):
    """What a USB scanner does: the code typed into the focused field, then Enter."""
    await page.click(selector)
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")


async def _wide(page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth")


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(m[2]) - float(m[0]), float(m[3]) - float(m[1]))
            for m in re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]


async def test_wave_picked_by_scanner_packed_labelled_dispatched(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.kit import sessions

    buyer = await login(client)
    d = await w.desk(buyer.id)
    uid, phone = await operator("warehouse", name="赵仓管")
    base = settings.base_url
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            page = await context.new_page()
            watch = Watch(page, base)
            await page.goto(base + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            assert page.url == base + "/console/warehouse"   # the warehouse's home is its desk
            # the home page's field opens the wave's pick list from its code
            await _scan(page, "#go-form input[name=code]", f"W:{d.wave_key}")
            await page.wait_for_url(f"**/console/warehouse/waves/{d.wave_key}")
            assert await page.evaluate("document.activeElement.id") == "scan-code"   # ready for the scanner
            await _scan(page, "#scan-code", d.batches[0])
            await _until(lambda: page.is_visible("#scan-result [data-result=ok]"), 10, "the first pick")
            assert "1 / 2" in await page.inner_text("#scan-result")
            # a wrong batch: refused on the spot, high contrast, nothing written
            await _scan(page, "#scan-code", d.stray)
            await _until(lambda: page.is_visible("#scan-result .scan-bad"), 10, "the refusal")
            assert "拿错货了" in await page.inner_text("#scan-result")
            colour = await page.eval_on_selector("#scan-result .scan-bad", "e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(176, 0, 32)"
            # a slow network: two scans typed quickly one after the other are both written, once each
            async def slow(route):
                await asyncio.sleep(0.8)
                await route.continue_()

            await page.route("**/console/warehouse/pick", slow)
            await _scan(page, "#scan-code", d.batches[0])
            await _scan(page, "#scan-code", d.batches[1])
            assert await page.input_value("#scan-code") == ""   # free for the next scan at once
            await _until(lambda: _count(d.task_id, 3), 10, "three picks")
            await page.unroute("**/console/warehouse/pick")
            await _until(lambda: _has(page, "#scan-result", d.batches[1]), 10, "the last answer shown")
            assert await PickRecord.filter(line__task_id=d.task_id).count() == 3
            # the session ends mid-pick: the unsent scan is kept, and counted once after signing in
            cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
            await sessions.destroy(cookies["kz_console"])
            await _scan(page, "#scan-code", d.item_code)
            await page.wait_for_url("**/console/login**")
            assert "登录已过期" in await page.inner_text("main")
            # signed in again (a fresh session, as the sign-in page makes; one SMS a minute per phone)
            nxt = page.url.split("next=")[1]
            user = await User.get(id=uid)
            sid = await sessions.create(uid, user.token_version)
            await page.context.add_cookies([{"name": sessions.COOKIE, "value": sid, "url": base + "/"}])
            await page.goto(base + unquote(nxt), wait_until="load")
            assert page.url == base + f"/console/warehouse/waves/{d.wave_key}"
            assert await page.is_visible("#scan-kept") and d.item_code in await page.inner_text("#scan-kept")
            assert await page.input_value("#scan-code") == d.item_code
            assert "<b>2</b> / 2" in await page.inner_html(f"[data-progress='{d.skus[0].id}']")   # from the server
            await page.press("#scan-code", "Enter")
            await _until(lambda: page.is_visible("#scan-result [data-result=ok]"), 10, "the kept scan")
            assert await PickRecord.filter(line__task_id=d.task_id, trace_code=d.item_code).count() == 1
            assert "2 / 2" in await page.inner_text(f"[data-progress='{d.skus[1].id}']")
            # pack: weigh and pack, then print the label at 100×150 mm
            await page.fill(f"[data-task='{d.task_id}'] input[name=weight_g]", "1500")
            await page.click(f"[data-task='{d.task_id}'] .pack-form button")
            await _until(lambda: page.is_visible(f"#packed-{d.task_id} .label-link"), 10, "the parcel")
            parcel = await Parcel.get(task_id=d.task_id)
            label = await context.new_page()
            label_watch = Watch(label, base)
            await label.goto(base + f"/console/warehouse/parcels/{parcel.id}/label", wait_until="load")
            assert parcel.label in await label.inner_text("#label")
            pdf = await label.pdf(prefer_css_page_size=True, print_background=True)
            pages = _pdf_pages(pdf)
            assert pages and all(abs(wd - 283.46) < 1.5 and abs(ht - 425.2) < 1.5 for wd, ht in pages), pages
            assert len(pages) == 1   # the whole label on one sheet
            label_watch.check()
            # dispatch: scan the label at the loading dock
            await page.goto(base + "/console/warehouse/dispatch", wait_until="load")
            assert parcel.label in await page.inner_text("#dispatch-board")
            await _scan(page, "#dispatch-form input[name=code]", f"KZP:{parcel.label}")
            await _until(lambda: page.is_visible("#dispatch-msg.scan-ok"), 10, "the dispatch")
            assert (await Parcel.get(id=parcel.id)).status == "in_transit"
            await _scan(page, "#dispatch-form input[name=code]", parcel.label)
            await _until(lambda: _has(page, "#dispatch-msg", "重复扫描"), 10, "the second scan")
            assert await _wide(page) <= 1366
            # the stock, reached from the header, and a SKU's journal: what shipping the parcel did
            async with page.expect_navigation():
                await page.click("nav.nav a[href='/console/warehouse/stock']")
            sku_id = (await TaskLine.filter(task_id=parcel.task_id).first()).sku_id
            merchant_id = (await Sku.filter(id=sku_id).values("product__merchant_id"))[0]["product__merchant_id"]
            await page.fill("input[name=merchant]", str(merchant_id))
            async with page.expect_navigation():
                await page.click("form.filters button")
            async with page.expect_navigation():
                await page.click(f"tr[data-sku='{sku_id}'] a")
            assert "库存流水" in await page.inner_text("h1")
            assert await page.locator("#stock-moves td[data-reason=ship]").count() >= 1
            assert await _wide(page) <= 1366
            watch.check()
        finally:
            await browser.close()


async def _count(task_id: int, n: int) -> bool:
    return await PickRecord.filter(line__task_id=task_id).count() == n


async def _has(page, selector: str, text: str) -> bool:
    return await page.is_visible(selector) and text in await page.inner_text(selector)


async def test_station_at_360_scans_in_verifies_and_locks_out(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.kit import runtime

    buyer = await login(client)
    d = await w.desk(buyer.id)
    parcel = await w.pick_and_pack(d)
    await w.to_village(d, parcel)
    _, phone = await operator("station_staff", station_id=d.net.village.id, name="李站长")
    base = settings.base_url
    desk = f"{base}/console/station/{d.net.village.id}"
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            ctx = await browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", has_touch=True,
                                            is_mobile=True, device_scale_factor=2)
            page = await ctx.new_page()
            watch = Watch(page, base)
            await page.goto(base + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            assert page.url == desk
            assert parcel.label in await page.inner_text("#arriving")
            for path in ("", "/scan", "/verify", "/assisted", "/consign"):
                await page.goto(desk + path, wait_until="load")
                assert await _wide(page) <= 360, path
            # the parcel scanned in: arrived and shelved, the buyer gets the code
            await page.goto(desk + "/scan", wait_until="load")
            await _scan(page, "#st-scan-form input[name=code]", f"KZP:{parcel.label}")
            await _until(lambda: page.is_visible("#st-scan-result .st-outcome.green"), 10, "the arrival")
            assert "已上架待取" in await page.inner_text("#st-scan-result")
            code = (await Pickup.get(order_id=d.order.id)).code
            # verify by the 8-digit code: green, with what to hand over
            await page.goto(desk + "/verify", wait_until="load")
            box = await page.locator("#verify-btn").bounding_box()
            assert box["height"] >= 44 and box["width"] >= 300   # a thumb's target
            await _scan(page, "#verify-form input[name=code]", code)
            await _until(lambda: page.is_visible("#verify-result .st-outcome.green"), 10, "the hand-over")
            text = await page.inner_text("#verify-result")
            assert "核销成功" in text and f"{d.skus[0].spec} × 2" in text
            assert (await Pickup.get(order_id=d.order.id)).status == "picked_up"
            assert await page.input_value("#verify-form input[name=code]") == ""   # ready for the next
            # wrong codes: red with the reason, then the lockout explained
            limit = runtime.settings().pickup_staff_wrong_limit
            wrong = [f"{n:08d}" for n in range(87654321, 87654321 + limit + 1) if f"{n:08d}" != code][:limit]
            for c in wrong:
                await page.evaluate("document.getElementById('verify-result').innerHTML = ''")
                await _scan(page, "#verify-form input[name=code]", c)
                await _until(lambda: _has(page, "#verify-result .st-outcome.red", "提货码不正确"), 10, "a refusal")
            await _scan(page, "#verify-form input[name=code]", wrong[0])
            await _until(lambda: _has(page, "#verify-result", "已暂停核销"), 10, "the lockout")
            assert "防止有人猜码" in await page.inner_text("#verify-result")
            assert await _wide(page) <= 360
            watch.check()
        finally:
            await browser.close()
