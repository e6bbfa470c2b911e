"""The merchant's and the livestreamer's workspaces in headless Chromium: a merchant on a 360 px phone
creates a product with photos (a 12 MB photo scaled in the page, a HEIC photo converted by the server, a
non-image refused beside the field) and submits it; a livestreamer creates a session, ties a product,
switches it on air, and the figures change without a reload while a buyer buys through the API. No
console errors, no request leaving the server, no page wider than the screen."""
from __future__ import annotations

import io
import os
import re
import secrets

import pytest
from PIL import Image

from tests.catalog.conftest import category, make_merchant
from tests.conftest import login
from tests.console.conftest import operator
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.console.test_merchant_desk import heic_bytes
from tests.live.conftest import make_goods, make_station
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


def big_photo() -> bytes:
    """A 4000x3000 camera-like JPEG of about 12 MB (noise does not compress)."""
    img = Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


async def _fits(page, width: int, where: str):
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where}: {scroll} px wide at {width} px"


async def test_merchant_creates_a_product_with_photos_on_a_phone(client, settings, app, tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    from server.models.catalog import Product

    mid = await make_merchant()
    _, phone = await operator("merchant", name="王秀兰", merchant_id=mid)
    cat = await category()
    name = "喀左小米" + secrets.token_hex(2)
    big = tmp_path / "IMG_2001.jpg"
    big.write_bytes(big_photo())
    assert big.stat().st_size > 10_000_000
    heic = tmp_path / "IMG_2002.HEIC"
    heic.write_bytes(heic_bytes(640, 480))
    pdf = tmp_path / "发票.pdf"
    pdf.write_bytes(b"%PDF-1.7 not a photo at all")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            ctx = await browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN",
                                            is_mobile=True, has_touch=True)
            page = await ctx.new_page()
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            assert page.url == settings.base_url + "/console/shop/"   # the merchant's own home
            assert "商户工作台" in await page.inner_text("h1")
            await _fits(page, 360, "home")
            await page.click(f"[data-shop='{mid}'] a.btn.primary")
            await page.wait_for_load_state("load")
            await _fits(page, 360, "new product")
            # a non-image: refused beside the field, nothing added
            await page.set_input_files("input[data-photo-upload]", str(pdf))
            await _until(lambda: page.is_visible(".photo-error"), 10, "the refusal")
            assert "这不是照片" in await page.inner_text(".photo-error")
            assert await page.locator("#photos li").count() == 0
            # a 12 MB photo: scaled in the page to 2048 px before it is sent
            await page.set_input_files("input[data-photo-upload]", str(big))
            await _until(lambda: page.locator("#photos li").count(), 30, "the scaled photo")
            assert not await page.is_visible(".photo-error")
            # a HEIC photo (Chromium cannot decode it): sent as it is, made JPEG by the server
            await page.set_input_files("input[data-photo-upload]", str(heic))
            await _until(lambda: _count(page, "#photos li", 2), 30, "the HEIC photo")
            await page.select_option("select[name=category_id]", str(cat))
            await page.fill("input[name=name]", name)
            await page.fill("input[name=spec]", "5斤装")
            await page.fill("input[name=price]", "abc")
            await page.click("#product-form button[type=submit]")
            await _until(lambda: page.is_visible("em.err[data-field=price]"), 10, "the price error")
            assert await page.locator("#photos li").count() == 2   # the photos stay on the form
            await page.fill("input[name=price]", "36.80")
            await page.fill("input[name=stock]", "120")
            async with page.expect_navigation():
                await page.click("#product-form button[type=submit]")
            assert "/console/shop/products/" in page.url
            await _fits(page, 360, "product")
            product = await Product.get(name=name, merchant_id=mid)
            assert len(product.images) == 2 and all(u.endswith(".jpg") for u in product.images)
            for url in product.images:
                r = await client.get(url)
                with Image.open(io.BytesIO(r.content)) as img:
                    assert max(img.size) <= 2048 and img.format == "JPEG", img.size
            assert "已保存为草稿" in await page.inner_text(".flash.ok")
            await page.click("#submit-review")
            await _until(lambda: _text_is(page, "#product-status", "待审核"), 10, "the submission")
            assert "已提交审核" in await page.inner_text(".flash.ok")
            assert (await Product.get(id=product.id)).status == "pending"
            # the SKU's stock journal, from its card: the 120 units it was created with
            async with page.expect_navigation():
                await page.click(".sku-card a.stock-moves")
            assert "库存流水" in await page.inner_text("h1")
            assert "+120" in await page.inner_text("#stock-moves td.num")
            assert await page.locator("#stock-moves td[data-reason=create]").count() == 1
            await _fits(page, 360, "stock journal")
            for url in ("/console/shop/products", "/console/shop/orders", "/console/shop/batches"):
                await page.goto(settings.base_url + url, wait_until="load")
                await _fits(page, 360, url)
            # a batch for the product, a step, and its label sheet
            await page.fill("#batch-form input[name=code]", "XM-" + secrets.token_hex(2))
            async with page.expect_navigation():
                await page.click("#batch-form button[type=submit]")
            assert "/console/shop/batches/" in page.url
            await _fits(page, 360, "batch")
            await page.fill("#step-form input[name=description]", "谷子脱粒晾晒")
            await page.click("#step-form button")
            await _until(lambda: _text_has(page, ".steps", "谷子脱粒晾晒"), 10, "the step")
            await _fits(page, 360, "batch with a step")
            async with ctx.expect_page() as sheet:
                await page.click("#batch-label")
            labels = await sheet.value
            await labels.wait_for_load_state("load")
            assert await labels.locator(".l svg").count() == 1
            watch.check()
        finally:
            await browser.close()


