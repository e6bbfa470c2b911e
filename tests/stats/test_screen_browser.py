"""The big screen in a real headless browser (Debian's chromium driven by playwright): it renders with
data, updates itself when a new order is paid through checkout + the WeChat Pay simulator, and logs no
console errors. Skipped, saying why, when /usr/bin/chromium or playwright is missing."""
from __future__ import annotations

import asyncio
import os

import pytest

from server.models.live import LiveSession
from tests.conftest import login
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body
from tests.live.conftest import go_live, make_session, make_streamer

CHROMIUM = os.environ.get("KAZUO_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

async def _until(probe, timeout: float, what: str):
    """Poll a probe from Python (the page's CSP forbids the eval that wait_for_function needs)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def _screen_page(browser, errors: list[str]):
    """A 1920×1080 page that records console errors, page errors and failed requests into errors."""
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"requestfailed: {r.url} {r.failure}"))
    return page


pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is absent (apt-get install -y chromium) — the screen's browser test needs it"),
]


async def test_screen_renders_updates_on_payment_and_logs_no_errors(client, admin, settings, tmp_path):
    async_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed (pip install playwright)")
    sku = await make_sku(price=1234, stock=10)
    station = await make_station()
    buyer = await login(client)
    token = (await admin.post("/api/v1/console/stats/screen-tokens", json={"name": "浏览器测试"})).json()["token"]
    for i in range(3):  # more sessions on air than the panel shows: it lists two and counts the rest
        streamer = await make_streamer(client)
        session = (await make_session(streamer))["id"]
        # a long title stays on one line
        await LiveSession.filter(id=session).update(title=f"喀左紫陶与老陈醋丰收节助农特别直播专场（第{i + 1}场）")
        await go_live(streamer, session)

    errors: list[str] = []
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await _screen_page(browser, errors)
            resp = await page.goto(f"{settings.base_url}/screen?token={token}")
            assert resp is not None and resp.status == 200
            assert page.url.endswith("/screen")  # the token left the address bar
            navigations: list[str] = []
            page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
            # Rendered with data: the status line's time and the training targets from the server.

            async def rendered():
                return ":" in await page.inner_text("#status")

            await _until(rendered, 15, "the first render")
            assert "6130" in await page.inner_text("#training")
            assert await page.title() == "喀左特色馆 · 电子商务进农村数据大屏"
            before = int(await page.get_attribute("#gmv", "data-fen"))
            # A new order paid through the real path.
            r = await checkout(buyer, pickup_body(station.id, (sku.id, 3)))
            assert r.status_code in (200, 201), r.text
            await pay_and_notify(buyer, r.json()["id"])
            # The page polls (every 3 s, figures cached 2 s): the GMV moves up by the order, no reload.
            async def grown():
                fen = int(await page.get_attribute("#gmv", "data-fen"))
                return fen if fen >= before + 3702 else None

            target = await _until(grown, 20, "the paid order on the screen")

            async def settled():  # the ticking number comes to rest on the new figure
                return (await page.inner_text("#gmv")).replace(",", "") == f"{target / 100:.2f}"

            await _until(settled, 5, "the GMV to settle")
            assert "喀左陈醋" in await page.inner_text("#top")
            assert navigations == []  # updated in place, never reloaded
            # The hourly chart has values on its y axis; two years of history draw a monthly trend.
            assert len(await page.query_selector_all("#hours text.ytick")) == 3
            assert await page.query_selector("#trend polyline") is not None
            months = [await t.text_content() for t in await page.query_selector_all("#trend text:not(.ytick)")]
            assert len(months) >= 8 and all("." in m for m in months)
            # Coverage with no county list of poor villages: no percent, never met.
            cov = await page.inner_text("#coverage")
            assert "贫困村覆盖率" in cov and "总数未设定" in cov
            # Every town row lies inside its panel at 1920×1080 (22 towns fit in two columns).
            panel = await (await page.query_selector("#towns")).bounding_box()
            rows_ = await page.query_selector_all("#towns .town")
            assert rows_
            for row in rows_:
                box = await row.bounding_box()
                assert box["y"] + box["height"] <= panel["y"] + panel["height"] + 1, box
            await page.screenshot(path=str(tmp_path / "screen.png"))
            assert "共" in await page.inner_text("#live-count") and await page.locator("#live .live").count() == 2
            for sel in ("main", "#trend", "#hours", "#coverage", "#campaign", "#collection", "#training",
                        "#complaints"):
                box = await (await page.query_selector(sel)).bounding_box()
                assert box["y"] + box["height"] <= 1080, (sel, box)
                if sel == "main":
                    continue
                # and inside its own panel (a panel clips what overflows it)
                inside = await page.eval_on_selector(sel, "e => { const p = (e.closest('.panel') || e).getBoundingClientRect();"
                                                          " const b = e.getBoundingClientRect(); return b.bottom <= p.bottom + 1; }")
                assert inside, sel
        finally:
            await browser.close()
    assert errors == []


async def test_screen_towns_fit_and_count_never_goes_negative(client, admin, settings, monkeypatch):
    """22 towns all shown inside their panel; the count-up never shows a figure below zero even when
    the animation's first frame is stamped before its start."""
    async_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed (pip install playwright)")
    from server.stats import service as stats

    real = stats.screen_figures

    async def figures():
        d = await real()
        d["today"] = {**d["today"], "gmv_fen": 123456,
                      "towns": [{"town": f"第{i}镇名字较长", "orders": 30 - i, "gmv_fen": 100} for i in range(22)]}
        return d

    monkeypatch.setattr(stats, "screen_figures", figures)
    token = (await admin.post("/api/v1/console/stats/screen-tokens", json={"name": "乡镇测试"})).json()["token"]
    errors: list[str] = []
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await _screen_page(browser, errors)
            # rAF stamps its callbacks a little before performance.now() of the frame that asked
            await page.add_init_script("(function(){var raf=window.requestAnimationFrame.bind(window);"
                                       "window.requestAnimationFrame=function(cb){return raf(function(t){cb(t-50);});};})()")
            await page.goto(f"{settings.base_url}/screen?token={token}")
            seen: list[str] = []

            async def settled():
                text = await page.inner_text("#gmv")
                seen.append(text)
                return text == "1,234.56"

            await _until(settled, 15, "the GMV to settle")
            assert not any(t.startswith("-") for t in seen), seen
            panel = await (await page.query_selector("#towns")).bounding_box()
            rows_ = await page.query_selector_all("#towns .town")
            assert len(rows_) == 22
            for row in rows_:
                box = await row.bounding_box()
                assert panel["y"] <= box["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"] + 1, box
        finally:
            await browser.close()
    assert errors == []
