"""The freight pages: the office's /console/freight and the merchant desk's /console/shop/freight, over
HTTP (scoping, bad input named on its row, nothing saved) and in headless Chromium (the main flows)."""
from __future__ import annotations

import os

import pytest

from server.models.freight import FreightTemplate
from tests.console.conftest import operator, sign_in
from tests.conftest import login
from tests.freight.conftest import SHENYANG, saved
from tests.orders.conftest import checkout, make_merchant, make_sku

FORM = {"name": "全县", "basis": "piece", "cold_chain_fen": "5", "free_above_fen": "99",
        "z0_regions": "211324", "z0_mode": "flat", "z0_first_fen": "3",
        "z1_regions": "210000", "z1_mode": "metered", "z1_first_units": "1", "z1_first_fen": "8",
        "z1_step_units": "1", "z1_step_fen": "2",
        "z2_regions": "*", "z2_mode": "metered", "z2_first_units": "1", "z2_first_fen": "15",
        "z2_step_units": "1", "z2_step_fen": "5",
        "z3_regions": "650000 540000", "z3_mode": "not_served"}


async def test_office_sets_the_county_template_by_form(client, settings, no_county_template_after):
    _, phone = await operator("admin", name="王主任")
    office = await sign_in(settings, phone)
    r = await office.page("/console/freight")
    assert r.status_code == 200 and "尚未设置" in r.text
    r = await office.post("/console/freight", FORM, htmx=False)
    assert r.status_code == 200 and "已保存全县运费模板" in r.text, r.text[-2000:]
    t = await FreightTemplate.get(merchant_id=None)
    assert (t.cold_chain_fen, t.free_above_fen) == (500, 9900)
    assert t.zones[1] == {"regions": ["210000"], "mode": "metered", "first_units": 1, "first_fen": 800,
                          "step_units": 1, "step_fen": 200}
    assert t.zones[3]["regions"] == ["650000", "540000"]
    # an overlap: named on its row, nothing saved
    r = await office.post("/console/freight", {**FORM, "z4_regions": "210000", "z4_mode": "free"}, htmx=False)
    assert r.status_code == 422 and 'data-field="z4_regions"' in r.text and "另一行" in r.text
    r = await office.post("/console/freight", {**FORM, "z1_first_fen": "八元"}, htmx=False)
    assert r.status_code == 422 and 'data-field="z1_first_fen"' in r.text
    r = await office.post("/console/freight", {**FORM, "z0_regions": "12"}, htmx=False)
    assert r.status_code == 422 and 'data-field="z0_regions"' in r.text
    assert (await FreightTemplate.get(merchant_id=None)).zones == t.zones
    # without the CSRF token: refused
    assert (await office.post("/console/freight", FORM, htmx=False, csrf=False)).status_code == 403
    # a merchant cannot open the office's page
    m = await make_merchant()
    _, mphone = await operator("merchant", name="老醋坊", merchant_id=m.id)
    shop = await sign_in(settings, mphone)
    assert (await shop.page("/console/freight")).status_code == 403
    assert (await shop.post("/console/freight", FORM, htmx=False)).status_code == 403
    await office.client.aclose()
    await shop.client.aclose()


async def test_merchant_desk_freight_is_scoped_and_limited(client, settings):
    mine, other = await make_merchant(), await make_merchant()
    _, phone = await operator("merchant", name="老醋坊", merchant_id=mine.id)
    shop = await sign_in(settings, phone)
    r = await shop.page("/console/shop/freight")
    assert r.status_code == 200 and 'data-uses="county"' in r.text
    own = {"basis": "piece", "z0_regions": "210000", "z0_mode": "flat", "z0_first_fen": "6",
           "z1_regions": "*", "z1_mode": "not_served"}
    r = await shop.post(f"/console/shop/freight/{mine.id}", {**own, "z0_first_fen": "300"}, htmx=False)
    assert r.status_code == 422 and 'data-field="z0_first_fen"' in r.text and "上限" in r.text
    assert not await FreightTemplate.filter(merchant_id=mine.id).exists()
    r = await shop.post(f"/console/shop/freight/{mine.id}", own, htmx=False)
    assert r.status_code == 200 and 'data-uses="own"' in r.text, r.text[-1500:]
    assert (await FreightTemplate.get(merchant_id=mine.id)).zones[0]["first_fen"] == 600
    # an order priced by it shows the shop's freight on the desk's order page
    sku = await make_sku(price=1000, merchant=mine)
    buyer = await login(client)
    aid = (await buyer.post("/api/v1/addresses", json=saved(SHENYANG))).json()["id"]
    r = await checkout(buyer, {"fulfilment": "delivery", "address_id": aid, "lines": [{"sku_id": sku.id, "quantity": 1}]})
    assert r.json()["shipping_fen"] == 600, r.text
    page = await shop.page(f"/console/shop/orders/{r.json()['id']}")
    assert page.status_code == 200 and 'id="shipping">¥6.00' in page.text
    # another merchant's template: not found, nothing written
    r = await shop.post(f"/console/shop/freight/{other.id}", own, htmx=False)
    assert r.status_code == 404
    r = await shop.post(f"/console/shop/freight/{other.id}", {"z0_regions": "x"}, htmx=False)
    assert r.status_code == 404
    assert (await shop.post(f"/console/shop/freight/{other.id}/county", {}, htmx=False)).status_code == 404
    assert not await FreightTemplate.filter(merchant_id=other.id).exists()
    r = await shop.post(f"/console/shop/freight/{mine.id}/county", {}, htmx=False)
    assert r.status_code == 200 and 'data-uses="county"' in r.text
    await shop.client.aclose()


