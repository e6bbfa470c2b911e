"""The statistics page's charts: the vendored Chart.js is served from our own files with the hash its
README records, the page carries its numbers as a JSON data block (no inline script) and as tables,
and in Chromium both charts draw under the page's Content-Security-Policy with no console error."""
from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.console.conftest import operator, sign_in
from tests.stats.conftest import unique_month
from tests.stats.test_api import _stat
from tests.stats.test_screen_browser import CHROMIUM, _until

STATIC = Path(__file__).parents[2] / "server" / "console_web" / "static"


async def _month_of_sales():
    """Three days of figures in a month no other test writes to, and last year's for the target."""
    from server.stats.service import year_before

    day = unique_month().replace(day=3)
    for i, (gmv, orders) in enumerate(((120_000, 12), (80_000, 8), (200_050, 21))):
        await _stat(day + timedelta(days=i), "sales", "all", orders=orders, gmv_fen=gmv)
    await _stat(year_before(day), "sales", "all", orders=30, gmv_fen=300_000)
    return day.replace(day=1), day + timedelta(days=2)


def _data_block(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m, page[:400]
    return json.loads(m.group(1))


async def test_chart_library_is_vendored_with_its_recorded_hash(office):
    readme = (STATIC / "README.md").read_text()
    body = (STATIC / "chart.umd.js").read_bytes()
    assert hashlib.sha256(body).hexdigest() in readme
    assert b"Released under the MIT License" in body[:300]   # the licence notice stays with the file
    r = await office.page("/console/statistics")
    src = re.search(r'<script src="(/console/static/chart\.umd\.js[^"]*)"', r.text).group(1)
    served = await office.client.get(src)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == hashlib.sha256(body).hexdigest()
    assert "/console/static/charts.js" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    # no script in the page but our files and the JSON data block
    for tag in re.findall(r"<script[^>]*>", r.text):
        assert 'src="/console/static/' in tag or 'type="application/json"' in tag, tag


async def test_statistics_page_carries_chart_data_and_tables(office):
    start, end = await _month_of_sales()
    r = await office.page(f"/console/statistics?from={start}&to={end}")
    assert r.status_code == 200
    data = _data_block(r.text)
    assert data["daily"]["labels"] == [(end - timedelta(days=i)).isoformat() for i in (2, 1, 0)]
    assert data["daily"]["gmv_fen"] == [120_000, 80_000, 200_050] and data["daily"]["orders"] == [12, 8, 21]
    t = data["targets"]
    i = t["labels"].index("网络零售额(特色馆)")
    assert t["gmv_fen"][i] == 400_050 and t["last_year_gmv_fen"][i] == 300_000
    assert t["target_gmv_fen"][i] == 300_000 * 120 // 100   # the sales target: +20% on last year
    # the numbers as a table too (print, reading)
    assert f'data-day="{end}"' in r.text and "¥2,000.50" in r.text
    # an empty month: no chart of days, an explained empty state
    r = await office.page("/console/statistics?from=2040-01-01&to=2040-01-31")
    assert "本月还没有已统计的成交" in r.text and 'data-chart="daily"' not in r.text
    assert _data_block(r.text)["daily"]["labels"] == []


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_charts_draw_in_chromium_under_the_csp(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from tests.console.test_browser import _browser, _signed_in

    start, end = await _month_of_sales()
    _, phone = await operator("admin", name="统计员")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, phone)
            await page.goto(settings.base_url + f"/console/statistics?from={start}&to={end}", wait_until="load")

            async def drawn(canvas_id: str):
                return await page.evaluate(
                    "id => { const c = window.Chart && window.Chart.getChart(id);"
                    " return c ? c.data.datasets.map(d => d.data) : null; }", canvas_id)

            await _until(lambda: drawn("daily-chart"), 10, "the daily chart")
            daily = await drawn("daily-chart")
            assert daily[0] == [1200, 800, 2000.5] and daily[1] == [12, 8, 21]   # yuan bars, order line
            targets = await drawn("targets-chart")
            assert targets and len(targets) == 3
            box = await page.evaluate("document.getElementById('daily-chart').getBoundingClientRect().height")
            assert box > 100   # it has room to be read
            assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
            await page.emulate_media(media="print")
            assert not await page.is_visible("#daily-chart") and await page.is_visible("#daily")
            watch.check()
        finally:
            await browser.close()
