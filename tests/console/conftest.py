"""The web console's helpers: operators made by phone, signed in through the console's own pages."""
from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image

CSRF = re.compile(r'name="_csrf" value="([0-9a-f]{64})"')


def png(w: int = 750, h: int = 300) -> bytes:
    """A real picture's bytes (a red rectangle, w x h)."""
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (180, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def new_phone() -> str:
    return "137" + f"{secrets.randbelow(10**8):08d}"


async def operator(role: str | None = "admin", *, name: str = "测试员", **scope) -> tuple[int, str]:
    """A user created by phone (as the office does), holding role: (user id, phone)."""
    from server.accounts import console, service

    phone = new_phone()
    user = await console.create_operator(name, phone, actor_id=None)
    if role:
        await service.grant_role(user.id, role, **scope)
    return user.id, phone


async def last_code(client: httpx.AsyncClient, phone: str) -> str:
    r = await client.get("/__sim__/aliyun/sms", params={"phone": phone})
    return r.json()["messages"][0]["params"]["code"]


def csrf_of(page: str) -> str:
    m = CSRF.search(page)
    assert m, page[:500]
    return m.group(1)


@dataclass
class Browser:
    """An httpx client that keeps cookies, as a browser does."""
    client: httpx.AsyncClient
    csrf: str = ""

    async def page(self, url: str) -> httpx.Response:
        r = await self.client.get(url)
        if r.status_code == 200 and "_csrf" in r.text:
            self.csrf = csrf_of(r.text)
        return r

    async def post(self, url: str, data: dict | None = None, *, htmx: bool = True, csrf: bool = True) -> httpx.Response:
        headers = {"HX-Request": "true"} if htmx else {}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return await self.client.post(url, data=data or {}, headers=headers)


async def sign_in(settings, phone: str) -> Browser:
    """Sign in through /console/login with the SMS code the simulator saw."""
    c = httpx.AsyncClient(base_url=settings.base_url, timeout=30, follow_redirects=False)
    b = Browser(c)
    r = await b.page("/console/login")
    assert r.status_code == 200, r.text
    r = await b.post("/console/login/code", {"phone": phone})
    assert r.status_code == 200 and r.headers.get("X-Kz-Sent") == "1", r.text
    r = await b.post("/console/login", {"phone": phone, "code": await last_code(c, phone)})
    assert r.status_code == 200 and r.headers.get("HX-Redirect") == "/console/", r.text
    r = await b.page("/console/")
    for _ in range(3):   # a workspace role is sent to its own home (the stations': via /console/station)
        if r.status_code != 303:
            break
        r = await b.page(r.headers["location"])
    assert r.status_code == 200, r.text
    return b


@pytest.fixture
async def office(settings, app) -> Browser:
    _, phone = await operator("admin", name="王主任")
    b = await sign_in(settings, phone)
    yield b
    await b.client.aclose()
