"""Media on OSS: oss2 against the OSS simulator, which checks the V1 signature of requests and of
signed URLs as OSS does; private documents only through signed URLs, which expire."""
from __future__ import annotations

import io
from datetime import timedelta
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

import oss2
import pytest
from PIL import Image

from server.integrations.oss import SIM_BUCKET, OssStorage, public_endpoint
from server.kit import clock, runtime
from server.media import get_storage, media_url, set_storage, store_upload
from server.media.upload import IMAGE_KINDS


@pytest.fixture
def oss(settings):
    return OssStorage.from_settings(settings.model_copy(update={"media_storage": "oss"}))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def test_public_object_round_trip(oss, client):
    key = "product/2026/12/ossroundtrip.png"
    await oss.save(key, b"png-bytes", "image/png")
    assert await oss.open(key) == b"png-bytes"
    assert oss.url(key).endswith(f"/{SIM_BUCKET}/{key}")
    r = await client.get(oss.url(key))  # public-read: no signature needed
    assert r.status_code == 200 and r.content == b"png-bytes" and r.headers["content-type"] == "image/png"
    await oss.delete(key)
    r = await client.get(oss.url(key))
    assert r.status_code == 404 and "<Code>NoSuchKey</Code>" in r.text
    with pytest.raises(oss2.exceptions.NoSuchKey):
        await oss.open(key)


async def test_a_bad_signature_is_refused(oss, settings, client):
    wrong = OssStorage(endpoint=settings.base_url, bucket=SIM_BUCKET, access_key_id=settings.aliyun_access_key_id,
                       access_key_secret="not-the-secret")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        await wrong.save("product/2026/12/badsig.png", b"x", "image/png")
    assert err.value.status == 403 and err.value.code == "SignatureDoesNotMatch"
    assert "PUT\n\nimage/png\n" in err.value.details["StringToSign"]
    unknown = OssStorage(endpoint=settings.base_url, bucket=SIM_BUCKET, access_key_id="LTAInobody",
                         access_key_secret="x")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        await unknown.save("product/2026/12/badsig.png", b"x", "image/png")
    assert err.value.code == "InvalidAccessKeyId"
    # A hand-made request: a signature over other bytes, and no signature at all, write nothing.
    url = f"/{SIM_BUCKET}/product/2026/12/handmade.png"
    r = await client.put(url, content=b"x", headers={"Date": formatdate(usegmt=True), "Content-Type": "image/png",
                                                     "Authorization": f"OSS {settings.aliyun_access_key_id}:AAAA"})
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text
    r = await client.put(url, content=b"x")
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    assert (await client.get(url)).status_code == 404
    # A correctly signed request from another time is refused too.
    clock.shift(timedelta(minutes=20))
    try:
        with pytest.raises(oss2.exceptions.ServerError) as err:
            await oss.save("product/2026/12/skewed.png", b"x", "image/png")
        assert err.value.code == "RequestTimeTooSkewed"
    finally:
        clock.reset()


async def test_private_documents_need_a_signed_url_that_expires(oss, client):
    key = "training/2026/12/archive.pdf"
    await oss.save(key, b"%PDF-1.4 archive", "application/pdf")
    assert (await client.get(oss.url(key))).status_code == 403  # private: the plain URL is refused
    signed = oss.signed_url(key, 600)
    assert "OSSAccessKeyId=" in signed and "Expires=" in signed and "Signature=" in signed
    r = await client.get(signed)
    assert r.status_code == 200 and r.content == b"%PDF-1.4 archive"
    assert (await client.get(signed.replace("archive.pdf", "archive2.pdf"))).status_code == 403
    clock.shift(timedelta(seconds=601))
    try:
        r = await client.get(signed)
        assert r.status_code == 403 and "Request has expired." in r.text
    finally:
        clock.reset()


async def test_uploads_go_to_oss_when_configured(oss, client):
    before = get_storage()
    set_storage(oss)
    try:
        stored = await store_upload(_png(), kind="product", filename="a.png", allowed=IMAGE_KINDS, max_bytes=10**6)
        assert stored.url.startswith(runtime.settings().base_url + f"/{SIM_BUCKET}/product/")
        assert (await client.get(stored.url)).content == _png()
        doc = await store_upload(b"%PDF-1.4 licence", kind="licence", filename="l.pdf",
                                 allowed=frozenset({"pdf"}), max_bytes=10**6)
        url = media_url(doc.key)
        assert "Signature=" in url and (await client.get(url)).status_code == 200
        assert (await client.get(doc.url)).status_code == 403
        assert "Signature=" not in media_url(stored.key)
    finally:
        set_storage(before)


def test_media_backend_follows_the_settings(settings):
    assert settings.media_backend == "local"
    assert settings.model_copy(update={"oss_bucket": "kazuo-media"}).media_backend == "oss"
    assert settings.model_copy(update={"media_storage": "local", "oss_bucket": "kazuo-media"}).media_backend == "local"


def test_clients_are_given_the_public_endpoint_when_the_server_uses_the_internal_one():
    """The server may reach its bucket over the region's internal endpoint (the README's example);
    the URLs it hands to phones and browsers name the public one, which they can reach. The signed URL's
    signature is the one the internal endpoint would give (V1 signs /bucket/key, not the host)."""
    assert public_endpoint("https://oss-cn-hangzhou-internal.aliyuncs.com") == "https://oss-cn-hangzhou.aliyuncs.com"
    assert public_endpoint("https://oss-cn-hangzhou.aliyuncs.com") == "https://oss-cn-hangzhou.aliyuncs.com"
    assert public_endpoint("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    oss = OssStorage(endpoint="https://oss-cn-hangzhou-internal.aliyuncs.com", bucket="kazuo-media",
                     access_key_id="LTAIkey", access_key_secret="secret")
    assert oss.bucket.endpoint == "https://oss-cn-hangzhou-internal.aliyuncs.com"  # the server's own calls
    assert oss.url("product/2026/12/a.jpg") == "https://kazuo-media.oss-cn-hangzhou.aliyuncs.com/product/2026/12/a.jpg"
    while True:  # both signed in the same second (their Expires equal)
        signed = urlsplit(oss.signed_url("licence/2026/12/b.pdf", 600))
        internal = urlsplit(oss.bucket.sign_url("GET", "licence/2026/12/b.pdf", 600, slash_safe=True))
        if parse_qs(signed.query)["Expires"] == parse_qs(internal.query)["Expires"]:
            break
    assert (signed.scheme, signed.netloc, signed.path) == ("https", "kazuo-media.oss-cn-hangzhou.aliyuncs.com",
                                                           "/licence/2026/12/b.pdf")
    assert internal.netloc == "kazuo-media.oss-cn-hangzhou-internal.aliyuncs.com"
    assert parse_qs(signed.query)["Signature"] == parse_qs(internal.query)["Signature"]
