"""Uncollected parcels: reminders at 24 h and 48 h, the return and refund after 7 days."""
from datetime import timedelta

from server.kit import runtime
from server.models.accounts import User
from server.models.orders import Order, OrderStatus
from server.models.payments import Refund
from server.models.pickup import Pickup, PickupReturn
from server.stations import service, uncollected
from tests.stations.conftest import make_order, make_paid_order
from tests.stations.test_pickup import eventually


async def messages(client, buyer_id):
    openid = (await User.get(id=buyer_id)).openid
    r = await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})
    # the pickup moment's messages only (a paid order also tells the buyer it was paid: #29)
    tid = runtime.settings().wechat_pickup_template_id
    return [m for m in r.json()["items"] if m["template_id"] == tid]


async def test_reminders_then_return_and_refund(client, net, buyer, shift_clock):
    order = await make_paid_order(buyer.id, net["a"].id, quantity=2)
    assert order.status == OrderStatus.PAID and order.paid_fen == order.total_fen > 0
    p = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    await eventually(lambda: messages(client, buyer.id))
    assert len(await messages(client, buyer.id)) == 1
    # nothing is due yet
    assert await uncollected.remind(p.id, 1) == {}
    shift_clock(timedelta(hours=24, minutes=1))
    assert (await uncollected.remind(p.id, 1)).get("wechat") is True
    assert await uncollected.remind(p.id, 1) == {}  # at most once
    assert await uncollected.remind(p.id, 2) == {}  # not yet 48 h
    shift_clock(timedelta(hours=24))
    assert (await uncollected.remind(p.id, 2)).get("wechat") is True
    items = await messages(client, buyer.id)
    assert len(items) == 3 and items[0]["data"]["thing4"]["value"].startswith("包裹待取")
    assert (await Pickup.get(id=p.id)).reminders_sent == 2
    # not returned before the deadline
    assert await uncollected.return_uncollected(p.id) is None
    shift_clock(timedelta(days=5, hours=1))
    ret_id = await uncollected.return_uncollected(p.id)
    assert ret_id is not None
    assert await uncollected.return_uncollected(p.id) is None  # once
    pk = await Pickup.get(id=p.id)
    assert pk.status == "returned" and pk.open_code is None and pk.returned_at
    ret = await PickupReturn.get(id=ret_id)
    assert ret.order_id == order.id and ret.station_id == net["a"].id and ret.status == "pending"
    # the refund job was enqueued with the return; calling it here races it, and exactly one wins
    await uncollected.refund_return(ret_id)
    assert await eventually(lambda: _refund_requested(ret_id))
    assert await uncollected.refund_return(ret_id) is None  # once
    refund_id = (await PickupReturn.get(id=ret_id)).refund_id
    assert await Refund.filter(order_id=order.id).count() == 1
    refund = await Refund.get(id=refund_id)
    assert refund.order_id == order.id and refund.amount_fen == order.total_fen
    # the code no longer hands anything over
    staff_code = pk.code
    assert await Pickup.filter(station_id=net["a"].id, open_code=staff_code).count() == 0


async def test_sweeper_refinds_lost_work(client, net, buyer, shift_clock):
    order = await make_order(buyer.id, net["a"].id)
    p = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    await eventually(lambda: messages(client, buyer.id))
    shift_clock(timedelta(hours=49))
    counts = await uncollected.sweep()
    assert counts["remind"] >= 1
    assert await eventually(lambda: _reminders(p.id, 2))
    shift_clock(timedelta(days=6))
    counts = await uncollected.sweep()
    assert counts["return"] >= 1
    assert await eventually(lambda: PickupReturn.filter(pickup_id=p.id).exists())
    # the refund job ran (or the sweeper finds it): the order without lines has nothing to refund,
    # which is recorded rather than retried forever
    ret = await PickupReturn.get(pickup_id=p.id)
    assert await eventually(lambda: _refund_requested(ret.id))
    assert (await Order.get(id=order.id)).status == OrderStatus.READY_FOR_PICKUP


async def _reminders(pid, n):
    return (await Pickup.get(id=pid)).reminders_sent == n


async def _refund_requested(rid):
    return (await PickupReturn.get(id=rid)).refund_requested_at is not None


async def test_buyer_who_refused_messages_is_not_retried(client, net, buyer):
    openid = (await User.get(id=buyer.id)).openid
    await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": openid})
    order = await make_order(buyer.id, net["a"].id)
    p = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    assert await eventually(lambda: _notified(p.id))
    assert await messages(client, buyer.id) == []


async def _notified(pid):
    return (await Pickup.get(id=pid)).notified_wechat_at is not None


async def test_sms_goes_to_a_buyer_with_a_bound_phone(client, net, buyer):
    # only when no subscribe message reached them (#29): this buyer declined the template
    await User.filter(id=buyer.id).update(phone="13912340001")
    await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": (await User.get(id=buyer.id)).openid})
    order = await make_order(buyer.id, net["a"].id)
    p = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    assert await eventually(lambda: _sms_sent(p.id))


async def test_no_sms_when_the_subscribe_message_reached_the_buyer(client, net, buyer):
    await User.filter(id=buyer.id).update(phone="139" + str(buyer.id % 10**8).zfill(8))
    order = await make_order(buyer.id, net["a"].id)
    p = await service.receive_at_station(order.id, net["a"].id, actor_id=None)
    assert await eventually(lambda: _notified(p.id))
    # the reminder's send, run here: the message reached the buyer, so no SMS
    assert await uncollected._send(await Pickup.get(id=p.id), "remind") == {"wechat": True}


async def _sms_sent(pid):
    return (await Pickup.get(id=pid)).notified_sms_at is not None


async def test_sweeper_closes_pickups_of_closed_orders_and_resends_lost_notices(client, net, buyer, shift_clock):
    closed = await make_order(buyer.id, net["b"].id)
    p1 = await service.receive_at_station(closed.id, net["b"].id, actor_id=None)
    await Order.filter(id=closed.id).update(status=OrderStatus.CLOSED)
    lost = await make_order(buyer.id, net["b"].id)
    p2 = await service.receive_at_station(lost.id, net["b"].id, actor_id=None)
    assert await eventually(lambda: _notified(p2.id))
    # as if the notice job had been lost before it ran
    await Pickup.filter(id=p2.id).update(notified_wechat_at=None)
    before = len(await messages(client, buyer.id))
    shift_clock(timedelta(minutes=6))
    counts = await uncollected.sweep()
    assert counts["cancel"] >= 1 and counts["notify"] >= 1
    assert await eventually(lambda: _status(p1.id, "cancelled"))
    assert await eventually(lambda: _notified(p2.id))
    assert await eventually(lambda: _count_more(client, buyer.id, before))


async def _status(pid, status):
    return (await Pickup.get(id=pid)).status == status


async def _count_more(client, buyer_id, before):
    return len(await messages(client, buyer_id)) > before
