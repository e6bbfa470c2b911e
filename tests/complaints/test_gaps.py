"""Complaints (#26 gaps): the merchant desk's home counts the shop's open complaints; the office exports
the figures as CSV from /console/complaints; the station desk's two lists are paged (pages and API)."""
from __future__ import annotations

import csv
import io

from tests.complaints.test_pages import _complaint, _other_merchant
from tests.console.conftest import operator, sign_in


async def test_merchant_home_counts_open_complaints(world, settings):
    w = world
    _, phone = await operator("merchant", name="王秀兰", merchant_id=w.shop.merchant.id)
    desk = await sign_in(settings, phone)
    _, other_phone = await operator("merchant", name="赵老板", merchant_id=(await _other_merchant()))
    other = await sign_in(settings, other_phone)
    try:
        r = await desk.page("/console/shop/")
        before = 0
        if 'id="complaints-open"' in r.text:
            before = int(r.text.split('id="complaints-open">')[1].split("<")[0])
        c = await _complaint(w)
        r = await desk.page("/console/shop/")
        assert r.status_code == 200 and 'id="complaints-waiting"' in r.text
        assert f'id="complaints-open">{before + 1}<' in r.text
        unanswered = int(r.text.split('id="complaints-unanswered">')[1].split("<")[0])
        assert unanswered >= 1 and 'href="/console/shop/complaints"' in r.text
        r = await desk.post(f"/console/shop/complaints/{c['id']}/answer", {"text": "已联系顾客换货"})
        assert "答复已提交" in r.text
        r = await desk.page("/console/shop/")
        assert f'id="complaints-unanswered">{unanswered - 1}<' in r.text
        # another shop: none of ours
        assert 'id="complaints-waiting"' not in (await other.page("/console/shop/")).text
    finally:
        await desk.client.aclose()
        await other.client.aclose()


async def test_office_exports_the_figures_as_csv(world, settings):
    w = world
    await _complaint(w, kind="quality")
    _, phone = await operator("admin", name="李科长")
    desk = await sign_in(settings, phone)
    _, m_phone = await operator("merchant", name="王秀兰", merchant_id=w.shop.merchant.id)
    shop = await sign_in(settings, m_phone)
    try:
        r = await desk.page("/console/complaints")
        assert 'href="/console/complaints/figures.csv?days=30"' in r.text
        r = await desk.page("/console/complaints/figures.csv?days=30")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == ["分组", "项目", "数值"]
        total = next(x for x in rows if x[1] == "投诉总数")
        assert int(total[2]) >= 1
        quality = [x for x in rows if x[0] == "类型" and x[1] == "质量/食品安全"]
        assert quality and int(quality[0][2]) >= 1
        assert any(x[0] == "乡镇" for x in rows)
        # bad input: the default period, never a 500
        r = await desk.page("/console/complaints/figures.csv?days=abc")
        assert r.status_code == 200 and "近30天" in r.content.decode("utf-8-sig")
        # the office only
        r = await shop.page("/console/complaints/figures.csv")
        assert r.status_code in (403, 404)
    finally:
        await desk.client.aclose()
        await shop.client.aclose()


async def _file(w, n: int) -> list[int]:
    ids = []
    for i in range(n):
        r = await w.staff.post(f"/api/v1/station/{w.shop.net.village.id}/complaints",
                               json={"kind": "delivery", "text": f"村民反映第{i}件：送货慢", "reporter_phone": "13700008888"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def test_station_lists_are_paged(world, settings):
    w = world
    v1 = w.shop.net.village.id
    ids = await _file(w, 22)
    # the API: a page of each list, with its own cursor
    r = await w.staff.get(f"/api/v1/station/{v1}/complaints", params={"limit": 10})
    assert r.status_code == 200, r.text
    got = r.json()
    assert [c["id"] for c in got["filed"]] == sorted(ids, reverse=True)[:10] and got["filed_next"]
    r = await w.staff.get(f"/api/v1/station/{v1}/complaints", params={"limit": 10, "cursor": got["filed_next"]})
    assert [c["id"] for c in r.json()["filed"]] == sorted(ids, reverse=True)[10:20]
    r = await w.staff.get(f"/api/v1/station/{v1}/complaints", params={"about_cursor": "nonsense!"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "about_cursor"
    assert (await w.other_staff.get(f"/api/v1/station/{v1}/complaints")).status_code == 404
    # the desk: 20 a page, the next page link, then the rest
    _, phone = await operator("station_staff", name="刘站长", station_id=v1)
    desk = await sign_in(settings, phone)
    try:
        r = await desk.page(f"/console/station/{v1}/complaints")
        assert r.status_code == 200
        first = r.text.split('id="filed"')[1].split("</ul>")[0]
        assert first.count("data-complaint=") == 20 and f'data-complaint="{max(ids)}"' in first
        nav = r.text.split('id="filed-pager"')[1].split("</nav>")[0]
        href = nav.split('href="')[1].split('"')[0].replace("&amp;", "&")
        r = await desk.page(href)
        second = r.text.split('id="filed"')[1].split("</ul>")[0]
        assert f'data-complaint="{min(ids)}"' in second and f'data-complaint="{max(ids)}"' not in second
        assert "第一页" in r.text.split('id="filed-pager"')[1].split("</nav>")[0]
        # a cursor that is not ours: the first pages, no error
        r = await desk.page(f"/console/station/{v1}/complaints?cursor=bogus&about_cursor=bogus")
        assert r.status_code == 200 and f'data-complaint="{max(ids)}"' in r.text
    finally:
        await desk.client.aclose()
