"""The collection pages in headless Chromium: at 360×640 a station records a collection and scans it
off to the town; the warehouse scans its arrival and receives it (a difference with its reason); the
office reads the 农产品上行 figures — no console errors, no request anywhere else."""
from __future__ import annotations

import os

import pytest

from server.models.catalog import Sku
from server.models.collection import Collection
from tests.catalog.conftest import png_bytes
from tests.collection.conftest import scan
from tests.console.conftest import operator
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def _text_has(page, selector: str, text: str) -> bool:
    return await page.is_visible(selector) and text in await page.inner_text(selector)


async def _signed_in(browser, client, base: str, phone: str, **viewport):
    ctx = await browser.new_context(viewport=viewport or {"width": 1366, "height": 768}, locale="zh-CN")
    page = await ctx.new_page()
    watch = Watch(page, base)
    await page.goto(base + "/console/login", wait_until="load")
    await _sms_sign_in(page, client, phone)
    return page, watch


async def test_collect_scan_receive_figures_in_chromium(cworld, client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    w = cworld
    base = settings.base_url
    _, st_phone = await operator("station_staff", station_id=w.net.village.id, name="李站长")
    _, wh_phone = await operator("warehouse", name="赵仓管")
    _, of_phone = await operator("admin", name="王主任")
    desk = f"{base}/console/station/{w.net.village.id}"
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, client, base, st_phone, width=360, height=640)
            await page.goto(desk + "/collect", wait_until="load")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            await page.select_option("#collect-form select[name=goods]", f"{w.merchant.id}:{w.sku.id}")
            await page.fill("#collect-form input[name=quantity]", "30")
            await page.fill("#collect-form input[name=weight_kg]", "15.5")
            await page.select_option("#collect-form select[name=grade]", "first")
            await page.fill("#collect-form input[name=plot]", "南梁2号地")
            await page.check("#collect-form input[name=cold_chain]")
            await page.set_input_files("#collect-form input[name=photo]",
                                       files=[{"name": "goods.png", "mimeType": "image/png", "buffer": png_bytes()}])
            async with page.expect_navigation():
                await page.click("#collect-form button[type=submit]")
            assert await page.is_visible("#collect-recorded")
            c = await Collection.get(merchant_id=w.merchant.id)
            assert c.label in await page.inner_text("#collect-recorded") and c.weight_g == 15500 and c.cold_chain
            assert len(c.photos) == 1 and c.photos[0].startswith("collection/")
            assert c.label in await page.inner_text("#collections")
            await page.fill("#collect-scan-form input[name=code]", c.label)
            await page.click("#collect-scan-form button[type=submit]")
            await _until(lambda: _text_has(page, "#collect-scan-result", "已发往上一级"), 10, "the dispatch")
            watch.check()

            # the town scans it in and on (mini-program), the warehouse takes over in its console
            assert (await scan(w.town_staff, c.label, "arrived", w.net.town.id)).status_code == 200
            assert (await scan(w.town_staff, c.label, "dispatched", w.net.town.id)).status_code == 200
            page, watch = await _signed_in(browser, client, base, wh_phone)
            await page.goto(base + "/console/warehouse/collections", wait_until="load")
            await page.fill("#wh-collect-scan input[name=code]", c.label)
            await page.click("#wh-collect-scan button[type=submit]")
            await _until(lambda: _text_has(page, "#wh-collect-result", "已到达县仓"), 10, "the arrival")
            await page.goto(base + "/console/warehouse/collections", wait_until="load")
            row = f'#arrived tr[data-collection="{c.id}"]'
            await page.fill(f"{row} input[name=received_qty]", "29")
            await page.fill(f"{row} input[name=reason]", "一袋受潮")
            async with page.expect_navigation():
                await page.click(f"{row} button[type=submit]")
            assert "一袋受潮" in await page.inner_text("#received")
            assert (await Sku.get(id=w.sku.id)).stock == 29
            watch.check()

            page, watch = await _signed_in(browser, client, base, of_phone)
            await page.goto(base + "/console/statistics/collections", wait_until="load")
            assert w.net.town.town in await page.inner_text("#by-town")
            assert await page.is_visible(f'#by-village tr[data-key="{w.net.village.id}"]')
            watch.check()
        finally:
            await browser.close()
