"""The daily rollup: each figure from its source tables on an Asia/Shanghai day, and re-runs that
converge to the same rows."""
from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from tests.stats.conftest import at, make_world, paid_order, unique_day


async def _rows(day):
    from server.models.stats import StatDaily

    return {(r.dimension, r.key): r for r in await StatDaily.filter(day=day)}


async def _refund_line(order, line, when, amount=None):
    from server.kit.db import atomic
    from server.ledger import service as ledger
    from server.models.ledger import LedgerEntry
    from server.models.orders import Order, OrderLine
    from server.models.payments import Refund

    async with atomic() as conn:
        amount = line.amount if amount is None else amount
        items = [{"line_id": line.id, "qty": line.quantity, "amount": amount}]
        r = await Refund.create(refund_no="STR" + secrets.token_hex(8), order=order, amount_fen=amount,
                                lines=items, status="succeeded", succeeded_at=when, using_db=conn)
        await ledger.post_refund(r.id, order.id, items, conn)
        await LedgerEntry.filter(refund_id=r.id).using_db(conn).update(created_at=when)
        await OrderLine.filter(id=line.id).using_db(conn).update(refunded_qty=line.quantity, refunded_fen=amount)
        await Order.filter(id=order.id).using_db(conn).update(refunded_fen=amount)
    return r


async def test_day_rollup_counts_each_figure_on_its_shanghai_day(app):
    from server.models.fulfillment import DeliveryPromise, FulfillmentTask, Parcel
    from server.models.live import LiveRoom, LiveSession
    from server.models.pickup import Pickup
    from server.models.training import Course, SignIn, Trainee, TrainingSession
    from server.stats import rollup

    day = unique_day()
    w = await make_world()
    sx = w["sx"]
    # 00:10 in Shanghai is still the previous day in UTC: it belongs to `day`; 23:50 the day before does not.
    o1, l1 = await paid_order(w, at(day, 0, 10), [("pear", 2), ("pot", 1)])
    await paid_order(w, at(day - timedelta(days=1), 23, 50), [("pot", 5)])
    room = await LiveRoom.create(owner=w["buyer"], title="直播间" + sx)
    sess = await LiveSession.create(room=room, livestreamer=w["buyer"], title="场次" + sx, scheduled_at=at(day, 19),
                                    status="ended", stream_name="st-" + sx, started_at=at(day, 19, 30))
    o2, l2 = await paid_order(w, at(day, 20), [("pear", 1)], pickup=False, live_session_id=sess.id,
                              livestreamer_id=w["buyer"].id)
    # The pot of order 1 comes back on the day: its refund counts for sales, crafts, its town and kind.
    await _refund_line(o1, l1[1], at(day, 15))
    # Pickup received and collected at the village station.
    await Pickup.create(order=o1, station=w["village"], order_no=o1.order_no, buyer_id=w["buyer"].id, code="123456",
                        status="picked_up", received_at=at(day, 9), deadline_at=at(day + timedelta(days=7), 9),
                        picked_up_at=at(day, 18))
    # Two promises due on the day on the county->town leg: one met in time, one late.
    task = await FulfillmentTask.create(order=o1, mode="local", fulfilment="pickup", town_station=w["town"])
    for i, met in enumerate((at(day, 10), at(day, 23, 59) + timedelta(hours=2))):
        p = await Parcel.create(label=f"STP{sx}{i}", task=task, order=o1, weight_g=100, packed_at=at(day, 6))
        await DeliveryPromise.create(parcel=p, leg="county_town", town_station=w["town"], due_at=at(day, 23, 59),
                                     met_at=met)
    # Training: a person-time belongs to the first day signed in; the second day adds none.
    course = await Course.create(track="livestream", name="直播" + sx)
    ts = await TrainingSession.create(course=course, title="班" + sx, starts_on=day, ends_on=day + timedelta(days=1))
    tr = await Trainee.create(name="学员" + sx, groups=["left_behind_woman", "poor_household"], is_poor_household=True)
    await SignIn.create(session=ts, trainee=tr, day=day, method="qr")
    await SignIn.create(session=ts, trainee=tr, day=day + timedelta(days=1), method="qr")

    n = await rollup.rollup_day(day)
    rows = await _rows(day)
    assert n == len(rows)
    sales = rows[("sales", "all")]
    assert (sales.orders, sales.units, sales.gmv_fen) == (2, 4, 3000 * 3 + 20000)
    assert sales.refund_fen == 20000 and sales.total == 1  # one buyer
    farm = rows[("farm", "all")]
    assert (farm.orders, farm.gmv_fen, farm.refund_fen) == (2, 9000, 0)
    # The pear's child category rolls up to its top category.
    assert rows[("category", str(w["farm"].id))].gmv_fen == 9000
    assert rows[("category", str(w["craft"].id))].refund_fen == 20000
    assert rows[("town", f"甲镇{sx}")].gmv_fen == 9000
    assert rows[("town", f"乙镇{sx}")].gmv_fen == 20000  # no origin town: the merchant's town
    assert rows[("merchant_kind", "household")].label == "农户"
    assert rows[("poor_household", "all")].gmv_fen == 9000
    live = rows[("live", "all")]
    assert (live.orders, live.gmv_fen, live.total) == (1, 3000, 1)
    st = rows[("station", str(w["village"].id))]
    assert (st.orders, st.total, st.hits) == (1, 1, 1)
    assert rows[("dest_town", f"甲镇{sx}")].orders == 1 and rows[("dest_town", f"丙镇{sx}")].orders == 1
    route = rows[("route", f"county_town:{w['town'].id}")]
    assert (route.total, route.hits) == (2, 1)
    assert rows[("training_track", "livestream")].total == 1
    assert rows[("training_group", "left_behind_woman")].total == 1
    assert rows[("refunds", "all")].orders == 1
    # Poor-household income = the ledger's merchant share of the pears (5% platform, 2% station fee on
    # pickup; 5% commission on the live line) — read back from the ledger, not recomputed here.
    from server.models.ledger import LedgerEntry

    share = sum(await LedgerEntry.filter(account_type="merchant", account_id=w["poor"].id,
                                         kind__in=("merchant_share", "merchant_share_reversal")
                                         ).values_list("amount_fen", flat=True))
    assert rows[("poor_income", "all")].gmv_fen == share > 0
    assert rows[("active", "merchants")].total == 2 and rows[("active", "trainees")].total == 1
    # The next day: the second sign-in adds no person-time; the late order of the day before is not here.
    await rollup.rollup_day(day + timedelta(days=1))
    assert ("training_track", "livestream") not in await _rows(day + timedelta(days=1))
    await rollup.rollup_day(day - timedelta(days=1))
    assert (await _rows(day - timedelta(days=1)))[("sales", "all")].gmv_fen == 100000


