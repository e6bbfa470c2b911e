"""Pre-sale pages (issue #28): the merchant proposes a pre-sale in its workspace and the office approves
it, in headless Chromium; over HTTP, a merchant never sees or ends another's offer, bad input is named
beside its field, and the office's review is refused twice."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.catalog import Sku
from server.models.orders import Order
from server.models.presale import PresaleOffer
from tests.conftest import login
from tests.console.conftest import operator, sign_in
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.orders.conftest import make_sku, make_station
from tests.presale.test_presale import offer, pay, place
from tests.stats.test_screen_browser import CHROMIUM, _until


def _local(days: float) -> str:
    return (clock.now() + timedelta(days=days)).astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_merchant_proposes_and_office_approves_in_a_browser(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    sku = await make_sku(price=3000, stock=50)
    mid = (await sku.product).merchant_id
    _, mphone = await operator("merchant", name="李大姐", merchant_id=mid)
    _, aphone = await operator("admin", name="王主任")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await (await browser.new_context(locale="zh-CN")).new_page()
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, mphone)
            await page.goto(settings.base_url + "/console/shop/presales", wait_until="load")
            assert "发起预售" in await page.inner_text("main")
            await page.select_option("select[name=sku_id]", str(sku.id))
            await page.select_option("select[name=mode]", "deposit")
            await page.fill("input[name=price]", "25.00")
            await page.fill("input[name=deposit]", "80")   # more than half the price: refused beside the field
            for name, days in (("starts_at", 0), ("ends_at", 5), ("balance_starts_at", 5), ("balance_ends_at", 7),
                               ("ship_from", 8)):
                await page.fill(f"input[name={name}]", _local(days))
            await page.click("#presale-form button[type=submit]")
            await page.wait_for_load_state("load")
            assert await page.is_visible("em.err[data-field=deposit]")
            assert not await PresaleOffer.filter(sku_id=sku.id).exists()
            await page.fill("input[name=deposit]", "5")
            await page.click("#presale-form button[type=submit]")
            await _until(lambda: page.locator("#presales tr[data-offer]").count(), 10, "the offer listed")
            offer = await PresaleOffer.get(sku_id=sku.id)
            assert (offer.price_fen, offer.deposit_fen, offer.status) == (2500, 500, "pending")
            assert "待审核" in await page.inner_text(f"tr[data-offer='{offer.id}']")
            # only the refusal asked for above (and the factory's made-up photo) failed to load
            assert [u for u in watch.refused if not u.startswith("422 ") and not u.endswith("/media/x.jpg")] == []

            office = await (await browser.new_context(locale="zh-CN")).new_page()
            owatch = Watch(office, settings.base_url)
            await office.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(office, client, aphone)
            await office.goto(settings.base_url + "/console/presales?status=pending", wait_until="load")
            row = office.locator(f"tr[data-offer='{offer.id}']")
            await row.locator("input[name=note]").fill("产地已核实")
            await row.locator("button[value=approve]").click()
            await office.wait_for_load_state("load")
            await _until(lambda: PresaleOffer.filter(id=offer.id, status="approved").exists(), 10, "approval")
            await office.goto(settings.base_url + f"/console/presales/{offer.id}", wait_until="load")
            assert "已通过" in await office.inner_text("main")
            owatch.check()
        finally:
            await browser.close()


async def test_presale_pages_scoping_and_bad_input(settings, app):
    mine = await make_sku(price=3000)
    theirs = await make_sku(price=3000)
    _, phone = await operator("merchant", merchant_id=(await mine.product).merchant_id)
    shop = await sign_in(settings, phone)
    their = await PresaleOffer.create(merchant_id=(await theirs.product).merchant_id, product_id=theirs.product_id,
                                      sku_id=theirs.id, mode="full", price_fen=3000, starts_at=clock.now(),
                                      ends_at=clock.now(), ship_from=clock.now())
    try:
        r = await shop.page("/console/shop/presales")
        assert r.status_code == 200 and f'data-offer="{their.id}"' not in r.text
        assert f'value="{theirs.id}"' not in r.text   # another merchant's SKU is not offered
        # another merchant's SKU or offer: refused / 404, nothing changed
        form = {"sku_id": str(theirs.id), "mode": "full", "price": "20", "starts_at": _local(0),
                "ends_at": _local(2), "ship_from": _local(3)}
        r = await shop.post("/console/shop/presales", form, htmx=False)
        assert r.status_code == 422 and 'data-field="sku_id"' in r.text
        r = await shop.post(f"/console/shop/presales/{their.id}/end", htmx=False)
        assert r.status_code == 404
        assert (await PresaleOffer.get(id=their.id)).status == "pending"
        # bad dates and a missing price: named beside the field (never a 500)
        r = await shop.post("/console/shop/presales", form | {"sku_id": str(mine.id), "starts_at": "明天"}, htmx=False)
        assert r.status_code == 422 and 'data-field="starts_at"' in r.text
        r = await shop.post("/console/shop/presales", form | {"sku_id": str(mine.id), "ends_at": _local(-1)}, htmx=False)
        assert r.status_code == 422 and 'data-field="ends_at"' in r.text
        r = await shop.post("/console/shop/presales", form | {"sku_id": str(mine.id), "price": "abc"}, htmx=False)
        assert r.status_code == 422
        # the office's pages are not the merchant's
        assert (await shop.page("/console/presales")).status_code == 403
    finally:
        await shop.client.aclose()
    _, aphone = await operator("admin")
    office = await sign_in(settings, aphone)
    try:
        await office.page("/console/presales")
        r = await office.post(f"/console/presales/{their.id}/review", {"decision": "reject", "note": "日期不对"},
                              htmx=False)
        assert r.status_code == 303
        r = await office.post(f"/console/presales/{their.id}/review", {"decision": "approve"}, htmx=False)
        assert r.status_code == 409 and "已审核过" in r.text
        r = await office.post(f"/console/presales/{their.id}/review", {"decision": "maybe"}, htmx=False)
        assert r.status_code == 422
        assert (await office.page("/console/presales/999999999")).status_code == 404
    finally:
        await office.client.aclose()


async def test_office_gives_a_deposit_back_and_the_merchant_sees_only_its_offers_orders(client, settings, app):
    buyer = await login(client)
    station = await make_station()
    o, sku, _ = await offer(client)
    order = await place(buyer, station, o, qty=1)
    await pay(buyer, f"/api/v1/orders/{order['id']}/pay")
    _, mphone = await operator("merchant", merchant_id=o["merchant_id"])
    other = await make_sku()
    _, ophone = await operator("merchant", merchant_id=(await other.product).merchant_id)
    shop, stranger = await sign_in(settings, mphone), await sign_in(settings, ophone)
    try:
        r = await shop.page(f"/console/shop/presales/{o['id']}")
        assert r.status_code == 200 and f'data-order="{order["id"]}"' in r.text and "已付定金" in r.text
        assert "退定金" not in r.text   # the office's decision, not the merchant's
        assert (await stranger.page(f"/console/shop/presales/{o['id']}")).status_code == 404
    finally:
        await shop.client.aclose()
        await stranger.client.aclose()
    _, aphone = await operator("admin")
    office = await sign_in(settings, aphone)
    try:
        r = await office.page(f"/console/presales/{o['id']}")
        assert r.status_code == 200 and "退定金并取消" in r.text
        r = await office.post(f"/console/presale/orders/{order['id']}/deposit-refund", {"reason": "歉收"}, htmx=False)
        assert r.status_code == 303, r.text
        assert (await Order.get(id=order["id"])).status == "cancelled"
        assert (await Sku.get(id=sku.id)).stock == 10
        r = await office.post(f"/console/presale/orders/{order['id']}/deposit-refund", {}, htmx=False)
        assert r.status_code == 409   # once
        r = await office.post("/console/presale/orders/999999999/deposit-refund", {}, htmx=False)
        assert r.status_code == 404
    finally:
        await office.client.aclose()
