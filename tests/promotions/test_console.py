"""The promotion pages over HTTP: the office creates platform coupons and campaigns (bad input named
beside its field, nothing written), a merchant creates and pauses only its own coupons (another
shop's coupon is a 404), roles are checked, overlapping publishes are refused on the page."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock
from server.models.accounts import User
from server.models.promotions import Campaign, Coupon
from server.promotions import campaigns
from server.promotions.schemas import CampaignIn
from tests.console.conftest import operator, sign_in
from tests.conftest import login
from tests.orders.conftest import checkout, make_merchant, make_sku, make_station, pay_and_notify, pickup_body
from tests.promotions.conftest import claim, make_coupon


def _local(dt) -> str:
    return dt.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def coupon_form(**kw) -> dict:
    now = clock.now()
    return {"name": "中秋满99减10", "kind": "full_reduction", "threshold": "99", "amount": "10", "scope": "all",
            "valid_from": _local(now), "valid_until": _local(now + timedelta(days=7)), "total_quantity": "500",
            "per_person_limit": "1", "return_on_refund": "1", **kw}


async def test_office_coupons_page(settings, app, office):
    r = await office.page("/console/coupons")
    assert r.status_code == 200 and "新建优惠券" in r.text
    before = await Coupon.all().count()
    # bad input: named beside its field, nothing written
    r = await office.post("/console/coupons", coupon_form(threshold="5"), htmx=False)
    assert r.status_code == 200 and 'data-field="threshold"' in r.text
    r = await office.post("/console/coupons", coupon_form(valid_until=_local(clock.now() - timedelta(days=1))),
                          htmx=False)
    assert r.status_code == 200 and 'data-field="valid_until"' in r.text
    r = await office.post("/console/coupons", coupon_form(kind="percent", rate="12", amount=""), htmx=False)
    assert r.status_code == 200 and 'data-field="rate"' in r.text
    r = await office.post("/console/coupons", coupon_form(scope="product", scope_ids="abc"), htmx=False)
    assert r.status_code == 200 and 'data-field="scope_ids"' in r.text
    assert await Coupon.all().count() == before
    r = await office.post("/console/coupons", coupon_form(), htmx=False)
    assert r.status_code == 200 and "满99.00元减10.00元" in r.text, r.text[-2000:]
    c = await Coupon.all().order_by("-id").first()
    assert (c.funder, c.merchant_id, c.threshold_fen, c.amount_fen, c.total_quantity) == ("platform", None, 9900, 1000, 500)
    r = await office.post(f"/console/coupons/{c.id}/status", {"status": "paused"}, htmx=False)
    assert r.status_code == 200 and (await Coupon.get(id=c.id)).status == "paused"
    r = await office.post("/console/coupons/999999999/status", {"status": "paused"}, htmx=False)
    assert r.status_code == 404


async def test_merchant_coupons_are_its_own(settings, app, client):
    mine, theirs = await make_merchant(), await make_merchant()
    sku = await make_sku(merchant=mine)
    foreign = await make_sku(merchant=theirs)
    _, phone = await operator("merchant", name="老醋坊", merchant_id=mine.id)
    b = await sign_in(settings, phone)
    try:
        r = await b.page("/console/shop/coupons")
        assert r.status_code == 200 and "店铺优惠券" in r.text
        # a platform-wide scope, another shop's product, another shop: refused and named
        r = await b.post("/console/shop/coupons", coupon_form(merchant_id=str(mine.id), scope="all"), htmx=False)
        assert r.status_code == 200 and 'data-field="scope"' in r.text
        r = await b.post("/console/shop/coupons", coupon_form(merchant_id=str(mine.id), scope="product",
                                                              scope_ids=str(foreign.product_id)), htmx=False)
        assert r.status_code == 200 and 'data-field="scope_ids"' in r.text
        r = await b.post("/console/shop/coupons", coupon_form(merchant_id=str(theirs.id), scope="merchant"),
                         htmx=False)
        assert r.status_code == 200 and 'data-field="merchant_id"' in r.text
        assert not await Coupon.filter(merchant_id__in=[mine.id, theirs.id]).exists()
        r = await b.post("/console/shop/coupons", coupon_form(merchant_id=str(mine.id), scope="product",
                                                              scope_ids=str(sku.product_id)), htmx=False)
        assert r.status_code == 200 and "由本店承担" in r.text
        c = await Coupon.get(merchant_id=mine.id)
        assert (c.funder, c.scope, c.scope_ids) == ("merchant", "product", [sku.product_id])
        # another shop's coupon and the platform's: not found, untouched
        other = await make_coupon(merchant_id=theirs.id, scope="merchant", scope_ids=[theirs.id])
        platform = await make_coupon()
        for cid in (other.id, platform.id):
            r = await b.post(f"/console/shop/coupons/{cid}/status", {"status": "paused"}, htmx=False)
            assert r.status_code == 404
            assert (await Coupon.get(id=cid)).status == "active"
        page = (await b.page("/console/shop/coupons")).text
        assert f'data-coupon="{c.id}"' in page and f'data-coupon="{other.id}"' not in page
        assert f'data-coupon="{platform.id}"' not in page
        r = await b.post(f"/console/shop/coupons/{c.id}/status", {"status": "paused"}, htmx=False)
        assert r.status_code == 200 and (await Coupon.get(id=c.id)).status == "paused"
        # the office's pages are not a merchant's
        assert (await b.page("/console/coupons")).status_code == 403
        assert (await b.page("/console/campaigns")).status_code == 403
    finally:
        await b.client.aclose()


async def test_office_campaigns_page(settings, app, office):
    await Campaign.filter(status="published").update(status="withdrawn")
    sku = await make_sku()
    now = clock.now()
    form = {"title": "喀左年货节", "starts_at": _local(now + timedelta(days=10)),
            "ends_at": _local(now + timedelta(days=12)), "product_ids": str(sku.product_id)}
    r = await office.post("/console/campaigns", {**form, "ends_at": _local(now + timedelta(days=9))}, htmx=False)
    assert r.status_code == 200 and 'data-field="ends_at"' in r.text
    r = await office.post("/console/campaigns", {**form, "product_ids": "1,x"}, htmx=False)
    assert r.status_code == 200 and 'data-field="product_ids"' in r.text
    r = await office.post("/console/campaigns", form, htmx=False)
    assert r.status_code == 200 and "已创建活动草稿" in r.text
    first = await Campaign.filter(title="喀左年货节").order_by("-id").first()
    r = await office.post(f"/console/campaigns/{first.id}/publish", htmx=False)
    assert r.status_code == 200 and "已发布" in r.text
    r = await office.post("/console/campaigns", {**form, "title": "迎春"}, htmx=False)
    second = await Campaign.filter(title="迎春").order_by("-id").first()
    r = await office.post(f"/console/campaigns/{second.id}/publish", htmx=False)
    assert r.status_code == 200 and "时间重叠" in r.text and "喀左年货节" in r.text
    assert (await Campaign.get(id=second.id)).status == "draft"
    r = await office.post("/console/campaigns/999999999/publish", htmx=False)
    assert r.status_code == 404
    r = await office.post(f"/console/campaigns/{first.id}/withdraw", htmx=False)
    assert r.status_code == 303 and (await Campaign.get(id=first.id)).status == "withdrawn"


async def test_office_edits_a_campaign(settings, app, office, client):
    await Campaign.filter(status="published").update(status="withdrawn")
    sku, other_sku = await make_sku(), await make_sku()
    now = clock.now()
    form = {"title": "端午", "starts_at": _local(now + timedelta(days=30)),
            "ends_at": _local(now + timedelta(days=32)), "product_ids": str(sku.product_id)}
    await office.post("/console/campaigns", form, htmx=False)
    draft = await Campaign.filter(title="端午").order_by("-id").first()
    await office.post("/console/campaigns", {**form, "title": "七夕", "starts_at": _local(now + timedelta(days=40)),
                                             "ends_at": _local(now + timedelta(days=41))}, htmx=False)
    live = await Campaign.filter(title="七夕").order_by("-id").first()
    await office.post(f"/console/campaigns/{live.id}/publish", htmx=False)
    r = await office.page(f"/console/campaigns/{draft.id}/edit")
    assert r.status_code == 200 and f'action="/console/campaigns/{draft.id}"' in r.text and 'value="端午"' in r.text
    # bad input named, nothing written
    r = await office.post(f"/console/campaigns/{draft.id}", {**form, "product_ids": "x"}, htmx=False)
    assert r.status_code == 200 and 'data-field="product_ids"' in r.text
    r = await office.post(f"/console/campaigns/{draft.id}", {**form, "product_ids": "999999999"}, htmx=False)
    assert r.status_code == 200 and 'data-field="product_ids"' in r.text
    assert (await Campaign.get(id=draft.id)).product_ids == [sku.product_id]
    r = await office.post(f"/console/campaigns/{draft.id}",
                          {**form, "title": "端午安康", "product_ids": f"{sku.product_id},{other_sku.product_id}"},
                          htmx=False)
    assert r.status_code == 200 and "已保存" in r.text
    c = await Campaign.get(id=draft.id)
    assert (c.title, c.product_ids, c.status) == ("端午安康", [sku.product_id, other_sku.product_id], "draft")
    # a published campaign edited into another's time: refused on the page, kept as it was
    await office.post(f"/console/campaigns/{draft.id}/publish", htmx=False)
    r = await office.post(f"/console/campaigns/{live.id}", {**form, "title": "七夕"}, htmx=False)
    assert r.status_code == 200 and "端午安康" in r.text
    assert (await Campaign.get(id=live.id)).starts_at > now + timedelta(days=39)
    # unknown id; a merchant cannot reach it
    assert (await office.page("/console/campaigns/999999999/edit")).status_code == 404
    r = await office.post("/console/campaigns/999999999", form, htmx=False)
    assert r.status_code == 404
    _, phone = await operator("merchant", name="老醋坊", merchant_id=(await make_merchant()).id)
    b = await sign_in(settings, phone)
    try:
        assert (await b.page(f"/console/campaigns/{draft.id}/edit")).status_code == 403
        r = await b.post(f"/console/campaigns/{draft.id}", {**form, "title": "x"}, htmx=False)
        assert r.status_code == 403 and (await Campaign.get(id=draft.id)).title == "端午安康"
    finally:
        await b.client.aclose()
    await Campaign.filter(id__in=[draft.id, live.id]).update(status="withdrawn")


async def test_merchant_order_page_shows_its_coupon(settings, app, client):
    mine = await make_merchant()
    sku = await make_sku(price=1000, merchant=mine)
    shop = await make_coupon(merchant_id=mine.id, name="本店立减2元", amount_fen=200, scope="merchant",
                             scope_ids=[mine.id])
    platform = await make_coupon(name="平台立减1元", amount_fen=100)
    buyer = await login(client)
    ids = [await claim(buyer, shop.id), await claim(buyer, platform.id)]
    station = await make_station()
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1), coupon_ids=ids))
    assert r.status_code == 201 and r.json()["total_fen"] == 700, r.text
    _, phone = await operator("merchant", name="老醋坊", merchant_id=mine.id)
    b = await sign_in(settings, phone)
    try:
        page = (await b.page(f"/console/shop/orders/{r.json()['id']}")).text
        assert "优惠券共减 ¥3.00" in page and "本店券「本店立减2元」减 ¥2.00" in page
        assert "平台立减1元" not in page
    finally:
        await b.client.aclose()


async def test_a_running_campaigns_figures_on_the_console_list(settings, app, office, client):
    """The office's list shows a running campaign's orders, GMV (paid fen) and coupons used."""
    await Campaign.filter(status="published").update(status="withdrawn")
    sku = await make_sku(price=2000, stock=5)
    coupon = await make_coupon(kind="full_reduction", threshold_fen=1500, amount_fen=300)
    actor = (await User.create(openid="o-fig-" + str(clock.timestamp()))).id
    now = clock.now()
    c = await campaigns.create_campaign(CampaignIn.model_validate(
        {"title": "丰收节数据", "starts_at": now - timedelta(minutes=5), "ends_at": now + timedelta(days=1),
         "product_ids": [sku.product_id], "coupon_ids": [coupon.id]}), actor_id=actor)
    await campaigns.publish(c.id, actor_id=actor)
    try:
        buyer = await login(client)
        uc = await claim(buyer, coupon.id)
        r = await checkout(buyer, pickup_body((await make_station()).id, (sku.id, 1), coupon_ids=[uc]))
        assert r.status_code == 201 and r.json()["total_fen"] == 1700, r.text
        assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
        r = await office.page("/console/campaigns")
        assert r.status_code == 200
        row = r.text.split(f'<tr data-campaign="{c.id}">', 1)[1].split("</tr>", 1)[0]
        cells = [x.split("</td>", 1)[0] for x in row.split('<td class="num">')[1:]]
        assert cells == ["1", "¥17.00", "1"], row
    finally:
        await Campaign.filter(id=c.id).update(status="withdrawn")
        await campaigns._invalidate()
