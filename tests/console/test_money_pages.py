"""The money-out pages (#23) through the console's own forms and htmx fragments: a station's cash
hand-over and the office's confirmation (a difference flagged), a merchant's live proposals and the
office's 选品池, statements (office all, payees their own, xlsx and PDF), fee terms; scoping in pages
and fragments; bad inputs named beside their fields."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from server.kit import clock
from server.models.cash import CashHandover
from server.models.live_consent import LiveConsent, LivePoolProduct
from server.models.merchants import Merchant
from server.models.settlement import FeeTerm
from tests.conftest import login
from tests.console.conftest import operator, sign_in
from tests.settlement.helpers import make_statement
from tests.cash.conftest import villages
from tests.stations.conftest import make_paid_order, make_sku


async def _staff_page(settings, station_id):
    _, phone = await operator("station_staff", name="站长", station_id=station_id)
    return await sign_in(settings, phone)


async def test_station_cash_page_and_office_confirmation(client, settings, office):
    net = await villages()
    a, b = net["a"], net["b"]
    buyer = await login(client)
    await make_paid_order(buyer.id, a.id, sku=await make_sku(price=2800))
    await make_paid_order(buyer.id, b.id, sku=await make_sku(price=999))
    staff = await _staff_page(settings, a.id)
    r = await staff.page("/console/cash")
    assert r.status_code == 200 and f'id="cash-{a.id}"' in r.text and f'id="cash-{b.id}"' not in r.text
    assert 'href="/console/cash"' in r.text and 'href="/console/cash-handovers"' not in r.text   # the NAV
    assert '<b data-figure="owed">¥28.00</b>' in r.text
    url = f"/console/cash/{a.id}/handovers"
    for bad in ("0", "-5", "abc", "1.234", ""):
        r = await staff.post(url, {"amount": bad, "note": ""})
        assert r.status_code == 200 and 'data-field="amount"' in r.text, (bad, r.text[-800:])
    r = await staff.post(url, {"amount": "28.01"})
    assert 'data-field="amount"' in r.text and "最多 28.00 元" in r.text
    # another station's block: a 404 flash, nothing recorded
    r = await staff.post(f"/console/cash/{b.id}/handovers", {"amount": "1"})
    assert r.headers.get("HX-Retarget") == "#flash" and "未找到" in r.text
    assert not await CashHandover.filter(station_id=b.id).exists()
    r = await staff.post(url, {"amount": "28", "note": "交给县中心"})
    assert r.status_code == 200 and "已登记解缴 28.00 元" in r.text and '<b data-figure="pending">¥28.00</b>' in r.text
    h = await CashHandover.get(station_id=a.id)
    assert h.declared_fen == 2800 and h.status == "pending"
    # the office's desk is not the station's
    assert (await staff.page("/console/cash-handovers")).status_code == 403
    r = await staff.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "28"})
    assert r.headers.get("HX-Retarget") == "#flash" and "此页面仅供县电商办使用" in r.text
    # the office confirms ¥27.50: the difference needs a note, then it is flagged
    r = await office.page("/console/cash-handovers")
    assert f'data-handover="{h.id}"' in r.text and a.name in r.text
    assert f'data-owing="{a.id}"' in r.text and f'data-owing="{b.id}"' in r.text   # b owes ¥9.99, nothing handed over
    r = await office.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "27.5"})
    assert 'data-field="note"' in r.text and (await CashHandover.get(id=h.id)).status == "pending"
    r = await office.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "0", "note": "x"})
    assert 'data-field="received"' in r.text
    r = await office.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "99", "note": "x"})
    assert 'data-field="received"' in r.text and "重新清点" in r.text
    r = await office.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "27.50", "note": "少五角"})
    assert r.status_code == 200 and 'data-flag="difference"' in r.text and "短款 ¥0.50" in r.text
    r = await office.post(f"/console/cash-handovers/{h.id}/confirm", {"received": "27.50", "note": "again"})
    assert r.headers.get("HX-Retarget") == "#flash" and "已处理过" in r.text
    r = await office.page("/console/cash-handovers?status=confirmed&flagged=true")
    assert f'data-handover="{h.id}"' in r.text
    r = await staff.page("/console/cash")
    assert '<b data-figure="owed">¥0.50</b>' in r.text and "少五角" in r.text
    await staff.client.aclose()


async def test_merchant_consents_and_the_pool(client, settings, office):
    from tests.live.conftest import make_goods, make_streamer

    goods, theirs = await make_goods(pooled=False), await make_goods(pooled=False)
    streamer = await make_streamer(client)
    today = clock.local_today()
    body = {"live_price": 2500, "commission_bp": 1000, "quota": 20, "starts_on": str(today),
            "ends_on": str(today + timedelta(days=3)), "note": "周末专场"}
    c = (await streamer.post("/api/v1/live/consents", json={"sku_id": goods.sku_id, **body})).json()
    c2 = (await streamer.post("/api/v1/live/consents", json={"sku_id": theirs.sku_id, **body})).json()
    _, phone = await operator("merchant", name="老醋坊", merchant_id=goods.merchant_id)
    m = await sign_in(settings, phone)
    r = await m.page("/console/live-consents")
    assert r.status_code == 200 and f'data-consent="{c["id"]}"' in r.text and f'data-consent="{c2["id"]}"' not in r.text
    assert "喀左小醋娘" in r.text and "¥25.00" in r.text
    assert 'href="/console/live-consents"' in r.text and 'href="/console/live-pool"' not in r.text
    # another merchant's proposal: a 404 flash, untouched
    r = await m.post(f"/console/live-consents/{c2['id']}/accept")
    assert r.headers.get("HX-Retarget") == "#flash" and "未找到" in r.text
    assert (await LiveConsent.get(id=c2["id"])).status == "proposed"
    r = await m.post(f"/console/live-consents/{c['id']}/accept")
    assert r.status_code == 200 and "已同意" in r.text and "终止合作" in r.text
    assert (await LiveConsent.get(id=c["id"])).status == "accepted"
    assert (await m.page("/console/live-pool")).status_code == 403
    # the office's pool: bad inputs beside their fields, then a product in and out
    r = await office.page("/console/live-pool")
    assert r.status_code == 200 and 'id="pool-form"' in r.text
    for data, name in [({"product_id": "", "min_price": "80", "max_commission": "10", "agreement": "协议"}, "product_id"),
                       ({"product_id": "987654321", "min_price": "80", "max_commission": "10", "agreement": "协议"},
                        "product_id"),
                       ({"product_id": str(theirs.product_id), "min_price": "101", "max_commission": "10",
                         "agreement": "协议"}, "min_price"),
                       ({"product_id": str(theirs.product_id), "min_price": "80", "max_commission": "-1",
                         "agreement": "协议"}, "max_commission"),
                       ({"product_id": str(theirs.product_id), "min_price": "80", "max_commission": "10",
                         "agreement": ""}, "agreement")]:
        r = await office.post("/console/live-pool", data, htmx=False)
        assert r.status_code == 200 and f'data-field="{name}"' in r.text, (name, r.text[-1500:])
    assert not await LivePoolProduct.filter(product_id=theirs.product_id).exists()
    r = await office.post("/console/live-pool", {"product_id": str(theirs.product_id), "min_price": "85.5",
                                                 "max_commission": "12", "agreement": "标准条款 2026-015"}, htmx=False)
    assert r.status_code == 200 and "已将“喀左老陈醋”加入选品池" in r.text
    row = await LivePoolProduct.get(product_id=theirs.product_id)
    assert (row.min_price_bp, row.max_commission_bp) == (8550, 1200)
    r = await office.post(f"/console/live-pool/{row.id}/remove")
    assert r.status_code == 200 and "已移出" in r.text
    await m.client.aclose()


async def test_statement_pages_scope_and_downloads(client, settings, office):
    buyer = await login(client)
    st, order, merchant_id = await make_statement(buyer.id)
    other_st, _, _ = await make_statement(buyer.id)
    _, phone = await operator("merchant", name="老醋坊", merchant_id=merchant_id)
    m = await sign_in(settings, phone)
    r = await m.page("/console/statements")
    assert f'data-statement="{st.id}"' in r.text and f'data-statement="{other_st.id}"' not in r.text
    r = await m.page(f"/console/statements/{st.id}")
    assert r.status_code == 200 and order.order_no in r.text and f'data-order="{order.id}"' in r.text
    name = (await Merchant.get(id=merchant_id)).name
    assert name in r.text
    assert (await m.page(f"/console/statements/{other_st.id}")).status_code == 404
    assert (await m.page(f"/console/statements/{other_st.id}/xlsx")).status_code == 404
    assert (await m.page(f"/console/statements/{other_st.id}/pdf")).status_code == 404
    r = await m.page(f"/console/statements/{st.id}/xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    if os.path.exists("/usr/bin/chromium"):
        r = await m.page(f"/console/statements/{st.id}/pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    # the office: all, filtered by payee kind and period
    r = await office.page("/console/statements?account_type=merchant")
    assert f'data-statement="{st.id}"' in r.text and f'data-statement="{other_st.id}"' in r.text
    r = await office.page("/console/statements?account_type=station")
    assert f'data-statement="{st.id}"' not in r.text
    period = st.period_end.astimezone(clock.SHANGHAI).date().isoformat()
    assert f'data-statement="{st.id}"' in (await office.page(f"/console/statements?period={period}")).text
    r = await office.page("/console/statements?period=2020-01-01")
    assert f'data-statement="{st.id}"' not in r.text
    r = await office.page("/console/statements?period=not-a-date")
    assert r.status_code == 200 and 'data-field="period"' in r.text
    assert (await office.page(f"/console/statements/{other_st.id}")).status_code == 200
    # a station's staff sees no merchant's statement
    net = await villages()
    staff = await _staff_page(settings, net["a"].id)
    assert f'data-statement="{st.id}"' not in (await staff.page("/console/statements")).text
    assert (await staff.page(f"/console/statements/{st.id}")).status_code == 404
    await m.client.aclose()
    await staff.client.aclose()


async def test_fee_terms_page(client, settings, office):
    sku = await make_sku()
    merchant_id = (await sku.product).merchant_id
    name = (await Merchant.get(id=merchant_id)).name
    r = await office.page(f"/console/fee-terms?party_type=merchant&party={merchant_id}")
    assert r.status_code == 200 and 'id="in-force"' in r.text
    base = {"party_type": "merchant", "party": name, "note": "合作社优惠"}
    for data, field in [({**base, "fee": "abc"}, "fee"), ({**base, "fee": "101"}, "fee"),
                        ({**base, "fee": "5", "effective_from": "2020-01-01T00:00"}, "effective_from"),
                        ({**base, "party": "没有这个商户", "fee": "5"}, "party")]:
        r = await office.post("/console/fee-terms", data, htmx=False)
        assert r.status_code == 200 and f'data-field="{field}"' in r.text, (field, r.text[-1500:])
    assert not await FeeTerm.filter(party_type="merchant", party_id=merchant_id).exists()
    later = (clock.now() + timedelta(days=2)).astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    r = await office.post("/console/fee-terms", {**base, "fee": "3.5", "effective_from": later}, htmx=False)
    assert r.status_code == 200 and "已设置：3.50%" in r.text and "3.50%" in r.text
    t = await FeeTerm.get(party_type="merchant", party_id=merchant_id)
    assert t.fee_bp == 350 and t.effective_from.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M") == later


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()
