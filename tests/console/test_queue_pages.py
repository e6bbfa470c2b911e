"""The desk's smaller queues: refunds waiting (reject from the list, a second click told), station
alerts acknowledged, SLA breaches listed, shipping uploads settled by a person; each tile of the desk
links to its list."""
from __future__ import annotations

import secrets
from datetime import timedelta

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


async def needs_person(client, errcode: int = 10060004) -> tuple[str, int]:
    """A mini-program order shipped two hours ago whose upload WeChat refused for good: (order no, task id)."""
    from server.fulfillment import service, shipping
    from server.kit import clock
    from server.models.fulfillment import FulfillmentTask
    from tests.conftest import login

    buyer = await login(client)
    net = await f.network()
    _, skus = await f.merchant_with_skus(1, stock=10)
    order = await f.paid_order(buyer.id, [(skus[0], 1)], station=net.village)
    task_id = await service.handoff(order.id)
    await FulfillmentTask.filter(id=task_id).update(
        status="shipped", shipped_at=clock.now() - timedelta(hours=2), shipping_state="needs_person",
        shipping_attempts=1, shipping_errcode=errcode, shipping_error=shipping.FINAL_MESSAGES[errcode])
    return order.order_no, task_id


async def test_shipping_uploads_needing_a_person(office, client):
    from server.models.audit import AuditLog
    from server.models.fulfillment import FulfillmentTask

    order_no, task_id = await needs_person(client)
    other_no, other_id = await needs_person(client, 10060002)
    r = await office.page("/console/")
    assert 'href="/console/shipping-uploads"' in r.text and 'data-queue="shipping_uploads_late"' in r.text
    r = await office.page("/console/shipping-uploads")
    assert r.status_code == 200 and f'data-upload="{task_id}"' in r.text and order_no in r.text
    assert "支付单处于不可发货的状态" in r.text and "10060004" in r.text
    # a note too long is named beside its field, the typed text kept, nothing changed
    long_note = "很" * 201
    r = await office.post(f"/console/shipping-uploads/{task_id}/resolve", {"action": "done", "note": long_note})
    assert 'data-field="note"' in r.text and "备注最多 200 个字" in r.text and long_note in r.text
    assert (await FulfillmentTask.get(id=task_id)).shipping_state == "needs_person"
    r = await office.post(f"/console/shipping-uploads/{task_id}/resolve", {"action": "later"})
    assert 'data-field="action"' in r.text
    # without the CSRF token: refused
    r = await office.post(f"/console/shipping-uploads/{task_id}/resolve", {"action": "done"}, csrf=False)
    assert r.headers.get("HX-Retarget") == "#flash" and "页面已失效" in r.text
    assert (await FulfillmentTask.get(id=task_id)).shipping_state == "needs_person"
    # done, with a note: settled, audited with the note; a second click is told, not repeated
    r = await office.post(f"/console/shipping-uploads/{task_id}/resolve", {"action": "done", "note": "已在微信后台手动录入"})
    assert r.status_code == 200 and "已标记为人工处理完毕" in r.text and "已人工处理" in r.text
    assert (await FulfillmentTask.get(id=task_id)).shipping_state == "resolved"
    entry = await AuditLog.filter(action="shipping.done", object_id=str(task_id)).first()
    assert entry is not None and entry.data["note"] == "已在微信后台手动录入" and entry.ip
    r = await office.post(f"/console/shipping-uploads/{task_id}/resolve", {"action": "done"})
    assert r.headers.get("HX-Retarget") == "#flash" and "已不需要人工处理" in r.text
    # retry: back into the retry lane
    r = await office.post(f"/console/shipping-uploads/{other_id}/resolve", {"action": "retry"})
    assert "已安排再试一次" in r.text and "待重试" in r.text
    assert (await FulfillmentTask.get(id=other_id)).shipping_state == "pending"
    r = await office.page("/console/shipping-uploads")
    assert f'data-upload="{task_id}"' not in r.text and f'data-upload="{other_id}"' not in r.text
    r = await office.page("/console/shipping-uploads?state=resolved")
    assert f'data-upload="{task_id}"' in r.text
    r = await office.page("/console/shipping-uploads?state=bogus")
    assert r.status_code == 200 and 'href="/console/shipping-uploads?state=needs_person" class="on"' in r.text


async def test_refunds_waiting_for_the_unpick_have_their_tab(office, client):
    """Gap of #25: refunds approved but waiting for the warehouse to put units back (unpicking) are listed
    under their own tab with the units still to go back; other tabs do not show them."""
    from server.fulfillment import service
    from server.models.fulfillment import TaskLine, UnpickItem
    from server.models.payments import Refund
    from tests.conftest import login

    buyer = await login(client)
    net = await f.network()
    _, skus = await f.merchant_with_skus(1, stock=10)
    order = await f.paid_order(buyer.id, [(skus[0], 3)], station=net.village)
    task_id = await service.handoff(order.id)
    line = await TaskLine.get(task_id=task_id)
    refund = await Refund.create(refund_no="RT" + secrets.token_hex(6), order_id=order.id, amount_fen=2000,
                                 status="unpicking", reason="不想要了")
    await UnpickItem.create(task_id=task_id, line_id=line.id, sku_id=skus[0].id, quantity=2, refund_id=refund.id)
    r = await office.page("/console/refunds")
    assert 'href="/console/refunds?status=unpicking"' in r.text and "待回架" in r.text
    assert f'data-refund="{refund.id}"' not in r.text
    r = await office.page("/console/refunds?status=unpicking")
    assert r.status_code == 200 and f'data-refund="{refund.id}"' in r.text
    assert f'<small data-waiting="{refund.id}">还有 2 件待放回货架</small>' in r.text
    assert 'href="/console/warehouse/unpicks"' in r.text
    r = await office.page("/console/refunds?status=nonsense")
    assert r.status_code in (200, 400) and f'data-refund="{refund.id}"' not in r.text
