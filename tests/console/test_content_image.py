"""Banner pictures uploaded in the console's content editor (gap of #30): through server/media, images
only (checked by content, whatever the name or type claims); the answer fills the form's image field;
a non-image, an empty request and a missing CSRF token are refused; only the office may upload. In
Chromium: upload, the field is filled, the banner is saved with the uploaded picture."""
from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from server.media.storage import check_key, get_storage
from server.models.audit import AuditLog
from server.models.content import ContentItem
from tests.console.conftest import operator, png, sign_in
from tests.console.test_browser import Watch, _browser, _sms_sign_in
from tests.stats.test_screen_browser import CHROMIUM, _until


async def upload(b, data: bytes, name: str = "banner.png", ctype: str = "image/png", *, csrf: bool = True):
    headers = {"HX-Request": "true", "X-CSRF-Token": b.csrf} if csrf else {}
    return await b.client.post("/console/content/image", files={"file": (name, data, ctype)}, headers=headers)


async def test_the_office_uploads_a_banner_picture(office, settings):
    r = await office.page("/console/content/new")
    assert r.status_code == 200 and 'id="image-upload"' in r.text
    r = await upload(office, png())
    assert r.status_code == 200 and 'data-upload="ok"' in r.text and "750×300" in r.text
    url = re.search(r'id="content-image" value="([^"]+)" hx-swap-oob="true"', r.text).group(1)
    assert re.fullmatch(r"(https?://[^/]+)?/media/content/\d{4}/\d{2}/[0-9a-f]{40}\.png", url), url
    key = url.split("/media/", 1)[1]
    stored = await get_storage().open(check_key(key))
    assert Image.open(io.BytesIO(stored)).size == (750, 300)
    assert await AuditLog.filter(action="content.image", object_id=key).exists()
    # a banner saved with it
    form = {"kind": "banner", "title": "丰收节轮播", "image": url, "link": "/pages/campaign/detail?id=1",
            "enabled": "on", "sort": "0"}
    r = await office.post("/console/content/new", form, htmx=False)
    assert r.status_code == 303, r.text
    # not an image: refused by content, whatever it is called; the form's field is left alone
    r = await upload(office, b"<svg onload=alert(1)></svg>", "banner.png")
    assert r.status_code == 200 and 'data-upload="refused"' in r.text and "只能上传图片" in r.text
    assert "hx-swap-oob" not in r.text
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    r = await office.client.post("/console/content/image", files={"file": ("a.pdf", pdf, "application/pdf")},
                                 headers={"X-CSRF-Token": office.csrf})
    assert r.status_code == 422 and "只能上传图片" in r.text   # without htmx the status tells
    r = await office.post("/console/content/image", {"x": "1"})   # no file at all
    assert r.status_code == 200 and 'data-upload="refused"' in r.text
    big = os.urandom(settings.media_image_max_bytes + 1)
    r = await upload(office, big)
    assert 'data-upload="refused"' in r.text and "图片太大" in r.text
    r = await upload(office, png(), csrf=False)
    assert r.status_code == 403 and "hx-swap-oob" not in r.text


async def test_only_the_office_uploads_content_pictures(settings):
    _, phone = await operator("warehouse", name="仓管员")
    b = await sign_in(settings, phone)
    try:
        await b.page("/console/warehouse")
        r = await upload(b, png())   # htmx: the refusal as a flash fragment, nothing uploaded
        assert "data-upload" not in r.text and "hx-swap-oob" not in r.text
        r = await b.client.post("/console/content/image", files={"file": ("b.png", png(), "image/png")},
                                headers={"X-CSRF-Token": b.csrf})
        assert r.status_code == 403
    finally:
        await b.client.aclose()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_a_banner_with_an_uploaded_picture_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    _, phone = await operator("admin", name="王主任")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            watch = Watch(page, settings.base_url)
            await page.goto(settings.base_url + "/console/content/new", wait_until="load")
            await _sms_sign_in(page, client, phone)
            await page.goto(settings.base_url + "/console/content/new", wait_until="load")
            await page.select_option("select[name=kind]", "banner")
            await page.fill("input[name=title]", "喀左小米丰收节")
            await page.set_input_files("#image-upload input[type=file]", files=[{
                "name": "丰收节.png", "mimeType": "image/png", "buffer": png()}])
            await page.click("#image-upload button")
            await _until(lambda: page.is_visible("#image-upload-result [data-upload=ok]"), 10, "the upload")
            url = await page.input_value("#content-image")
            assert "/media/content/" in url and url.endswith(".png")
            assert await page.evaluate("document.querySelector('.content-image-preview').naturalWidth") == 750
            await page.check("input[name=enabled]")
            async with page.expect_navigation():
                await page.click("#content-form button[type=submit]")
            assert "已保存" in await page.inner_text(".flash.ok")
            assert await ContentItem.filter(kind="banner", title="喀左小米丰收节", image=url).exists()
            watch.check()
        finally:
            await browser.close()
