"""The livestreamer's consent proposals in the live workspace (/console/live/consents): propose an
on-sale SKU of another merchant (bad input beside the field, nothing written), see one's own with
status, withdraw a pending one; another livestreamer sees and withdraws none of them; a tie-in
refused for want of consent shows the reason and a link to propose, prefilled."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from html import unescape

from server.kit import clock
from server.models.catalog import Product
from server.models.live import LiveTieIn
from server.models.live_consent import LiveConsent
from tests.console.test_live_desk import new_session, streamer_desk
from tests.live.conftest import make_goods


def _form(b, sku: int, **kw) -> dict:
    today = clock.local_today()
    return {"_csrf": b.csrf, "sku_id": str(sku), "live_price": "25", "commission_pct": "10", "quota": "20",
            "starts_on": str(today), "ends_on": str(today + timedelta(days=7)), "note": "周末专场", **kw}


async def test_propose_see_and_withdraw_only_ones_own(settings, app):
    b, uid = await streamer_desk(settings)
    other, other_id = await streamer_desk(settings, name="十家子小王")
    goods = await make_goods(pooled=False)   # list price ¥35.00
    try:
        r = await b.page("/console/live/consents")
        assert r.status_code == 200 and 'id="consent-form"' in r.text and "还没有" not in r.text
        word = "vinegar" + secrets.token_hex(4)   # a word of its own: a listing no other test has cached
        await Product.filter(id=goods.product_id).update(search_text=f"喀左老陈醋 {word}", visible=True)
        r = await b.client.get("/console/live/consents/skus", params={"q": word},
                               headers={"HX-Request": "true"})
        assert r.status_code == 200 and f'data-fill-sku="{goods.sku_id}"' in r.text
        today = clock.local_today()
        bad = [({"live_price": "abc"}, "live_price"), ({"live_price": "99"}, "live_price"),   # above list
               ({"commission_pct": "12.345"}, "commission_pct"), ({"commission_pct": "101"}, "commission_pct"),
               ({"quota": "0"}, "quota"), ({"sku_id": "999999999"}, "sku_id"),
               ({"ends_on": str(today - timedelta(days=1)), "starts_on": str(today - timedelta(days=3))}, "ends_on"),
               ({"ends_on": str(today), "starts_on": str(today + timedelta(days=2))}, "ends_on"),
               ({"starts_on": "someday"}, "starts_on")]
        for change, name in bad:
            r = await b.client.post("/console/live/consents", data=_form(b, goods.sku_id, **change))
            assert r.status_code == 200 and f'data-field="{name}"' in r.text, (change, r.text[-3000:])
            assert "申请未提交" in r.text
        assert not await LiveConsent.filter(sku_id=goods.sku_id).exists()
        r = await b.client.post("/console/live/consents", data=_form(b, goods.sku_id))
        assert "已向" in r.text and "提交合作申请" in r.text, r.text[-3000:]
        c = await LiveConsent.get(sku_id=goods.sku_id, livestreamer_id=uid)
        assert (c.live_price, c.commission_bp, c.quota, c.status) == (2500, 1000, 20, "proposed")
        row = re.search(rf'<tr data-consent="{c.id}">.*?</tr>', r.text, re.S).group(0)
        assert "待处理" in row and "¥25.00" in row and "10.00%" in row and "撤回" in row
        # another livestreamer: not in their list, cannot withdraw it
        r = await other.page("/console/live/consents")
        assert f'data-consent="{c.id}"' not in r.text
        r = await other.client.post(f"/console/live/consents/{c.id}/withdraw", data={"_csrf": other.csrf})
        assert r.status_code == 404 and (await LiveConsent.get(id=c.id)).status == "proposed"
        # a status tab, then the withdrawal
        r = await b.page("/console/live/consents?status=withdrawn")
        assert f'data-consent="{c.id}"' not in r.text
        r = await b.client.post(f"/console/live/consents/{c.id}/withdraw", data={"_csrf": b.csrf})
        assert "已撤回合作申请" in r.text and (await LiveConsent.get(id=c.id)).status == "withdrawn"
        row = re.search(rf'<tr data-consent="{c.id}">.*?</tr>', r.text, re.S).group(0)
        assert "主播已撤回" in row and "<button" not in row
        r = await b.client.post(f"/console/live/consents/{c.id}/withdraw", data={"_csrf": b.csrf})
        assert r.status_code == 409 and "已处理过" in r.text
    finally:
        for x in (b, other):
            await x.client.aclose()


async def test_a_tie_in_without_consent_shows_the_reason_and_a_link_to_propose(settings, app):
    b, _ = await streamer_desk(settings)
    try:
        sid = await new_session(b)
        goods = await make_goods(pooled=False)
        r = await b.post(f"/console/live/sessions/{sid}/tieins", {"sku_id": str(goods.sku_id), "live_price": "19.9",
                                                                  "quota": "5"})
        assert r.status_code == 200 and 'id="consent-needed"' in r.text
        assert 'data-field="sku_id"' in r.text and "须先取得该商户的同意" in r.text and "has not consented" in r.text
        href = unescape(re.search(r'<a href="(/console/live/consents\?[^"]+)"', r.text).group(1))
        assert f"sku_id={goods.sku_id}" in href and "live_price=19.9" in href and "quota=5" in href
        assert not await LiveTieIn.filter(session_id=sid).exists()
        r = await b.page(href)
        assert f'name="sku_id" value="{goods.sku_id}"' in r.text and 'name="live_price" value="19.9"' in r.text
    finally:
        await b.client.aclose()
