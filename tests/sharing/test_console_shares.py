"""The office's page of orders brought by shares (/console/shares, #29): figures by sharer and the latest
orders, a bad date named beside its field, admins only; and the same page walked in headless Chromium."""
from __future__ import annotations

import pytest

from server.kit import clock
from server.models.accounts import User
from server.models.catalog import Product
from server.stats import rollup
from tests.conftest import login, wait_for
from tests.console.conftest import operator, sign_in
from tests.console.test_browser import _browser, _signed_in
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body


async def shared_order(client) -> tuple[int, str, str]:
    """A paid order one buyer placed through another's share; (order id, order no, sharer's name)."""
    sharer, buyer = await login(client), await login(client)
    name = "分享达人" + str(sharer.id)
    await User.filter(id=sharer.id).update(nickname=name)
    sku = await make_sku(price=3300, stock=5)
    await Product.filter(id=sku.product_id).update(visible=True, status="on_sale")
    share_id = (await sharer.post(f"/api/v1/products/{sku.product_id}/share")).json()["share_id"]
    r = await checkout(buyer, pickup_body((await make_station()).id, (sku.id, 1), share_id=share_id))
    assert r.status_code == 201, r.text
    assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
    return r.json()["id"], r.json()["order_no"], name


async def test_shares_page_for_the_office_only(client, settings, app):
    order_id, order_no, name = await shared_order(client)
    _, phone = await operator("admin", name="分享统计员")
    office = await sign_in(settings, phone)
    try:
        r = await office.page("/console/shares")
        assert r.status_code == 200 and name in r.text and order_no in r.text and "¥33.00" in r.text
        assert 'href="/console/shares"' in r.text  # in the office's navigation
        # the statistics page carries the shared sales of the daily figures, linking here
        await rollup.rollup_day(clock.local_today())

        async def summed_again():  # the first load after a rollup may show the kept summary while
            r = await office.page("/console/statistics")  # it is summed again in the background
            return r.status_code == 200 and 'id="shared"' in r.text and r

        r = await wait_for(summed_again, timeout=10)
        assert r and 'href="/console/shares?from=' in r.text
        r = await office.page("/console/shares?from=2026-02-30")
        assert r.status_code == 200 and 'data-field="from"' in r.text
        r = await office.page("/console/shares?from=2026-12-06&to=2025-01-01")
        assert r.status_code == 200 and 'data-field="from"' in r.text
    finally:
        await office.client.aclose()
    _, phone = await operator("warehouse", name="县仓甲")
    other = await sign_in(settings, phone)
    try:
        r = await other.page("/console/shares")
        assert r.status_code == 403 and order_no not in r.text
    finally:
        await other.client.aclose()


async def test_shares_page_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    _, order_no, name = await shared_order(client)
    _, phone = await operator("admin", name="分享统计员")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, phone)
            await page.click('nav a[href="/console/shares"]')
            await page.wait_for_url("**/console/shares")
            assert name in await page.inner_text("#sharers")
            assert order_no in await page.inner_text("#recent")
            await page.fill("input[name=from]", "2026-01-01")
            async with page.expect_navigation():
                await page.click("form.filters button[type=submit]")
            assert "from=2026-01-01" in page.url and order_no in await page.inner_text("#recent")
            watch.check()
        finally:
            await browser.close()
