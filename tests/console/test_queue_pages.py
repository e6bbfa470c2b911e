"""The desk's smaller queues: refunds waiting (reject from the list, a second click told), station
alerts acknowledged, SLA breaches listed; each tile of the desk links to its list."""
from __future__ import annotations

import secrets

from tests.fulfillment import factories as f


async def test_refunds_alerts_and_breaches(office, client):
    from server.models.payments import Refund
    from server.models.pickup import StationAlert
    from tests.conftest import login

    buyer = await login(client)
    net = await f.network()
    _, skus = await f.merchant_with_skus(1, stock=10)
    order = await f.paid_order(buyer.id, [(skus[0], 1)], station=net.village)
    refund = await Refund.create(refund_no="RT" + secrets.token_hex(6), order_id=order.id, amount_fen=1234,
                                 status="requested", reason="发错了规格")
    r = await office.page("/console/")
    for href in ("/console/refunds", "/console/station-alerts", "/console/sla-breaches"):
        assert f'href="{href}"' in r.text
    r = await office.page("/console/refunds")
    assert f'data-refund="{refund.id}"' in r.text and "¥12.34" in r.text and "发错了规格" in r.text
    r = await office.post(f"/console/refunds/{refund.id}/reject")
    assert "已拒绝" in r.text
    r = await office.post(f"/console/refunds/{refund.id}/reject")
    assert r.headers.get("HX-Retarget") == "#flash" and "状态已经改变" in r.text
    r = await office.page("/console/refunds?status=rejected")
    assert f'data-refund="{refund.id}"' in r.text
    alert = await StationAlert.create(station_id=net.village.id, kind="pickup_code_guessing", message="取件码连续输错，已锁定")
    r = await office.page("/console/station-alerts")
    assert f'data-alert="{alert.id}"' in r.text
    r = await office.post(f"/console/station-alerts/{alert.id}/acknowledge")
    assert "已处理" in r.text
    r = await office.page("/console/station-alerts")
    assert f'data-alert="{alert.id}"' not in r.text
    r = await office.page("/console/sla-breaches")
    assert r.status_code == 200 and ("没有超时未送达的包裹" in r.text or "data-parcel" in r.text)
