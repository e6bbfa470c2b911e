"""The village station's console pages over HTTP: today, a parcel scanned in (arrived and shelved in
one scan), a pickup verified by code (green, with the items) and refused (red, why), the lockout after
wrong codes explained, 代购 for a villager, 代卖; and scoping: another station's staff see none of it,
in pages and in every fragment."""
from __future__ import annotations

import secrets

from server.models.merchants import Merchant
from server.models.pickup import Pickup
from tests.conftest import login
from tests.console import desk_world as w
from tests.console.conftest import operator, sign_in


async def _at_village(client):
    buyer = await login(client)
    d = await w.desk(buyer.id)
    parcel = await w.pick_and_pack(d)
    await w.to_village(d, parcel)
    return d, parcel


async def test_scan_in_verify_and_hand_over(client, settings, app):
    d, parcel = await _at_village(client)
    _, phone = await operator("station_staff", station_id=d.net.village.id, name="李站长")
    b = await sign_in(settings, phone)
    base = f"/console/station/{d.net.village.id}"
    try:
        r = await b.client.get("/console/station")
        assert r.status_code == 303 and r.headers["location"] == base
        r = await b.page(base)
        assert parcel.label in r.text.split('id="arriving"')[1].split("</ul>")[0]
        # a label that is not a parcel, then the parcel: arrived and shelved in one scan
        r = await b.post(f"{base}/scan", {"kind": "arrived", "code": "NOPE" + secrets.token_hex(3).upper()})
        assert 'data-result="refused"' in r.text and "没有这个包裹条码" in r.text
        r = await b.post(f"{base}/scan", {"kind": "arrived", "code": f"KZP:{parcel.label}"})
        assert 'data-result="ok"' in r.text and "已到站" in r.text and "已上架待取" in r.text
        r = await b.post(f"{base}/scan", {"kind": "arrived", "code": parcel.label})
        assert "重复扫描" in r.text
        pickup = await Pickup.get(order_id=d.order.id)
        r = await b.page(base)
        waiting = r.text.split('id="waiting"')[1].split("</ul>")[0]
        assert d.order.order_no in waiting and "已等 0 天" in waiting and "已提醒 0 次" in waiting
        # verify: a 7-digit code is named; a wrong one is red and says why; the right one is green
        r = await b.post(f"{base}/verify", {"code": "1234567"})
        assert "提货码应为 8 位数字" in r.text
        wrong = "0" * 8 if pickup.code != "0" * 8 else "1" * 8
        r = await b.post(f"{base}/verify", {"code": wrong})
        assert "st-outcome red" in r.text and "提货码不正确" in r.text and "暂停核销" in r.text
        r = await b.post(f"{base}/verify", {"code": pickup.code})
        assert "st-outcome green" in r.text and "核销成功" in r.text
        assert d.skus[0].spec in r.text and "× 2" in r.text
        r = await b.post(f"{base}/verify", {"code": pickup.code})
        assert "st-outcome red" in r.text and "已经提过货了" in r.text
        assert (await Pickup.get(id=pickup.id)).status == "picked_up"
        # the buyer's QR, after the pickup: refused, with the reason
        from server.stations import codes

        r = await b.post(f"{base}/verify", {"code": codes.sign_qr(pickup.id, pickup.station_id, pickup.deadline_at)})
        assert "已经提过货了" in r.text
        r = await b.post(f"{base}/verify", {"code": "not-a-qr"})
        assert "二维码无效" in r.text
    finally:
        await b.client.aclose()


async def test_wrong_codes_lock_out_with_an_explanation(client, settings, app):
    from server.kit import runtime

    d, parcel = await _at_village(client)
    _, phone = await operator("station_staff", station_id=d.net.village.id)
    b = await sign_in(settings, phone)
    base = f"/console/station/{d.net.village.id}"
    try:
        await b.post(f"{base}/scan", {"kind": "arrived", "code": parcel.label})
        code = (await Pickup.get(order_id=d.order.id)).code
        wrong = [f"{n:08d}" for n in range(10**7, 10**7 + 40) if f"{n:08d}" != code]
        limit = runtime.settings().pickup_staff_wrong_limit
        for c in wrong[:limit]:
            r = await b.post(f"{base}/verify", {"code": c})
            assert "提货码不正确" in r.text
        r = await b.post(f"{base}/verify", {"code": code})   # even the right code waits now
        assert "输错次数过多，已暂停核销" in r.text and "防止有人猜码" in r.text and "需等待" in r.text
        assert (await Pickup.get(order_id=d.order.id)).status == "ready"
    finally:
        await b.client.aclose()


