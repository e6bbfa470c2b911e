"""Photos kept on Aliyun OSS: a product takes the bucket's URLs of its uploads (before, only the
app's /media URLs, so a merchant could not list a product with photos once media moved to OSS); the
console's Content-Security-Policy lets images load from where the uploads are kept (before,
`img-src 'self'` blocked every OSS photo); and the office reviews a product's photos as pictures, not
as a list of addresses. The OSS simulator is reached as
http://localhost:PORT while the console is http://127.0.0.1:PORT: another origin, as a bucket is."""
from __future__ import annotations

import os
import secrets

import pytest

from server.integrations.oss import SIM_BUCKET, OssStorage, credentials
from server.media import get_storage, key_of, media_origins, set_storage
from server.models.catalog_reviews import ProductReview
from tests.catalog.conftest import category, create_product, make_shop
from tests.console.conftest import operator, png
from tests.console.test_browser import _browser, _signed_in
from tests.stats.test_screen_browser import CHROMIUM, _until


@pytest.fixture
def on_oss(settings, app):
    """The app's media on the OSS simulator, addressed from another origin than the console's."""
    assert "127.0.0.1" in settings.base_url
    endpoint = settings.base_url.replace("127.0.0.1", "localhost")
    before = get_storage()
    ak, secret = credentials(settings)
    oss = OssStorage(endpoint=endpoint, bucket=SIM_BUCKET, access_key_id=ak, access_key_secret=secret)
    set_storage(oss)
    yield oss, endpoint
    set_storage(before)


async def _listing_with_photo(client, oss) -> tuple[int, str]:
    """A product submitted for its first listing with one photo on OSS: (review id, photo URL)."""
    key = f"product/2026/12/{secrets.token_hex(8)}.png"
    await oss.save(key, png(40, 30), "image/png")
    url = oss.url(key)
    shop = await make_shop(client)
    p = await create_product(shop, await category(), name="喀左紫砂壶" + secrets.token_hex(2), images=[url])
    r = await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    assert r.status_code == 200, r.text
    return (await ProductReview.get(product_id=p["id"], kind="listing", status="pending")).id, url


async def test_the_csp_names_where_the_uploads_are_and_the_review_shows_the_photos(on_oss, office, client, settings):
    oss, endpoint = on_oss
    assert media_origins() == (endpoint,)
    rid, url = await _listing_with_photo(client, oss)  # the bucket's URL is taken as an upload's (was a 422)
    assert key_of(url) == url.split(f"/{SIM_BUCKET}/", 1)[1] and key_of("/media/product/a.png") == "product/a.png"
    for foreign in ("https://evil.example/product/a.png", f"{endpoint}/other-bucket/product/a.png",
                    f"{endpoint}/{SIM_BUCKET}/../product/a.png", "javascript:alert(1)"):
        assert key_of(foreign) is None, foreign
    r = await office.page(f"/console/reviews/{rid}")
    csp = r.headers["content-security-policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src")).split()
    assert img_src == ["img-src", "'self'", "data:", endpoint], csp
    assert "script-src 'self';" in csp  # nothing else opened
    assert f'<img src="{url}" alt="商品照片 1"' in r.text and f'<a href="{url}" target="_blank"' in r.text
    set_storage(OssStorage(endpoint=endpoint, bucket=SIM_BUCKET, access_key_id="x", access_key_secret="y",
                           public_base_url="https://img.example.cn/kazuo"))  # a CDN in front of the bucket
    assert media_origins() == ("https://img.example.cn", endpoint)  # the photos' and the signed documents'
    r = await office.page(f"/console/reviews/{rid}")
    assert f"img-src 'self' data: https://img.example.cn {endpoint};" in r.headers["content-security-policy"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")
async def test_an_oss_photo_loads_on_the_review_page_in_chromium(on_oss, client, settings):
    playwright = pytest.importorskip("playwright.async_api")
    oss, endpoint = on_oss
    rid, url = await _listing_with_photo(client, oss)
    _, phone = await operator("admin", name="审核员")
    async with playwright.async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page, watch = await _signed_in(browser, settings, client, phone)
            await page.goto(f"{settings.base_url}/console/reviews/{rid}", wait_until="load")
            img = page.locator(f"tr[data-field=images] img[src='{url}']")
            assert await img.count() == 1  # a first listing: only the submitted side has photos
            await img.scroll_into_view_if_needed()
            await _until(lambda: img.evaluate("i => i.complete"), 10, "the photo to load")
            assert await img.evaluate("i => i.naturalWidth") == 40  # loaded, not refused
            assert watch.errors == [], (watch.errors, watch.refused)
            assert set(watch.foreign) == {url}  # the photo, from the bucket, and nothing else
        finally:
            await browser.close()
