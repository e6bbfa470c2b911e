"""The scan page in a real headless browser (Debian's chromium driven by playwright): it renders the
batch's data on a small phone screen, with no console errors and no request leaving the server."""
from __future__ import annotations

import os

import pytest

from tests.trace.conftest import make_batch, sell_from_batch

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


async def test_trace_page_in_chromium(client, settings, shop, admin):
    playwright = pytest.importorskip("playwright.async_api")
    b = await make_batch(shop)
    await sell_from_batch(shop, b["code"])
    code = (await shop.member.post(f"/api/v1/merchant/batches/{b['id']}/item-codes", json={"count": 1})).json()["codes"][0]
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # a cheap phone: narrow screen, 2x pixels
            page = await browser.new_page(viewport={"width": 360, "height": 640}, device_scale_factor=2,
                                          locale="zh-CN")
            errors: list[str] = []
            foreign: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(settings.base_url) else None)
            resp = await page.goto(code["url"], wait_until="load")
            assert resp.status == 200
            assert await page.title() == f"{(await _product_name(shop))} · 溯源信息"
            body = await page.inner_text("body")
            for text in ("产品与批次", b["code"], "王大爷", "西沟村", "东山坡2号地", "播种 谷子（小米）",
                         "朝阳市农产品质量检测中心", "合格", shop.net.village.name, "单品码 No.000001",
                         "本码第 1 次被查询"):
                assert text in body, text
            assert shop.buyer.user["phone"] not in body
            # fits the screen: no sideways scrolling on a 360 px phone
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            # after a recall the same page warns first
            r = await admin.post(f"/api/v1/console/trace/batches/{b['id']}/recall", json={"reason": "抽检不合格"})
            assert r.status_code == 201
            await page.reload(wait_until="load")
            assert await page.is_visible("#recall")
            assert "本批次已召回" in await page.inner_text("#recall")
            # an unknown code: a clear page, no stack trace
            resp = await page.goto(settings.base_url + "/t/NOTACODE", wait_until="load")
            assert resp.status == 404
            assert "未找到该溯源码" in await page.inner_text("body")
            # the 404 status itself is reported by chromium as a failed resource; nothing else may be
            assert [e for e in errors if "404" not in e] == [], errors
            assert foreign == [], foreign
        finally:
            await browser.close()


async def _product_name(shop) -> str:
    from server.models.catalog import Product

    return (await Product.get(id=shop.skus[0].product_id)).name