async def test_rerun_is_idempotent_and_drops_stale_keys(app):
    from server.models.catalog import Product
    from server.stats import rollup

    day = unique_day()
    w = await make_world()
    await paid_order(w, at(day, 12), [("pear", 1)])
    await rollup.rollup_day(day)
    first = {k: (r.orders, r.gmv_fen, r.id) for k, r in (await _rows(day)).items()}
    # Two runs at once, and a third: the same rows, updated in place.
    await asyncio.gather(rollup.rollup_day(day), rollup.rollup_day(day))
    assert await rollup.rollup_day(day) == len(first)
    assert {k: (r.orders, r.gmv_fen, r.id) for k, r in (await _rows(day)).items()} == first
    # A corrected origin town moves the figure: the old key goes, the new one comes.
    await Product.filter(id=w["p_pear"].id).update(origin_town="改正镇" + w["sx"])
    await rollup.rollup_day(day)
    rows = await _rows(day)
    assert ("town", f"甲镇{w['sx']}") not in rows and rows[("town", f"改正镇{w['sx']}")].gmv_fen == 3000


async def test_gmv_is_what_the_buyer_paid_and_coupons_are_their_own_figure(app):
    """GMV counts the goods less their coupon savings; the savings show as dimension discounts, split by
    who funded them; a refund of a discounted line counts what was paid back."""
    from server.models.orders import Order
    from server.stats import rollup

    day = unique_day()
    w = await make_world()
    pear, pot = w["s_pear"].price, w["s_pot"].price
    # order 1: a platform coupon saves 300 on the pears and a shop coupon 200 on the pot
    o1, lines = await paid_order(w, at(day, 10), [("pear", 2), ("pot", 1)], discounts=[(300, 300), (200, 0)])
    # order 2: no coupon
    await paid_order(w, at(day, 11), [("pear", 1)])
    # the pot comes back: what the buyer paid for it is refunded
    await _refund_line(o1, lines[1], at(day, 15), amount=pot - 200)
    await rollup.rollup_day(day)
    rows = await _rows(day)
    paid = (await Order.get(id=o1.id)).paid_fen
    assert paid == 2 * pear + pot - 500
    assert rows[("sales", "all")].gmv_fen == 3 * pear + pot - 500
    assert rows[("product", str(w["p_pear"].id))].gmv_fen == 3 * pear - 300
    assert rows[("product", str(w["p_pot"].id))].gmv_fen == pot - 200
    assert rows[("sales", "all")].refund_fen == pot - 200
    d = {k: (rows[("discounts", k)].orders, rows[("discounts", k)].gmv_fen) for k in ("all", "platform", "merchant")}
    assert d == {"all": (1, 500), "platform": (1, 300), "merchant": (1, 200)}
    # the statistics summary shows them
    from server.stats import service as stats

    s = await stats.summary(day, day)
    assert s["discounts"] == {"orders": 1, "all_fen": 500, "platform_fen": 300, "merchant_fen": 200}
    assert s["headline"][0]["gmv_fen"] == 3 * pear + pot - 500


async def test_rollup_job_and_cron_functions(app):
    """The job takes an ISO day; the cron rolls up yesterday and today (and is safe to run again)."""
    from jobs import stats as stats_jobs
    from server.kit import clock
    from server.models.stats import StatDaily

    day = unique_day()
    w = await make_world()
    await paid_order(w, at(day, 8), [("pot", 1)])
    assert await stats_jobs.rollup_day({}, day.isoformat()) >= 1
    assert (await StatDaily.get(day=day, dimension="sales", key="all")).gmv_fen == 20000
    out = await stats_jobs.rollup_recent({})
    today = clock.local_today()
    assert set(out) == {today.isoformat(), (today - timedelta(days=1)).isoformat()}
    assert await StatDaily.filter(day=today, dimension="sales", key="all").exists()
