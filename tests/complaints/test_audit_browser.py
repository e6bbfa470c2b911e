"""#26 audit in headless Chromium: a photo over the limit on the station desk's complaint form and on its
collection form is refused in the page, beside the photo field, before anything is sent (the server's
413 would come as a connection cut mid-upload); a photo within the limit still goes through."""
from __future__ import annotations

import os

import pytest

from server.models.collection import Collection
from server.models.complaints import Complaint
from tests.collection.conftest import household_merchant
from tests.complaints.conftest import png
from tests.console.conftest import operator
from tests.console.test_browser import _browser, _signed_in
from tests.stats.test_screen_browser import CHROMIUM

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


def _big(settings) -> dict:
    data = png() + b"\0" * (settings.media_image_max_bytes + 1024)
    return {"name": "big.png", "mimeType": "image/png", "buffer": data}


async def test_a_too_large_photo_is_refused_beside_the_field(world, client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    w = world
    v1 = w.shop.net.village.id
    _, phone = await operator("station_staff", name="刘站长", station_id=v1)
    household, sku = await household_merchant(v1)
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, phone)
            posts: list[str] = []
            page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
            await page.goto(f"{settings.base_url}/console/station/{v1}/complaints", wait_until="load")
            before = await Complaint.all().count()
            await page.select_option("#file-form select[name=kind]", "delivery")
            await page.fill("#file-form textarea[name=text]", "包裹晚到三天，村民着急")
            await page.fill("#file-form input[name=reporter_phone]", "13700006666")
            await page.set_input_files("#file-form input[name=photos]", files=[_big(settings)])
            await page.click("#file-form button[type=submit]")
            err = page.locator('#file-form em.err[data-field="photos"]')
            await err.wait_for(timeout=5000)
            assert "太大" in await err.inner_text()
            assert posts == [] and await Complaint.all().count() == before
            # a photo within the limit: the message goes, the complaint is filed with it
            await page.set_input_files("#file-form input[name=photos]",
                                       files=[{"name": "a.png", "mimeType": "image/png", "buffer": png()}])
            async with page.expect_navigation():
                await page.click("#file-form button[type=submit]")
            assert "受理编号" in await page.content()
            c = await Complaint.filter(filed_at_station_id=v1).order_by("-id").first()
            assert c is not None and len(c.photos) == 1
            watch.check()

            # the collection form's photo: the same refusal
            posts.clear()
            await page.goto(f"{settings.base_url}/console/station/{v1}/collect", wait_until="load")
            await page.select_option("#collect-form select[name=goods]", f"{household.id}:{sku.id}")
            await page.fill("#collect-form input[name=quantity]", "10")
            await page.fill("#collect-form input[name=weight_kg]", "5")
            await page.set_input_files("#collect-form input[name=photo]", files=[_big(settings)])
            await page.click("#collect-form button[type=submit]")
            err = page.locator('#collect-form em.err[data-field="photo"]')
            await err.wait_for(timeout=5000)
            assert "太大" in await err.inner_text()
            assert posts == [] and not await Collection.filter(merchant_id=household.id).exists()
            watch.check()
        finally:
            await browser.close()
