"""The #26 gaps in headless Chromium: at 360×640 a station scans a collection label on its 扫码收发 tab
(the collection path, not a parcel's refusal). No console errors, no request anywhere else."""
from __future__ import annotations

import os

import pytest

from server.models.collection import Collection
from tests.collection.conftest import collect
from tests.collection.test_console_browser import _signed_in, _text_has
from tests.console.conftest import operator
from tests.console.test_browser import _browser
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def test_collection_label_on_the_scan_tab_in_chromium(cworld, client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    w = cworld
    c = await collect(w)
    _, st_phone = await operator("station_staff", station_id=w.net.village.id, name="李站长")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, client, settings.base_url, st_phone, width=360, height=640)
            await page.goto(f"{settings.base_url}/console/station/{w.net.village.id}/scan", wait_until="load")
            await page.check("#st-scan-form input[name=kind][value=dispatched]")
            await page.fill("#st-scan-form input[name=code]", "KZC:" + c["label"])
            await page.click("#st-scan-form button[type=submit]")
            await _until(lambda: _text_has(page, "#st-scan-result", "已发往上一级"), 10, "the collection's dispatch")
            assert c["label"] in await page.inner_text("#st-scan-result")
            assert (await Collection.get(id=c["id"])).status == "in_transit"
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            watch.check()
        finally:
            await browser.close()
