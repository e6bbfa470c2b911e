"""Image upload: content checked by magic bytes and decoding (not the name), size limit, dimensions."""
import io

import httpx

from tests.catalog.conftest import png_bytes


async def test_upload_png_jpeg_webp_and_serve(client, shop, settings):
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        data = png_bytes(64, 48, fmt)
        r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/images",
                                   files={"file": ("photo.gif", data, "text/plain")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["width"], body["height"], body["size"]) == (64, 48, len(data))
        path = body["url"].split("/media/", 1)[1]
        served = await client.get("/media/" + path)
        assert served.status_code == 200 and served.content == data
    r = await shop.member.post("/api/v1/merchant/images", files={"file": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 201
    # the returned URL is what a product takes as an image
    from tests.catalog.conftest import category, create_product

    p = await create_product(shop, await category(), images=[r.json()["url"]])
    assert p["images"] == [r.json()["url"]]


async def test_rejects_disguised_damaged_oversized_and_missing(client, shop, settings):
    url = f"/api/v1/merchant/merchants/{shop.id}/images"
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    r = await shop.member.post(url, files={"file": ("cat.png", gif, "image/png")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_file_type"
    html = b"<html><script>alert(1)</script></html>"
    assert (await shop.member.post(url, files={"file": ("x.jpg", html, "image/jpeg")})).status_code == 422
    pdf = b"%PDF-1.4\n..."
    assert (await shop.member.post(url, files={"file": ("x.png", pdf, "image/png")})).status_code == 422
    truncated = png_bytes(200, 200)[:80]
    r = await shop.member.post(url, files={"file": ("x.png", truncated, "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (settings.media_image_max_bytes + 1)
    r = await shop.member.post(url, files={"file": ("x.png", big, "image/png")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    r = await shop.member.post(url, files={"other": ("x.png", png_bytes(), "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    assert (await shop.member.post(url, files={"file": ("x.png", b"", "image/png")})).status_code == 422


async def test_decompression_bomb_is_refused(client, shop):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (10000, 10000)).save(buf, "PNG")  # 100 megapixels in a few KB
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/images",
                               files={"file": ("x.png", buf.getvalue(), "image/png")})
    assert r.status_code == 422, r.text


async def test_documents_for_other_capabilities(app):
    """store_upload detects documents by content too (the training capability uses it)."""
    import zipfile

    from server.kit.errors import ValidationFailed
    from server.media import DOCUMENT_KINDS, store_upload

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("ppt/presentation.xml", "<p/>")
    stored = await store_upload(buf.getvalue(), kind="training", filename="课件.pptx",
                                allowed=DOCUMENT_KINDS, max_bytes=10**6)
    assert stored.key.endswith(".pptx") and "presentationml" in stored.content_type
    pdf = await store_upload(b"%PDF-1.7\n%%EOF", kind="training", filename="a.pdf", allowed=DOCUMENT_KINDS,
                             max_bytes=10**6)
    assert pdf.content_type == "application/pdf" and pdf.width is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("a.txt", "x")
    try:
        await store_upload(plain_zip.getvalue(), kind="training", filename="a.docx", allowed=DOCUMENT_KINDS,
                           max_bytes=10**6)
        raise AssertionError("a plain zip is not an office document")
    except ValidationFailed:
        pass


async def test_upload_needs_a_merchant(client, consumer):
    r = await consumer.post("/api/v1/merchant/images", files={"file": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 403
    assert isinstance(r, httpx.Response)
