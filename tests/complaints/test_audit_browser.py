"""#26 audit in headless Chromium: a photo over the limit on the station desk's complaint form and on its
collection form is refused in the page, beside the photo field, before anything is sent (the server's
413 would come as a connection cut mid-upload); a photo within the limit still goes through."""
from __future__ import annotations

import os

import pytest

from server.kit import redis as kr
from server.models.collection import Collection
from server.models.complaints import Complaint
from tests.collection.conftest import household_merchant
from tests.complaints.conftest import png
from tests.console.conftest import operator
from tests.console.test_browser import _browser, _signed_in
from tests.stats.test_screen_browser import CHROMIUM, _screen_page, _until

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


async def test_the_big_screen_shows_complaints_by_kind_and_town(world, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    w = world
    r = await w.shop.buyer.post("/api/v1/complaints", json={"order_id": w.order.id, "kind": "delivery",
                                                            "text": "包裹晚到三天，没人通知"})
    assert r.status_code == 201, r.text
    await kr.cache_delete(kr.key("stats", "screen", "complaints"))   # the panel is cached for a minute
    token = (await w.admin.post("/api/v1/console/stats/screen-tokens", json={"name": "投诉面板"})).json()["token"]
    data = (await w.admin.get("/screen/data")).json()["complaints"]
    assert data["total"] >= 1 and data["by_kind"] and data["by_town"]
    errors: list[str] = []
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await _screen_page(browser, errors)
            await page.goto(f"{settings.base_url}/screen?token={token}")
            await _until(lambda: _has(page, "#complaint-mix", data["by_kind"][0]["label"]), 15, "the complaint mix")
            mix = await page.inner_text("#complaint-mix")
            assert f'{data["by_kind"][0]["label"]} {data["by_kind"][0]["count"]}' in mix
            assert f'{data["by_town"][0]["town"]} {data["by_town"][0]["count"]}' in mix
            inside = await page.eval_on_selector("#complaint-mix", "e => e.getBoundingClientRect().bottom"
                                                 " <= e.closest('.panel').getBoundingClientRect().bottom + 1")
            assert inside
        finally:
            await browser.close()
    assert errors == []


async def _has(page, selector: str, text: str) -> bool:
    return await page.query_selector(selector) is not None and text in await page.inner_text(selector)
