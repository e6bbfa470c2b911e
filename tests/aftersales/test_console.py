"""After-sales (issue #25) in the web console: the merchant refuses with a reason, the office decides the
escalation, the station receives the return, the warehouse puts an un-pick back — each in headless
Chromium; scoping and bad input over HTTP (a foreign case is a 404 page, nothing changes)."""
from __future__ import annotations

import os
import secrets

import pytest

from server.fulfillment import service as fulfillment
from server.models.aftersales import AfterSale, AfterSalesPolicy, AfterSalesWindow
from server.models.catalog import Category
from server.models.fulfillment import UnpickItem
from server.models.orders import OrderLine
from tests.aftersales.conftest import completed
from tests.conftest import login_as
from tests.console.conftest import operator, sign_in
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import receive_batch
from tests.stats.test_screen_browser import CHROMIUM


async def _case(world, kind="return_refund", qty=1):
    m, (a, _) = await f.merchant_with_skus(2)
    order = await f.paid_order(world.buyer.id, [(a, 2)], station=world.net.village)
    await completed(world, order.id, m.id)
    la = await OrderLine.get(order_id=order.id)
    r = await world.buyer.post("/api/v1/aftersales", json={
        "order_id": order.id, "kind": kind, "reason": "damaged", "lines": [{"line_id": la.id, "qty": qty}],
        "description": "盒子压扁了"})
    assert r.status_code == 201, r.text
    return m, r.json()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_refuse_escalate_decide_receive_and_unpick_in_chromium(world, client, settings):
    playwright = pytest.importorskip("playwright.async_api")
    m, case = await _case(world)
    _, mphone = await operator("merchant", name="刘社长", merchant_id=m.id)
    _, ophone = await operator("admin", name="王主任")
    _, sphone = await operator("station_staff", name="张站长", station_id=world.net.village.id)
    _, wphone = await operator("warehouse", name="赵仓管")
    # an un-pick waiting at the warehouse
    m2, (b, _) = await f.merchant_with_skus(2)
    order2 = await f.paid_order(world.buyer.id, [(b, 2)], station=world.net.village)
    task_id = await fulfillment.handoff(order2.id)
    batch = await receive_batch(world.warehouse, m2.id, b.id, 5)
    await world.warehouse.post(f"/api/v1/console/warehouse/tasks/{task_id}/pick",
                               json={"sku_id": b.id, "batch": batch, "quantity": 2})
    lb = await OrderLine.get(order_id=order2.id)
    r = await world.buyer.post("/api/v1/aftersales", json={"order_id": order2.id, "kind": "refund_only",
                                                           "reason": "changed_mind", "lines": [{"line_id": lb.id, "qty": 1}]})
    [item] = await UnpickItem.filter(task_id=task_id, status="pending")
    base = settings.base_url
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            async def signed(phone):
                ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
                page = await ctx.new_page()
                watch = Watch(page, base)
                await page.goto(base + "/console/login", wait_until="load")
                await _sms_sign_in(page, client, phone)
                return page, watch

            page, watch = await signed(mphone)
            await page.goto(base + "/console/shop/aftersales", wait_until="load")
            sel = f"[data-case='{case['id']}']"
            assert "盒子压扁了" in await page.inner_text(sel)
            await page.fill(f"{sel} textarea[name=reason]", "照片看不出破损")
            async with page.expect_navigation():
                await page.click(f"{sel} button[value='0']")
            assert (await AfterSale.get(id=case["id"])).status == "rejected"
            watch.check()

            r = await world.buyer.post(f"/api/v1/aftersales/{case['id']}/escalate", json={"reason": "确实破了"})
            assert r.status_code == 200

            page, watch = await signed(ophone)
            await page.goto(base + "/console/aftersales", wait_until="load")
            assert "确实破了" in await page.inner_text(sel)
            await page.fill(f"{sel} textarea[name=reason]", "物流破损，商家承担")
            async with page.expect_navigation():
                await page.click(f"{sel} button[value='1']")
            assert (await AfterSale.get(id=case["id"])).status == "awaiting_return"
            await page.goto(base + "/console/aftersales/windows", wait_until="load")
            assert await page.is_visible("#windows")
            watch.check()

            page, watch = await signed(sphone)
            await page.goto(base + f"/console/station/{world.net.village.id}", wait_until="load")
            async with page.expect_navigation():
                await page.click("#aftersales-returns")
            async with page.expect_navigation():
                await page.click(f"{sel} button[type=submit]")
            got = await AfterSale.get(id=case["id"])
            assert got.status in ("refunding", "done") and got.return_parcel_label
            watch.check()

            page, watch = await signed(wphone)
            assert await page.is_visible("#unpicks-waiting")   # the desk's home says some wait
            async with page.expect_navigation():
                await page.click("#unpicks-waiting a")
            assert page.url == base + "/console/warehouse/unpicks"
            async with page.expect_navigation():
                await page.click(f"[data-unpick='{item.id}'] button")
            assert (await UnpickItem.get(id=item.id)).status == "done"
            assert not await page.is_visible(f"[data-unpick='{item.id}']")
            watch.check()
        finally:
            await browser.close()


