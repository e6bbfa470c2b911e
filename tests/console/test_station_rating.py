"""The station desk shows the station's own rating (gap of #30): the mean of the station stars buyers
gave in shown reviews, how many gave them, and the latest of them; a held review does not count;
another station's staff see none of it (404), and a station with no stars says so."""
from __future__ import annotations

import os

import pytest

from server.models.orders import Order
from tests.conftest import login
from tests.console.conftest import operator, sign_in
from tests.console.test_browser import _browser, _desk, _sms_sign_in
from tests.reviews.conftest import make_order, make_product
from tests.stats.test_screen_browser import CHROMIUM


async def _rated_station(client) -> int:
    """A station two buyers rated 5 and 2 (shown), and one held review (sensitive words) with 1."""
    _, _, sku = await make_product()
    first = None
    for stars, text in ((5, "站长很热情"), (2, "取货排队太久"), (1, "加微信返现")):
        buyer = await login(client)
        order, line = await make_order(buyer.id, sku)
        if first is None:
            first = order.station_id
        else:
            await Order.filter(id=order.id).update(station_id=first)
        r = await buyer.post(f"/api/v1/order-lines/{line.id}/review",
                             json={"product_stars": 5, "delivery_stars": 5, "station_stars": stars, "text": text})
        assert r.status_code in (200, 201), r.text
    return first


async def test_station_staff_see_their_rating_only(client, settings, app):
    sid = await _rated_station(client)
    _, phone = await operator("station_staff", station_id=sid)
    _, other_phone = await operator("station_staff", station_id=(await make_order((await login(client)).id,
                                                                                (await make_product())[2]))[0].station_id)
    b, o = await sign_in(settings, phone), await sign_in(settings, other_phone)
    try:
        r = await b.page(f"/console/station/{sid}")
        assert r.status_code == 200
        block = r.text.split('id="station-rating"')[1].split("</div>")[0]
        assert "3.5" in block and "共 2 位买家为本站打分" in block
        assert "取货排队太久" in block and "站长很热情" in block and "加微信返现" not in block
        assert block.index("取货排队太久") < block.index("站长很热情")  # the latest first
        # another station's staff: a 404, and their own desk knows no stars yet
        assert (await o.page(f"/console/station/{sid}")).status_code == 404
        r = await o.page("/console/station")
        mine = await o.page(r.headers["location"])
        assert "还没有买家为本站打分" in mine.text and "站长很热情" not in mine.text
    finally:
        await b.client.aclose()
        await o.client.aclose()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_the_rating_on_the_desk_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    sid = await _rated_station(client)
    _, phone = await operator("station_staff", station_id=sid)
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _desk(browser, settings)
            await page.set_viewport_size({"width": 360, "height": 740})  # the station's phone
            await page.goto(settings.base_url + "/console/login", wait_until="load")
            await _sms_sign_in(page, client, phone)
            assert page.url.endswith(f"/console/station/{sid}")
            text = await page.inner_text("#station-rating")
            assert "3.5" in text and "共 2 位买家为本站打分" in text and "★★☆☆☆" in text
            watch.check()
        finally:
            await browser.close()
