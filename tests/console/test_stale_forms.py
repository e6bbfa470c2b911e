"""Stale edit forms: a form loaded before someone else changed the object is refused with a clear
message on the page (the service answers 409 stale_object), what was typed is kept, and saving again
after reading the message is a choice made knowing both. A double click on save is told the same way.
The JSON API takes the same `version` (optional: clients that send none are not checked)."""
from __future__ import annotations

import re
import secrets

from tests.catalog.conftest import make_station

VERSION = re.compile(r'name="version" value="([0-9a-f]{16})"')


def _version_in(html: str, anchor: str) -> str:
    """The version carried by the form after `anchor` in the page."""
    return VERSION.search(html, html.index(anchor)).group(1)


async def test_station_edit_from_a_stale_form(office, admin):
    from server.models.stations import Station

    sid = await make_station()
    r = await office.page(f"/console/stations/{sid}")
    mine = _version_in(r.text, 'id="station-edit"')
    # a colleague changes the contact meanwhile (through the API, with the version they read)
    theirs = (await admin.get(f"/api/v1/console/stations/{sid}")).json()
    assert theirs["version"] == mine
    r = await admin.patch(f"/api/v1/console/stations/{sid}", json={"contact_name": "李站长", "version": theirs["version"]})
    assert r.status_code == 200 and r.json()["version"] != mine
    # my form, loaded before: refused on the page, nothing overwritten, what I typed kept
    form = {"name": "土城子村服务站", "status": "active", "contact_name": "王会计", "version": mine}
    r = await office.post(f"/console/stations/{sid}", form)
    assert r.status_code == 200 and 'id="stale"' in r.text and "已被他人修改" in r.text and "没有保存" in r.text
    assert "联系人“李站长”" in r.text and "名称“测试服务站”" in r.text   # what they saved, named
    assert 'value="王会计"' in r.text and 'value="土城子村服务站"' in r.text   # what I typed, kept
    st = await Station.get(id=sid)
    assert st.contact_name == "李站长" and st.name == "测试服务站"
    # the page now carries the current version: saving again, knowingly, goes through
    now = _version_in(r.text, 'id="station-edit"')
    assert now == (await admin.get(f"/api/v1/console/stations/{sid}")).json()["version"]
    r = await office.post(f"/console/stations/{sid}", {**form, "version": now})
    assert "已保存" in r.text and 'id="stale"' not in r.text
    st = await Station.get(id=sid)
    assert st.contact_name == "王会计" and st.name == "土城子村服务站"
    # a double click: the second save of the same form is told, not applied twice
    r = await office.post(f"/console/stations/{sid}", {**form, "version": now})
    assert 'id="stale"' in r.text
    # without HTMX (a plain post) the page answers 409
    r = await office.post(f"/console/stations/{sid}", {**form, "version": now}, htmx=False)
    assert r.status_code == 409 and "已被他人修改" in r.text


async def test_station_api_stale_version_is_409_and_no_version_is_unchecked(admin):
    sid = await make_station()
    st = (await admin.get(f"/api/v1/console/stations/{sid}")).json()
    r = await admin.patch(f"/api/v1/console/stations/{sid}", json={"address": "村委会东侧", "version": st["version"]})
    assert r.status_code == 200
    r = await admin.patch(f"/api/v1/console/stations/{sid}", json={"address": "村委会西侧", "version": st["version"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_object"
    assert r.json()["error"]["details"]["version"] == (await admin.get(f"/api/v1/console/stations/{sid}")).json()["version"]
    r = await admin.patch(f"/api/v1/console/stations/{sid}", json={"address": "村委会西侧"})
    assert r.status_code == 200 and r.json()["address"] == "村委会西侧"
    r = await admin.patch(f"/api/v1/console/stations/{sid}", json={"version": "x" * 65})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "version"


async def test_category_and_brand_rows_from_a_stale_page(office, admin):
    from server.models.catalog import Brand, Category

    slug, code = "s" + secrets.token_hex(3), "kz_" + secrets.token_hex(3)
    await office.post("/console/taxonomy/categories", {"name": "山货", "slug": slug, "sort": "7"})
    r = await office.post("/console/taxonomy/brands", {"name": "喀左山货", "code": code, "sort": "7"})
    cat, brand = await Category.get(slug=slug), await Brand.get(code=code)
    r = await office.page("/console/taxonomy")
    cat_v = _version_in(r.text, f'data-category="{slug}"')
    brand_v = _version_in(r.text, f'data-brand="{code}"')
    # someone renames both meanwhile (API, unchecked)
    assert (await admin.patch(f"/api/v1/console/categories/{cat.id}", json={"name": "山珍"})).status_code == 200
    assert (await admin.patch(f"/api/v1/console/brands/{brand.id}", json={"name": "喀左山珍"})).status_code == 200
    # my rows, from the page loaded before: refused beside the row, typed values kept
    r = await office.post(f"/console/taxonomy/categories/{cat.id}", {"name": "干货", "sort": "3", "version": cat_v})
    assert f'data-row="c{cat.id}"' in r.text and "这个类目在您打开页面后已被他人修改" in r.text
    row = r.text[r.text.index(f'data-category="{slug}"'):]
    assert 'value="干货"' in row[:1500] and 'value="3"' in row[:1500]
    assert (await Category.get(id=cat.id)).name == "山珍"
    r = await office.post(f"/console/taxonomy/brands/{brand.id}", {"name": "喀左干货", "sort": "7", "version": brand_v})
    assert f'data-row="b{brand.id}"' in r.text and "这个区域品牌在您打开页面后已被他人修改" in r.text
    assert (await Brand.get(id=brand.id)).name == "喀左山珍"
    # from the refreshed row (current version), the save goes through
    r = await office.post(f"/console/taxonomy/categories/{cat.id}",
                          {"name": "干货", "sort": "3", "version": _version_in(r.text, f'data-category="{slug}"')})
    assert "已保存类目“干货”" in r.text and (await Category.get(id=cat.id)).name == "干货"
    # the API: a stale version is 409, a current one passes
    cur = next(c for c in (await admin.get("/api/v1/console/categories")).json() if c["id"] == cat.id)
    r = await admin.patch(f"/api/v1/console/categories/{cat.id}", json={"sort": 1, "version": cat_v})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_object"
    r = await admin.patch(f"/api/v1/console/categories/{cat.id}", json={"sort": 1, "version": cur["version"]})
    assert r.status_code == 200 and r.json()["sort"] == 1
    cur = next(b for b in (await admin.get("/api/v1/console/brands")).json() if b["id"] == brand.id)
    r = await admin.patch(f"/api/v1/console/brands/{brand.id}", json={"hidden": True, "version": brand_v})
    assert r.status_code == 409
    r = await admin.patch(f"/api/v1/console/brands/{brand.id}", json={"hidden": True, "version": cur["version"]})
    assert r.status_code == 200 and r.json()["hidden"] is True
