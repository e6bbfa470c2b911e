"""The money-out pages in headless Chromium: a station records a cash hand-over through its form, the
office confirms it with a difference and rejects another, a merchant accepts a live proposal, the
office adds to the 选品池, and a statement's PDF downloads with the session cookie; no console errors,
no request leaving the server."""
from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.cash import CashHandover
from server.models.catalog import Product
from tests.console.conftest import operator
from tests.console.test_browser import _browser, _signed_in
from tests.settlement.helpers import make_statement
from tests.stats.test_screen_browser import CHROMIUM, _until
from tests.conftest import login
from tests.cash.conftest import villages
from tests.stations.conftest import make_paid_order, make_sku

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def test_cash_consent_pool_and_statement_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from tests.live.conftest import make_goods, make_streamer

    net = await villages()
    a = net["a"]
    buyer = await login(client)
    await make_paid_order(buyer.id, a.id, sku=await make_sku(price=3000))
    _, staff_phone = await operator("station_staff", name="站长", station_id=a.id)
    _, admin_phone = await operator("admin", name="王主任")
    goods = await make_goods(pooled=False)
    # the factory's photo is a name only (/media/x.jpg): the merchant's desk would show a broken image
    await Product.filter(id=goods.product_id).update(images=[])
    streamer = await make_streamer(client)
    today = clock.local_today()
    c = (await streamer.post("/api/v1/live/consents", json={
        "sku_id": goods.sku_id, "live_price": 2500, "commission_bp": 1000, "quota": 20, "starts_on": str(today),
        "ends_on": str(today + timedelta(days=3))})).json()
    _, merchant_phone = await operator("merchant", name="老醋坊", merchant_id=goods.merchant_id)
    st, _, _ = await make_statement(buyer.id)
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            # the station: 现金解缴 from the navigation, a bad amount named, then ¥20 and ¥10 handed over
            page, watch = await _signed_in(browser, settings, client, staff_phone)
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/cash']")
            assert "¥30.00" in await page.inner_text(f"#cash-{a.id} [data-figure=owed]")
            await page.fill(f"#cash-{a.id} input[name=amount]", "0")
            await page.click(f"#cash-{a.id} form.handover button[type=submit]")
            await _until(lambda: page.is_visible(f"#cash-{a.id} em.err[data-field=amount]"), 10, "the amount error")
            for amount in ("20", "10"):
                await page.fill(f"#cash-{a.id} input[name=amount]", amount)
                await page.click(f"#cash-{a.id} form.handover button[type=submit]")
                notice = f"#cash-{a.id} .flash.ok:has-text('已登记解缴 {amount}.00 元')"
                await _until(lambda notice=notice: page.is_visible(notice), 10, "the hand-over recorded")
            assert "¥30.00" in await page.inner_text(f"#cash-{a.id} [data-figure=pending]")
            first, second = await CashHandover.filter(station_id=a.id).order_by("id")
            assert (first.declared_fen, second.declared_fen) == (2000, 1000)
            watch.check()

            # the office: confirm ¥19.50 with a note (flagged), reject the other
            page, watch = await _signed_in(browser, settings, client, admin_phone)
            page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/cash-handovers']")
            row = f"#handover-{first.id}"
            await page.fill(f"{row} input[name=received]", "19.5")
            await page.click(f"{row} button.primary")
            await _until(lambda: page.is_visible(f"{row} em.err[data-field=note]"), 10, "the note error")
            await page.fill(f"{row} input[name=received]", "19.50")
            await page.fill(f"{row} input[name=note]", "少五角")
            await page.click(f"{row} button.primary")
            await _until(lambda: page.is_visible(f"{row} [data-flag=difference]"), 10, "the difference flagged")
            assert "短款 ¥0.50" in await page.inner_text(row)
            row2 = f"#handover-{second.id}"
            await page.fill(f"{row2} input[name=note]", "未收到现金")
            await page.click(f"{row2} button.danger")
            await _until(lambda: page.is_hidden(f"{row2} form"), 10, "the rejection")
            assert "已退回" in await page.inner_text(row2)
            assert (await CashHandover.get(id=first.id)).received_fen == 1950
            assert (await CashHandover.get(id=second.id)).status == "rejected"
            # 选品池: a product in through the form
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/live-pool']")
            await page.fill("#pool-form input[name=product_id]", str(goods.product_id))
            await page.fill("#pool-form input[name=agreement]", "标准条款 2026-015")
            async with page.expect_navigation():
                await page.click("#pool-form button[type=submit]")
            assert "喀左老陈醋" in await page.inner_text("#pool")
            # a statement: detail, and its PDF with the session cookie
            await page.goto(settings.base_url + f"/console/statements/{st.id}", wait_until="load")
            assert f"结算单 #{st.id}" in await page.inner_text("h1")
            async with page.expect_download() as info:
                await page.click("#download-pdf")
            download = await info.value
            with open(await download.path(), "rb") as fh:
                assert fh.read(5) == b"%PDF-"
            watch.check()

            # the merchant: 直播合作, accept the proposal
            page, watch = await _signed_in(browser, settings, client, merchant_phone)
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/live-consents']")
            await page.click(f"#consent-{c['id']} button.primary")
            await _until(lambda: page.is_visible(f"#consent-{c['id']}:has-text('已同意')"), 10, "the acceptance")
            watch.check()
        finally:
            await browser.close()