CHROMIUM = os.environ.get("KAZUO_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is absent")
async def test_freight_pages_in_chromium(client, settings, app, no_county_template_after):
    playwright = pytest.importorskip("playwright.async_api")
    from tests.console.test_browser import _browser, _signed_in

    _, admin_phone = await operator("admin", name="王主任")
    m = await make_merchant()
    _, merchant_phone = await operator("merchant", name="老醋坊", merchant_id=m.id)
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, admin_phone)
            async with page.expect_navigation():
                await page.click("header nav a[href='/console/freight']")
            for name, value in FORM.items():
                if name.endswith("_mode") or name == "basis":
                    await page.select_option(f"#freight-form select[name={name}]", value)
                else:
                    await page.fill(f"#freight-form input[name={name}]", value)
            async with page.expect_navigation():
                await page.click("#freight-form button[type=submit]")
            assert "已保存全县运费模板" in await page.inner_text("main")
            assert await page.input_value("input[name=z1_step_fen]") == "2.00"
            watch.check()
            await page.close()

            page, watch = await _signed_in(browser, settings, client, merchant_phone)
            await page.goto(settings.base_url + "/console/shop/freight", wait_until="load")
            assert "喀喇沁左翼蒙古族自治县" in await page.inner_text("#county-zones")
            await page.fill("#freight-form input[name=z0_regions]", "210000")
            await page.select_option("#freight-form select[name=z0_mode]", "flat")
            await page.fill("#freight-form input[name=z0_first_fen]", "6")
            async with page.expect_navigation():
                await page.click("#freight-form button[type=submit]")
            assert await page.is_visible("[data-uses=own]")
            watch.check()
        finally:
            await browser.close()
    zones = (await FreightTemplate.get(merchant_id=m.id)).zones
    assert [(z["regions"], z["mode"], z["first_fen"]) for z in zones] == [(["210000"], "flat", 600)]


OWN = {"name": "本店", "basis": "piece", "cold_chain_fen": 0, "income_to": "merchant",
       "zones": [{"regions": ["210000"], "mode": "flat", "first_units": 1, "first_fen": 600, "step_units": 1,
                  "step_fen": 0}]}


async def test_office_lists_merchants_templates_with_the_limits_check(client, settings):
    """Gap of #25: the office sees merchants' own templates, one saved under higher limits flagged
    field by field; admin only (page and JSON), a bad filter named."""
    from server.kit import runtime
    from tests.conftest import login_as

    fine, over = await make_merchant(), await make_merchant()
    cap = runtime.settings().freight_merchant_max_first_fen
    await FreightTemplate.create(merchant_id=fine.id, is_active=True, **OWN)
    zones = [{**OWN["zones"][0], "first_fen": cap + 100}]
    await FreightTemplate.create(merchant_id=over.id, is_active=False, **{**OWN, "zones": zones})
    admin = await login_as(client, "admin")
    r = await admin.get("/api/v1/console/freight/merchants", params={"limit": 100})
    assert r.status_code == 200, r.text
    got = {i["merchant_id"]: i for i in r.json()["items"]}
    assert got[fine.id]["within_limits"] and got[fine.id]["merchant_name"] == fine.name
    assert not got[over.id]["within_limits"]
    assert got[over.id]["problems"] == [{"field": "zones.0.first_fen", "value": cap + 100, "limit": cap}]
    r = await admin.get("/api/v1/console/freight/merchants", params={"over_only": "true", "limit": 100})
    ids = [i["merchant_id"] for i in r.json()["items"]]
    assert over.id in ids and fine.id not in ids
    r = await admin.get("/api/v1/console/freight/merchants", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.text
    merchant = await login_as(client, "merchant", merchant_id=fine.id)
    assert (await merchant.get("/api/v1/console/freight/merchants")).status_code == 403
    # the page
    _, phone = await operator("admin", name="王主任")
    office = await sign_in(settings, phone)
    r = await office.page("/console/freight")
    assert 'href="/console/freight/merchants"' in r.text
    r = await office.page("/console/freight/merchants")
    assert r.status_code == 200
    assert f'data-merchant="{fine.id}" data-within="yes"' in r.text
    assert f'data-merchant="{over.id}" data-within="no"' in r.text and 'data-problem="zones.0.first_fen"' in r.text
    r = await office.page("/console/freight/merchants?over_only=true")
    assert f'data-merchant="{over.id}"' in r.text and f'data-merchant="{fine.id}"' not in r.text
    r = await office.page("/console/freight/merchants?over_only=maybe")
    assert r.status_code == 200 and 'data-field="over_only"' in r.text
    _, mphone = await operator("merchant", name="老醋坊", merchant_id=fine.id)
    shop = await sign_in(settings, mphone)
    assert (await shop.page("/console/freight/merchants")).status_code == 403
    await office.client.aclose()
    await shop.client.aclose()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is absent")
async def test_merchants_templates_page_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from server.kit import runtime
    from tests.console.test_browser import _browser, _signed_in

    over = await make_merchant()
    zones = [{**OWN["zones"][0], "first_fen": runtime.settings().freight_merchant_max_first_fen + 1}]
    await FreightTemplate.create(merchant_id=over.id, is_active=True, **{**OWN, "zones": zones})
    _, admin_phone = await operator("admin", name="王主任")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, admin_phone)
            await page.goto(settings.base_url + "/console/freight", wait_until="load")
            async with page.expect_navigation():
                await page.click("a[href='/console/freight/merchants']")
            async with page.expect_navigation():
                await page.click("nav.tabs a[href='/console/freight/merchants?over_only=true']")
            row = page.locator(f"tr[data-merchant='{over.id}']")
            assert await row.get_attribute("data-within") == "no"
            assert "第 1 区域首费" in await row.inner_text()
            watch.check()
        finally:
            await browser.close()
