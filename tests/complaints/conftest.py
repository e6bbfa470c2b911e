"""A shop with a batch, a paid order of it, a buyer, station staff of two villages and an admin."""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass

import pytest
from PIL import Image

from tests.conftest import Actor, login_as
from tests.fulfillment import factories as f
from tests.trace.conftest import Shop, make_batch, shop  # noqa: F401 (the shop fixture)


def png(w: int = 32, h: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class World:
    shop: Shop
    batch: dict
    order: object
    item_code: str
    staff: Actor          # staff of the order's pickup station (net.village)
    other_staff: Actor    # staff of the other village (net.village2)
    admin: Actor


async def item_code(shop: Shop, batch_id: int) -> str:
    r = await shop.member.post(f"/api/v1/merchant/batches/{batch_id}/item-codes", json={"count": 3})
    assert r.status_code in (200, 201), r.text
    return r.json()["codes"][0]["code"]


@pytest.fixture
async def world(client, shop) -> World:  # noqa: F811
    b = await make_batch(shop)
    order = await f.paid_order(shop.buyer.id, [(shop.skus[0], 2)], station=shop.net.village)
    staff = await login_as(client, "station_staff", station_id=shop.net.village.id)
    other = await login_as(client, "station_staff", station_id=shop.net.village2.id)
    admin = await login_as(client, "admin")
    return World(shop, b, order, await item_code(shop, b["id"]), staff, other, admin)


def new_ip_tag() -> str:
    return secrets.token_hex(2)


async def declare_huge_upload(settings, path: str, size: int = 30 << 20) -> tuple[int, bytes]:
    """POST a multipart body declared as `size` bytes (a 30 MB photo), sending only its first KB: the
    server must refuse it from the declared length, before reading it. (status, response head+body)"""
    import asyncio

    reader, writer = await asyncio.open_connection(settings.host, settings.port)
    head = (f"POST {path} HTTP/1.1\r\nHost: {settings.host}:{settings.port}\r\n"
            "Content-Type: multipart/form-data; boundary=XyZ\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    writer.write(head + b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
                 + b"\xff\xd8\xff" + b"0" * 1000)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, data
