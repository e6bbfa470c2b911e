"""Content and reviews in headless Chromium (#30): the office writes an article with the editor's
toolbar, a pasted script and event handlers among it; what is saved and previewed runs nothing (no
dialog, no flag set, no script element, no handler). A buyer's review with a script shows as text on
the moderation page, where the office shows it with one click. No console errors, nothing leaves."""
from __future__ import annotations

import os

import pytest

from tests.console.conftest import operator
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.reviews.conftest import make_order, make_product
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")

PASTED = ('<p id="hover" ondblclick="window.__pwned=1">悬停这里</p><script>window.__pwned=2</script>'
          '<a id="evil" href="javascript:window.__pwned=3">点我</a>')


async def test_an_article_and_a_review_run_no_script_in_the_console(client, settings, app, consumer):
    playwright = pytest.importorskip("playwright.async_api")
    _, phone = await operator("admin", name="王主任")
    _, _, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    r = await consumer.post(f"/api/v1/order-lines/{line.id}/review", json={
        "product_stars": 5, "delivery_stars": 5, "station_stars": 5,
        "text": "加微信<script>window.__pwned=4</script><b onclick=\"window.__pwned=5\">好</b>"})
    assert r.status_code == 201 and r.json()["status"] == "held"
    review_id = r.json()["id"]
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            watch = Watch(page, settings.base_url)
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            await page.click("nav.nav a[href='/console/content']")
            await page.wait_for_load_state("load")
            assert "内容管理" in await page.inner_text("h1")
            await page.click("a[href='/console/content/new']")
            await page.wait_for_load_state("load")
            # the editor replaces the textarea once its script has run
            await _until(lambda: page.is_visible(".editor"), 10, "the editor")
            assert not await page.is_visible("textarea[name=body_html]")
            await page.select_option("select[name=kind]", "article")
            await page.select_option("select[name=category]", "brand_story")
            await page.fill("input[name=title]", "喀左紫砂的故事")
            await page.click(".editor")
            await page.keyboard.type("紫砂壶")
            await page.keyboard.press("Control+A")
            await page.click(".editor-toolbar button[data-cmd=bold]")
            # a paste with a script and handlers (as a page copied from elsewhere might carry)
            await page.evaluate("html => document.querySelector('.editor').insertAdjacentHTML('beforeend', html)",
                                PASTED)
            await page.check("input[name=enabled]")
            # Chromium refuses the pasted handlers while they sit unsaved in the editor (the console's
            # CSP allows no inline script): a second wall, logged as an error. What counts is what is
            # saved, from here on no error at all.
            assert all("Content Security Policy" in e for e in watch.errors), watch.errors
            watch.errors.clear()
            async with page.expect_navigation():
                await page.click("#content-form button[type=submit]")
            assert "已保存" in await page.inner_text(".flash.ok")
            preview = page.locator("#preview")
            assert "紫砂壶" in await preview.inner_text() and await preview.locator("b, strong").count() >= 1
            assert await preview.locator("script").count() == 0
            assert await preview.locator("[ondblclick], [onclick]").count() == 0
            assert await page.locator("#preview a[href^='javascript']").count() == 0
            await page.dblclick("#preview #hover") if await page.locator("#preview #hover").count() else None
            await page.click("#preview a") if await page.locator("#preview a").count() else None
            assert await page.evaluate("typeof window.__pwned") == "undefined"
            # the saved body comes back into the editor clean
            html = await page.inner_html(".editor")
            assert "script" not in html and "ondblclick" not in html and "javascript:" not in html
            # the buyer's review: text on the moderation page, shown with one click
            await page.goto(settings.base_url + "/console/ratings?status=held", wait_until="load")
            row = page.locator(f"#rating-{review_id}")
            assert "加微信好" in await row.locator(".review-text").inner_text()
            assert await row.locator("script, [onclick]").count() == 0
            await row.locator("button.primary").click()
            await _until(lambda: page.locator(f"#rating-{review_id} [data-status=visible]").count(), 10, "shown")
            assert await page.evaluate("typeof window.__pwned") == "undefined"
            assert dialogs == []
            watch.check()
        finally:
            await browser.close()


async def test_a_merchant_replies_on_a_phone_and_the_office_reads_the_ratings(client, settings, app, consumer):
    playwright = pytest.importorskip("playwright.async_api")
    merchant, _, sku = await make_product()
    _, line = await make_order(consumer.id, sku)
    r = await consumer.post(f"/api/v1/order-lines/{line.id}/review", json={
        "product_stars": 4, "delivery_stars": 5, "station_stars": 5, "text": "小米颗粒饱满"})
    review_id = r.json()["id"]
    _, mphone = await operator("merchant", name="王秀兰", merchant_id=merchant.id)
    _, aphone = await operator("admin", name="王主任")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            ctx = await browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN",
                                            is_mobile=True, has_touch=True)
            page = await ctx.new_page()
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, mphone)
            await page.click(".desk-tabs a[href='/console/shop/ratings']")
            await page.wait_for_load_state("load")
            card = page.locator(f"#mer-rating-{review_id}")
            assert "小米颗粒饱满" in await card.inner_text()
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            await card.locator("textarea[name=text]").fill("感谢您的认可，欢迎再来")
            await card.locator("button[type=submit]").click()
            await _until(lambda: page.locator(f"#mer-rating-{review_id} .reply").count(), 10, "the reply")
            assert "感谢您的认可" in await page.inner_text(f"#mer-rating-{review_id} .reply")
            assert await page.locator(f"#mer-rating-{review_id} textarea").count() == 0   # once
            watch.check()
            await ctx.close()
            page = await browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, aphone)
            await page.click("nav.nav a[href='/console/ratings']")
            await page.wait_for_load_state("load")
            await page.click("a[href='/console/ratings/summary']")
            await page.wait_for_load_state("load")
            row = page.locator(f"table[data-summary=merchant] tr[data-subject='{merchant.id}']")
            assert merchant.name in await row.inner_text() and "4.00" in await row.inner_text()
            watch.check()
        finally:
            await browser.close()
