"""#26 audit in headless Chromium: the big screen's 农产品上行 figures name the towns that sent up the most
(the issue asks for the figures per town on the screen, not only the county's total)."""
from __future__ import annotations

import os

import pytest

from server.kit import redis as kr
from tests.collection.conftest import collect
from tests.console.test_browser import _browser
from tests.stats.test_screen_browser import CHROMIUM, _screen_page, _until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")


async def _has(page, selector: str, text: str) -> bool:
    return await page.query_selector(selector) is not None and text in await page.inner_text(selector)


async def test_the_big_screen_names_the_collecting_towns(cworld, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    w = cworld
    await collect(w)
    await kr.cache_delete(kr.key("stats", "screen", "slow"))   # the year's figures are cached for a minute
    token = (await w.admin.post("/api/v1/console/stats/screen-tokens", json={"name": "揽收面板"})).json()["token"]
    top = (await w.admin.get("/screen/data")).json()["collection"]["by_town"][0]
    errors: list[str] = []
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await _screen_page(browser, errors)
            await page.goto(f"{settings.base_url}/screen?token={token}")
            await _until(lambda: _has(page, "#collection-towns", top["name"]), 15, "the collecting towns")
            assert f'{top["name"]} ¥{round(top["value_fen"] / 100):,}' in await page.inner_text("#collection-towns")
            inside = await page.eval_on_selector("#complaints", "e => e.getBoundingClientRect().bottom"
                                                 " <= e.closest('.panel').getBoundingClientRect().bottom + 1")
            assert inside   # the panel's last figures still fit below the new line
        finally:
            await browser.close()
    assert errors == []
