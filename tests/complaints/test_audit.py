"""#26 audit: the station desk's complaint form checks the station and the form before it stores a photo
(another station's staff get a 404 with nothing stored; a refused form stores nothing)."""
from __future__ import annotations

import asyncio

from server.complaints import service as complaints_service
from server.models.complaints import Complaint
from tests.complaints.conftest import png
from tests.console.conftest import operator, sign_in


async def test_station_form_stores_no_photo_before_its_checks(world, settings, monkeypatch):
    w = world
    v1, v2 = w.shop.net.village.id, w.shop.net.village2.id
    stored: list[str] = []
    real = complaints_service.store_photo

    async def counting(data: bytes, filename: str):
        out = await real(data, filename)
        stored.append(out.key)
        return out

    monkeypatch.setattr(complaints_service, "store_photo", counting)
    _, phone = await operator("station_staff", name="刘站长", station_id=v1)
    desk = await sign_in(settings, phone)
    _, phone2 = await operator("station_staff", name="周站长", station_id=v2)
    other = await sign_in(settings, phone2)
    good = {"kind": "delivery", "text": "包裹晚到三天，村民着急", "reporter_phone": "13700007777"}
    try:
        before = await Complaint.all().count()
        # another station's form: 404, no photo stored
        r = await other.client.post(f"/console/station/{v1}/complaints", data={"_csrf": other.csrf, **good},
                                    files=[("photos", ("a.png", png(), "image/png"))])
        assert r.status_code == 404, r.text[:300]
        # a refused form (the villager's phone): named beside its field, no photo stored
        r = await desk.client.post(f"/console/station/{v1}/complaints",
                                   data={"_csrf": desk.csrf, **good, "reporter_phone": "12345"},
                                   files=[("photos", ("a.png", png(), "image/png"))])
        assert r.status_code == 422 and 'data-field="reporter_phone"' in r.text
        assert stored == [] and await Complaint.all().count() == before
        # the same form filled in: the photo is stored and filed with it
        r = await desk.client.post(f"/console/station/{v1}/complaints", data={"_csrf": desk.csrf, **good},
                                   files=[("photos", ("a.png", png(), "image/png"))])
        assert r.status_code == 200 and "受理编号" in r.text
        c = await Complaint.filter(filed_at_station_id=v1).order_by("-id").first()
        assert len(stored) == 1 and c.photos == stored
    finally:
        await desk.client.aclose()
        await other.client.aclose()


async def _huge_form(settings, path: str) -> tuple[int, str, str]:
    """POST a form declared as 30 MB (only its first KB sent): (status, content type, body)."""
    reader, writer = await asyncio.open_connection(settings.host, settings.port)
    head = (f"POST {path} HTTP/1.1\r\nHost: {settings.host}:{settings.port}\r\nAccept: text/html\r\n"
            + "Content-Type: multipart/form-data; boundary=XyZ\r\n"
            + f"Content-Length: {30 << 20}\r\n\r\n").encode()
    part = b'--XyZ\r\nContent-Disposition: form-data; name="photos"; filename="big.jpg"\r\n\r\n'
    writer.write(head + part + b"\xff\xd8\xff" + b"0" * 1000)
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 10):
            data += chunk
    except (ConnectionError, asyncio.TimeoutError):
        pass
    writer.close()
    head_part, _, body = data.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1]) if head_part.startswith(b"HTTP/1.1") else 0
    ctype = next((ln.split(b":", 1)[1].strip().decode() for ln in head_part.split(b"\r\n")
                  if ln.lower().startswith(b"content-type:")), "")
    return status, ctype, body.decode("utf-8", "replace")


async def test_a_30_mb_photo_on_the_report_page_is_refused_beside_the_photos(world, settings):
    w = world
    before = await Complaint.all().count()
    status, ctype, body = await _huge_form(settings, f"/report/{w.item_code}")
    assert status == 413 and ctype.startswith("text/html"), (status, ctype, body[:300])
    assert 'data-field="file"' in body and "<form" in body and "举报未提交" in body
    assert await Complaint.all().count() == before
    status, ctype, body = await _huge_form(settings, "/report/NOSUCHCODE12")
    assert status == 404 and ctype.startswith("text/html")
    # the API keeps its JSON answer
    status, ctype, body = await _huge_form(settings, "/api/v1/complaints/photos")
    assert status == 413 and ctype.startswith("application/json") and "payload_too_large" in body