async def test_pages_keep_to_their_scope_and_refuse_bad_input(world, settings):
    m, case = await _case(world)
    other_m, _ = await f.merchant_with_skus(1)
    _, mine_phone = await operator("merchant", merchant_id=m.id)
    _, other_phone = await operator("merchant", merchant_id=other_m.id)
    _, other_station_phone = await operator("station_staff", station_id=world.net.village2.id)
    other = await sign_in(settings, other_phone)
    r = await other.page("/console/shop/aftersales")
    assert r.status_code == 200 and case["case_no"] not in r.text
    r = await other.post(f"/console/shop/aftersales/{case['id']}/answer", {"approve": "1"}, htmx=False)
    assert r.status_code == 404
    mine = await sign_in(settings, mine_phone)
    r = await mine.page("/console/shop/aftersales")
    assert case["case_no"] in r.text
    r = await mine.post(f"/console/shop/aftersales/{case['id']}/answer", {"approve": "0", "reason": ""}, htmx=False)
    assert r.status_code == 422 and "原因" in r.text
    # beside the case's reason box, not as a page of its own
    card = r.text.split(f'data-case="{case["id"]}"', 1)[1].split("</section>", 1)[0]
    assert 'data-field="reason"' in card and "请填写原因" in card
    # a foreign case is a 404 whatever the body (the scope before the reason)
    r = await other.post(f"/console/shop/aftersales/{case['id']}/answer", {"approve": "0", "reason": ""}, htmx=False)
    assert r.status_code == 404
    r = await mine.post(f"/console/shop/aftersales/{case['id']}/answer", {"approve": "1"}, htmx=False, csrf=False)
    assert r.status_code == 403
    assert (await AfterSale.get(id=case["id"])).status == "requested"
    r = await mine.post(f"/console/shop/aftersales/{case['id']}/answer", {"approve": "1"}, htmx=False)
    assert r.status_code == 303
    # the shop's policy on the same page: replacement offered, "changed mind" taken; another shop's is a 404
    form = (await mine.page("/console/shop/aftersales")).text
    assert f'data-policy="{m.id}"' in form and f'data-policy="{other_m.id}"' not in form
    r = await mine.post(f"/console/shop/aftersales/policy/{m.id}", {"offers_replacement": "1"}, htmx=False)
    assert r.status_code == 303
    p = await AfterSalesPolicy.get(merchant_id=m.id)
    assert (p.offers_replacement, p.accepts_changed_mind) == (True, False)
    r = await mine.post(f"/console/shop/aftersales/policy/{other_m.id}", {"offers_replacement": "1"}, htmx=False)
    assert r.status_code == 404 and not await AfterSalesPolicy.filter(merchant_id=other_m.id).exists()
    r = await mine.post(f"/console/shop/aftersales/policy/{m.id}", {"accepts_changed_mind": "1"}, htmx=False, csrf=False)
    assert r.status_code == 403
    assert (await AfterSalesPolicy.get(merchant_id=m.id)).accepts_changed_mind is False
    # a station not on the order's route: not listed, a 404 when tried
    st = await sign_in(settings, other_station_phone)
    assert case["case_no"] not in (await st.page("/console/station/returns")).text
    r = await st.post(f"/console/station/returns/{case['id']}/receive",
                      {"station_id": str(world.net.village2.id)}, htmx=False)
    assert r.status_code == 404
    r = await st.post(f"/console/station/returns/{case['id']}/receive", {"station_id": "abc"}, htmx=False)
    assert r.status_code == 422
    assert (await AfterSale.get(id=case["id"])).status == "awaiting_return"
    # the pages of other roles are refused
    assert (await st.page("/console/aftersales")).status_code == 403
    assert (await mine.page("/console/warehouse/unpicks")).status_code == 403


async def test_office_forms_name_the_field_beside_it(world, client, settings):
    """The office's decision without a reason and a window of 0 or "abc" hours: 422, the message beside
    the case's reason box or the category's hours box, nothing changed."""
    m, case = await _case(world)
    merchant = await login_as(client, "merchant", merchant_id=m.id)
    await merchant.post(f"/api/v1/merchant/aftersales/{case['id']}/answer", json={"approve": False, "reason": "不符"})
    assert (await world.buyer.post(f"/api/v1/aftersales/{case['id']}/escalate",
                                   json={"reason": "确实破了"})).json()["status"] == "escalated"
    _, phone = await operator("admin", name="王主任")
    office = await sign_in(settings, phone)
    r = await office.post(f"/console/aftersales/{case['id']}/decide", {"approve": "1", "reason": " "}, htmx=False)
    assert r.status_code == 422
    card = r.text.split(f'data-case="{case["id"]}"', 1)[1].split("</section>", 1)[0]
    assert 'data-field="reason"' in card and "请填写原因" in card
    assert (await AfterSale.get(id=case["id"])).status == "escalated"
    own = await Category.create(slug="asw-" + secrets.token_hex(3), name="粘豆包")
    for bad in ("0", "abc", "99999"):
        r = await office.post("/console/aftersales/windows", {"category_id": str(own.id), "hours": bad}, htmx=False)
        assert r.status_code == 422, (bad, r.text[-500:])
        row = r.text.split(f'data-category="{own.id}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-field="hours"' in row and "2160" in row, bad
    assert not await AfterSalesWindow.filter(category_id=own.id).exists()
    r = await office.post("/console/aftersales/windows", {"category_id": str(own.id), "hours": "72"}, htmx=False)
    assert r.status_code == 303 and (await AfterSalesWindow.get(category_id=own.id)).hours == 72
    await office.client.aclose()