async def _count(page, selector: str, n: int) -> bool:
    return await page.locator(selector).count() >= n


async def test_livestreamer_ties_a_product_on_air_and_figures_follow_a_sale(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.models.live import LiveSession

    _, phone = await operator("livestreamer", name="喀左小醋娘")
    goods = await make_goods(stock=30)
    station_id = await make_station()
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            await ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=settings.base_url)
            page = await ctx.new_page()
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            assert page.url == settings.base_url + "/console/live/"
            await page.fill("#profile-form input[name=display_name]", "喀左小醋娘")
            async with page.expect_navigation():
                await page.click("#profile-form button")
            await page.fill("#room-form input[name=title]", "喀左好物直播间")
            async with page.expect_navigation():
                await page.click("#room-form button")
            await page.fill("#session-form input[name=title]", "陈醋专场")
            async with page.expect_navigation():
                await page.click("#session-form button")
            sid = int(re.search(r"/sessions/(\d+)$", page.url).group(1))
            assert "未开播" in await page.inner_text("#stream-status")
            await page.click("[data-copy='#push-url']")
            await _until(lambda: _text_is(page, ".copy-msg", "已复制"), 5, "the copy")
            push = await page.input_value("#push-url")
            assert push.startswith("rtmp://")
            # tie the product in, then put it on air
            await page.fill("#tiein-form input[name=sku_id]", str(goods.sku_id))
            await page.fill("#tiein-form input[name=live_price]", "19.90")
            await page.fill("#tiein-form input[name=quota]", "10")
            await page.fill("#tiein-form input[name=per_buyer_limit]", "3")
            await page.click("#tiein-form button")
            await _until(lambda: page.is_visible("button.on-air-on"), 10, "the tie-in")
            await page.click("button.on-air-on")
            await _until(lambda: page.is_visible("#on-air-name"), 10, "the on-air product")
            assert (await LiveSession.get(id=sid)).on_air_tiein_id is not None
            # the encoder starts pushing: Aliyun's callback makes the session live; the page follows
            r = await client.post("/__sim__/aliyun-live/publish", json={"push_url": push, "callback": True})
            assert r.status_code == 200, r.text
            await _until(lambda: _text_has(page, "#stream-status", "直播中"), 15, "the stream online")
            await _until(lambda: _text_is(page, "[data-fig=viewers_now]", "1"), 15, "this page as a viewer")
            # a buyer presses 立即抢购 (the API a mini-program calls): the figures change without a reload
            buyer = await login(client)
            r = await buyer.post(f"/api/v1/live/sessions/{sid}/orders",
                                 json={"sku_id": goods.sku_id, "quantity": 2, "fulfilment": "pickup",
                                       "station_id": station_id})
            assert r.status_code in (201, 202), r.text
            url_before = page.url
            await _until(lambda: _text_is(page, "[data-fig=orders]", "1"), 20, "the order in the figures")
            assert await page.inner_text("[data-fig=units]") == "2"
            assert await page.inner_text("[data-fig=gmv]") == "¥39.80"
            assert await page.inner_text("[data-fig=on_air_remaining]") == "8"
            assert page.url == url_before
            await _fits(page, 1366, "live")
            assert await page.inner_text("[data-remaining]") == "8"   # the stock event, in place
            await page.set_viewport_size({"width": 360, "height": 640})   # the same pages on a phone
            await _fits(page, 360, "live-phone")
            await page.goto(settings.base_url + "/console/live/", wait_until="load")
            await _fits(page, 360, "live-home-phone")
            watch.check()
        finally:
            await browser.close()


async def _text_is(page, selector: str, text: str) -> bool:
    return await page.locator(selector).count() > 0 and (await page.inner_text(selector)).strip() == text


async def _text_has(page, selector: str, text: str) -> bool:
    return await page.locator(selector).count() > 0 and text in await page.inner_text(selector)
