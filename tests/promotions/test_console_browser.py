"""The promotion pages in headless Chromium: the office creates a platform coupon (a bad threshold
named first) and a festival campaign from the navigation and publishes it; a merchant creates its own
coupon from its workspace's tab; no console errors, no request leaving the server."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.catalog import Product
from server.models.promotions import Campaign, Coupon
from tests.console.conftest import operator
from tests.console.test_browser import _browser, _signed_in
from tests.orders.conftest import make_merchant, make_sku
from tests.stats.test_screen_browser import CHROMIUM, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


def _local(dt) -> str:
    return dt.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def _fill_coupon(page, **values):
    for name, value in values.items():
        if name in ("kind", "scope", "merchant_id"):
            await page.select_option(f"#coupon-form select[name={name}]", value)
        else:
            await page.fill(f"#coupon-form input[name={name}]", value)


async def test_coupon_and_campaign_pages_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    await Campaign.filter(status="published").update(status="withdrawn")
    merchant = await make_merchant()
    sku = await make_sku(merchant=merchant)
    # the factory's photo is a name only (/media/x.jpg): the merchant's desk would show a broken image
    await Product.filter(id=sku.product_id).update(images=[])
    _, admin_phone = await operator("admin", name="王主任")
    _, merchant_phone = await operator("merchant", name="老醋坊", merchant_id=merchant.id)
    now = clock.now()
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, admin_phone)
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/coupons']")
            await _fill_coupon(page, name="丰收节满50减8", kind="full_reduction", threshold="5", amount="8",
                               valid_from=_local(now), valid_until=_local(now + timedelta(days=5)),
                               total_quantity="300")
            async with page.expect_navigation():
                await page.click("#coupon-form button[type=submit]")
            assert await page.is_visible("#coupon-form em.err[data-field=threshold]")
            await page.fill("#coupon-form input[name=threshold]", "50")
            async with page.expect_navigation():
                await page.click("#coupon-form button[type=submit]")
            assert "满50.00元减8.00元" in await page.inner_text("#notice")
            coupon = await Coupon.filter(name="丰收节满50减8").first()
            assert coupon.threshold_fen == 5000 and coupon.funder == "platform"
            assert await page.is_visible(f"tr[data-coupon='{coupon.id}']")

            async with page.expect_navigation():
                await page.click("header nav a[href='/console/campaigns']")
            await page.fill("#campaign-form input[name=title]", "喀左丰收节")
            await page.fill("#campaign-form input[name=starts_at]", _local(now + timedelta(days=20)))
            await page.fill("#campaign-form input[name=ends_at]", _local(now + timedelta(days=22)))
            await page.fill("#campaign-form input[name=product_ids]", str(sku.product_id))
            await page.fill("#campaign-form input[name=coupon_ids]", str(coupon.id))
            async with page.expect_navigation():
                await page.click("#campaign-form button[type=submit]")
            camp = await Campaign.filter(title="喀左丰收节").order_by("-id").first()
            row = f"tr[data-campaign='{camp.id}']"
            assert "草稿" in await page.inner_text(f"{row} .state")
            async with page.expect_navigation():
                await page.click(f"{row} button")
            await _until(lambda: page.is_visible("#notice"), 10, "the publish notice")
            assert "未开始" in await page.inner_text(f"{row} .state")
            assert (await Campaign.get(id=camp.id)).status == "published"
            # edit it: the form comes back filled in; a bad end is named, then the new title is saved
            async with page.expect_navigation():
                await page.click(f"{row} a.edit")
            assert await page.input_value("#campaign-form input[name=title]") == "喀左丰收节"
            await page.fill("#campaign-form input[name=ends_at]", _local(now + timedelta(days=19)))
            async with page.expect_navigation():
                await page.click("#campaign-form button[type=submit]")
            assert await page.is_visible("#campaign-form em.err[data-field=ends_at]")
            await page.fill("#campaign-form input[name=title]", "喀左丰收节·二")
            await page.fill("#campaign-form input[name=ends_at]", _local(now + timedelta(days=23)))
            async with page.expect_navigation():
                await page.click("#campaign-form button[type=submit]")
            assert "已保存" in await page.inner_text("#notice")
            edited = await Campaign.get(id=camp.id)
            assert edited.title == "喀左丰收节·二" and edited.status == "published"
            assert edited.ends_at.astimezone(clock.SHANGHAI).day == (now + timedelta(days=23)).astimezone(clock.SHANGHAI).day
            watch.check()

            page, watch = await _signed_in(browser, settings, client, merchant_phone)
            await page.goto(settings.base_url + "/console/shop/", wait_until="load")
            async with page.expect_navigation():
                await page.click(".desk-tabs a[href='/console/shop/coupons']")
            await _fill_coupon(page, name="本店9折", kind="percent", rate="9", cap="20", scope="merchant",
                               valid_from=_local(now), valid_until=_local(now + timedelta(days=5)),
                               total_quantity="100")
            async with page.expect_navigation():
                await page.click("#coupon-form button[type=submit]")
            assert "由本店承担" in await page.inner_text("#notice")
            mine = await Coupon.get(merchant_id=merchant.id)
            assert (mine.kind, mine.rate_bp, mine.cap_fen, mine.scope_ids) == ("percent", 9000, 2000, [merchant.id])
            watch.check()
        finally:
            await browser.close()
            await Campaign.filter(status="published").update(status="withdrawn")
