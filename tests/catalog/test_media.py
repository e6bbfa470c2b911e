"""Image upload: content checked by magic bytes and decoding (not the name), size limit, dimensions."""
import io

import httpx
from PIL import Image

from tests.catalog.conftest import png_bytes


async def test_upload_png_jpeg_webp_and_serve(client, shop, settings):
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        data = png_bytes(64, 48, fmt)
        r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/images",
                                   files={"file": ("photo.gif", data, "text/plain")})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["width"], body["height"]) == (64, 48)
        path = body["url"].split("/media/", 1)[1]
        served = await client.get("/media/" + path)
        assert served.status_code == 200 and len(served.content) == body["size"]
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-type"] == ctype
        with Image.open(io.BytesIO(served.content)) as img:  # re-encoded, the same picture
            assert img.format == fmt and img.size == (64, 48)
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


async def test_images_are_re_encoded_without_trailing_data_or_exif(client, shop):
    """What is stored is only the picture: HTML appended to a PNG and a photo's EXIF (GPS included)
    are gone; the EXIF orientation is applied to the pixels, so the photo still stands upright."""
    url = f"/api/v1/merchant/merchants/{shop.id}/images"
    payload = b"<html><script>alert(document.cookie)</script></html>"
    polyglot = png_bytes(40, 30) + payload
    r = await shop.member.post(url, files={"file": ("a.png", polyglot, "image/png")})
    assert r.status_code == 201, r.text
    served = (await client.get("/media/" + r.json()["url"].split("/media/", 1)[1])).content
    assert payload not in served and b"<html" not in served
    with Image.open(io.BytesIO(served)) as img:
        assert img.size == (40, 30)

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to display
    exif[0x010F] = "KazuoPhoneCamera"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (41.0, 7.0, 48.0)  # GPSLatitudeRef, GPSLatitude
    buf = io.BytesIO()
    Image.new("RGB", (60, 20), (200, 30, 30)).save(buf, "JPEG", exif=exif)
    raw = buf.getvalue()
    assert b"KazuoPhoneCamera" in raw
    r = await shop.member.post(url, files={"file": ("p.jpg", raw, "image/jpeg")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (20, 60)  # upright
    served = (await client.get("/media/" + body["url"].split("/media/", 1)[1])).content
    assert b"KazuoPhoneCamera" not in served and b"Exif" not in served
    with Image.open(io.BytesIO(served)) as img:
        assert img.size == (20, 60) and not img.getexif()