async def test_another_station_sees_nothing(client, settings, app):
    d, parcel = await _at_village(client)
    _, phone_a = await operator("station_staff", station_id=d.net.village.id)
    _, phone_b = await operator("station_staff", station_id=d.net.village2.id)
    a = await sign_in(settings, phone_a)
    b = await sign_in(settings, phone_b)
    mine = f"/console/station/{d.net.village2.id}"
    theirs = f"/console/station/{d.net.village.id}"
    try:
        await a.post(f"{theirs}/scan", {"kind": "arrived", "code": parcel.label})
        pickup = await Pickup.get(order_id=d.order.id)
        # b's own desk shows none of a's parcels or pickups
        r = await b.page(mine)
        assert r.status_code == 200 and parcel.label not in r.text and d.order.order_no not in r.text
        # every page and fragment of a's station: 404, nothing shown
        for path in ("", "/scan", "/verify", "/assisted", "/consign", "/assisted/goods?q=小米"):
            r = await b.client.get(theirs + path, headers={"HX-Request": "true"} if "goods" in path else {})
            assert r.status_code == 404 or ("未找到" in r.text and parcel.label not in r.text), path
            assert d.order.order_no not in r.text and parcel.label not in r.text, path
        for path, data in (("/verify", {"code": pickup.code}), ("/scan", {"kind": "arrived", "code": parcel.label}),
                           ("/assisted/villager", {"phone": "13900000000"}),
                           ("/assisted/orders", {"villager_id": "1", "sku_id": str(d.skus[0].id), "quantity": "1"}),
                           ("/assisted/orders/1/cash", {}), ("/assisted/villagers/1/bind", {})):
            r = await b.post(theirs + path, data)
            assert "核销成功" not in r.text and "已到站" not in r.text and "已收现金" not in r.text, path
            assert d.order.order_no not in r.text, path
        assert (await Pickup.get(id=pickup.id)).status == "ready"
        # a's pickup code typed at b's own station is simply wrong there
        r = await b.post(f"{mine}/verify", {"code": pickup.code})
        assert "提货码不正确" in r.text
        # the warehouse pages are not theirs either
        r = await b.client.get("/console/warehouse")
        assert r.status_code == 403
    finally:
        await a.client.aclose()
        await b.client.aclose()


async def test_assisted_order_for_a_villager_and_consigned_goods(client, settings, app):
    from tests.stations.conftest import make_sku

    d, _ = await _at_village(client)
    sid = d.net.village.id
    sku = await make_sku(price=3500)
    await Merchant.filter(id=d.merchant.id).update(operated_by_station_id=sid)
    _, phone = await operator("station_staff", station_id=sid)
    b = await sign_in(settings, phone)
    base = f"/console/station/{sid}"
    try:
        r = await b.post(f"{base}/assisted/villager", {"phone": "12"})
        assert 'data-field="phone"' in r.text
        vphone = "139" + f"{secrets.randbelow(10**8):08d}"
        r = await b.post(f"{base}/assisted/villager", {"phone": vphone, "name": "王大爷"})
        assert "王大爷" in r.text and "当面确认是本人" in r.text
        vid = int(r.text.split('data-villager="')[1].split('"')[0])
        r = await b.post(f"{base}/assisted/orders", {"villager_id": str(vid), "sku_id": str(sku.id), "quantity": "1"})
        assert "请先确认村民身份" in r.text
        r = await b.post(f"{base}/assisted/villagers/{vid}/bind", {})
        assert "已确认" in r.text
        from server.models.catalog import Product

        name = (await Product.get(id=sku.product_id)).name   # unique: the shared database holds many 小米
        r = await b.client.get(f"{base}/assisted/goods", params={"q": name, "villager_id": vid},
                               headers={"HX-Request": "true"})
        assert f'data-sku="{sku.id}"' in r.text
        idem = secrets.token_hex(16)
        form = {"villager_id": str(vid), "sku_id": str(sku.id), "quantity": "2", "idem": idem}
        r = await b.post(f"{base}/assisted/orders", form)
        assert "¥70.00" in r.text
        oid = int(r.text.split('data-order="')[1].split('"')[0])
        r = await b.post(f"{base}/assisted/orders", form)   # the same form sent twice: one order
        assert f'data-order="{oid}"' in r.text
        r = await b.post(f"{base}/assisted/orders/{oid}/native")
        assert "<svg" in r.text and "¥70.00" in r.text
        r = await b.post(f"{base}/assisted/orders/{oid}/cash")
        assert "已收现金 ¥70.00" in r.text
        # 代卖: the household this station sells for, with its goods and stock
        r = await b.page(f"{base}/consign")
        from server.models.catalog import Sku

        stock = (await Sku.get(id=d.skus[0].id)).stock
        assert d.merchant.name in r.text and f"库存 <b>{stock}</b>" in r.text
    finally:
        await b.client.aclose()
