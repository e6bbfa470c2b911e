"""Settlement (结算): fee terms recorded on lines at payment (reversals use them, never the current
terms), the settlement run (hold, open refunds, periods, idempotent, race-safe), statements per
payee with their scope, the xlsx download, and the ledger's reference kind."""
import asyncio
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from server.kit import clock
from server.ledger import service as ledger
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Refund
from server.models.settlement import SettledEntry, Statement, StatementLine
from server.orders import refunds
from server.settlement import service as settlement
from server.settlement import terms
from server.settlement.schemas import FeeTermIn
from tests.conftest import login, login_as, wait_for
from tests.stations.conftest import make_network, make_order, with_code
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body

CONSOLE = "/api/v1/console"


@pytest.fixture
def hold0(settings, monkeypatch):
    monkeypatch.setattr(settings, "settlement_hold_days", 0)
    yield
    clock.reset()


async def _paid(buyer, station, price=1000, qty=2):
    sku = await make_sku(price=price, stock=50)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, qty)))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (await pay_and_notify(buyer, order["id"]))["delivered"]
    return await Order.get(id=order["id"]), sku


async def _hand_over(staff, station, order):
    """The pickup at the counter: received at the station, the buyer's code verified (completes it)."""
    r = await staff.post(f"/api/v1/station/{station.id}/receive", json={"order_no": order.order_no})
    assert r.status_code == 200, r.text
    pickup = await with_code(r.json())
    r = await staff.post(f"/api/v1/station/{station.id}/verify", json={"code": pickup["code"]})
    assert r.status_code == 200, r.text
    o = await Order.get(id=order.id)
    assert o.status == OrderStatus.COMPLETED
    return o


def _next_boundary_after(t: datetime) -> datetime:
    return settlement.last_period_end(t) + settlement.period_length()


async def _refund(order, line_id, qty, actor_id):
    out = await refunds.create_refund(order.id, lines={line_id: qty}, reason="坏了", requested_by=actor_id,
                                      auto_approve=True)

    async def done():
        return (await Refund.get(id=out.id)).status == "succeeded"
    assert await wait_for(done), (await Refund.get(id=out.id)).__dict__
    return out


async def test_terms_recorded_at_payment_drive_the_sale_and_its_reversal(client, admin, settings):
    net = await make_network()
    buyer = await login(client)
    sku = await make_sku(price=1000, stock=10)
    merchant_id = (await sku.product).merchant_id
    # a term for this merchant from now; another one for later (not yet in force)
    r = await admin.post(f"{CONSOLE}/fee-terms", json={"party_type": "merchant", "party_id": merchant_id, "fee_bp": 800})
    assert r.status_code == 201, r.text
    later = (clock.now() + timedelta(days=3)).isoformat()
    r = await admin.post(f"{CONSOLE}/fee-terms", json={"party_type": "merchant", "party_id": merchant_id,
                                                       "fee_bp": 1500, "effective_from": later})
    assert r.status_code == 201, r.text
    r = await admin.post(f"{CONSOLE}/fee-terms", json={"party_type": "station", "party_id": net["a"].id, "fee_bp": 300})
    assert r.status_code == 201, r.text
    listed = (await admin.get(f"{CONSOLE}/fee-terms?party_type=merchant&party_id={merchant_id}")).json()
    assert listed["in_force_bp"] == 800 and listed["default_bp"] == settings.platform_fee_bp
    assert [t["fee_bp"] for t in listed["terms"]] == [1500, 800]
    r = await checkout(buyer, pickup_body(net["a"].id, (sku.id, 2)))
    order = r.json()
    await pay_and_notify(buyer, order["id"])
    line = await OrderLine.get(order_id=order["id"])
    assert (line.platform_fee_bp, line.station_fee_bp) == (800, 300)
    sale = {e.kind: e.amount_fen for e in await LedgerEntry.filter(order_id=order["id"])}
    assert sale == {"platform_fee": 160, "station_fee": 60, "merchant_share": 1780}
    assert {e.ref_kind for e in await LedgerEntry.filter(order_id=order["id"])} == {"order_line"}
    # the terms and the settings change after payment: the refund's reversal keeps the line's terms
    await terms.set_term(FeeTermIn(party_type="merchant", party_id=merchant_id, fee_bp=100), actor_id=admin.id)
    settings.platform_fee_bp, settings.station_fee_bp = 0, 0
    try:
        await _refund(await Order.get(id=order["id"]), line.id, 1, buyer.id)
    finally:
        settings.platform_fee_bp, settings.station_fee_bp = 500, 200
    rev = {e.kind: e.amount_fen for e in await LedgerEntry.filter(order_id=order["id"], refund_id__not_isnull=True)}
    assert rev == {"platform_fee_reversal": -80, "station_fee_reversal": -30, "merchant_share_reversal": -890}
    assert await ledger.check_invariant([order["id"]]) == []


async def test_a_future_term_is_not_in_force_yet(client):
    sku = await make_sku()
    mid = (await sku.product).merchant_id
    await terms.set_term(FeeTermIn(party_type="merchant", party_id=mid, fee_bp=900,
                                   effective_from=clock.now() + timedelta(hours=1)), actor_id=None)
    assert (await terms.in_force("merchant", [mid], clock.now()))[mid] == 500
    assert (await terms.in_force("merchant", [mid], clock.now() + timedelta(hours=2)))[mid] == 900


async def test_bad_terms_are_refused_naming_the_field(client, admin):
    sku = await make_sku()
    mid = (await sku.product).merchant_id
    url = f"{CONSOLE}/fee-terms"
    cases = [({"party_type": "merchant", "party_id": mid, "fee_bp": -1}, "fee_bp"),
             ({"party_type": "merchant", "party_id": mid, "fee_bp": 10_001}, "fee_bp"),
             ({"party_type": "merchant", "party_id": mid, "fee_bp": 100,
               "effective_from": (clock.now() - timedelta(days=1)).isoformat()}, "effective_from"),
             ({"party_type": "merchant", "party_id": mid, "fee_bp": 100, "effective_from": "2030-01-01T00:00:00"},
              "effective_from"),
             ({"party_type": "village", "party_id": mid, "fee_bp": 100}, "party_type")]
    for body, field in cases:
        r = await admin.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, r.text
    r = await admin.post(url, json={"party_type": "station", "party_id": 99_999_999, "fee_bp": 100})
    assert r.status_code == 404
    merchant = await login_as(client, "merchant", merchant_id=mid)
    assert (await merchant.post(url, json={"party_type": "merchant", "party_id": mid, "fee_bp": 1})).status_code == 403
    assert (await settlement_period_refused(admin)) == 422


async def settlement_period_refused(admin) -> int:
    r = await admin.post(f"{CONSOLE}/settlement/run", json={"period_end": "2026-01-07T10:00:00+08:00"})
    assert "period_end" in r.text
    return r.status_code


async def test_end_to_end_settle_then_a_refund_is_a_negative_line_next_period(client, admin, hold0):
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    order, sku = await _paid(buyer, net["a"], price=1000, qty=2)
    mid = (await sku.product).merchant_id
    line = await OrderLine.get(order_id=order.id)
    # not completed yet: nothing to settle
    end0 = _next_boundary_after(clock.now())
    clock.shift(end0 - clock.now() + timedelta(minutes=1))
    out = await settlement.run(end0)
    assert (await Statement.filter(account_type="merchant", account_id=mid).count()) == 0
    clock.reset()
    order = await _hand_over(staff, net["a"], order)
    end1 = _next_boundary_after(order.completed_at)
    clock.shift(end1 - clock.now() + timedelta(minutes=1))
    out = await settlement.run(end1)
    assert out.statements_created >= 2
    st = await Statement.get(account_type="merchant", account_id=mid)
    assert (st.total_fen, st.sales_fen, st.reversals_fen, st.line_count) == (1860, 1860, 0, 1)
    stn = await Statement.get(account_type="station", account_id=net["a"].id, period_end=end1)
    assert stn.total_fen == 40
    sl = await StatementLine.get(statement_id=st.id)
    sale_ids = await LedgerEntry.filter(order_line_id=line.id, account_type="merchant").values_list("id", flat=True)
    assert (sl.order_line_id, sl.order_no, sl.entry_ids) == (line.id, order.order_no, sale_ids)
    # twice: nothing changes
    again = await settlement.run(end1)
    assert (again.statements_created, again.lines) == (0, 0)
    assert await StatementLine.filter(order_line_id=line.id).count() == 2  # the merchant and the station (the platform has none)
    assert await Statement.filter(account_type="merchant", account_id=mid).count() == 1
    # the payee sees it, another merchant does not; xlsx with the lines
    clock.reset()
    me = await login_as(client, "merchant", merchant_id=mid)
    other = await login_as(client, "merchant", merchant_id=(await (await make_sku()).product).merchant_id)
    r = await me.get("/api/v1/statements")
    assert r.status_code == 200, r.text
    mine = r.json()["items"]
    assert [s["id"] for s in mine] == [st.id]
    assert (await me.get(f"/api/v1/statements/{st.id}")).json()["lines"][0]["entry_ids"] == sale_ids
    assert (await other.get(f"/api/v1/statements/{st.id}")).status_code == 404
    assert (await other.get(f"/api/v1/statements/{st.id}/xlsx")).status_code == 404
    assert (await other.get("/api/v1/statements")).json()["items"] == []
    assert (await staff.get(f"/api/v1/statements/{stn.id}")).status_code == 200
    assert (await staff.get(f"/api/v1/statements/{st.id}")).status_code == 404
    r = await me.get(f"/api/v1/statements/{st.id}/xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][0] == order.order_no and float(rows[2][6]) == 18.6 and float(rows[-1][6]) == 18.6
    assert (await admin.get(f"{CONSOLE}/settlement/statements/{st.id}")).status_code == 200
    # a refund after settlement: the next statement carries it as a negative line
    await _refund(order, line.id, 1, buyer.id)
    end2 = end1 + settlement.period_length()
    clock.shift(end2 - clock.now() + timedelta(minutes=1))
    await settlement.run(end2)
    st2 = await Statement.get(account_type="merchant", account_id=mid, period_end=end2)
    assert (st2.total_fen, st2.sales_fen, st2.reversals_fen) == (-930, 0, -930)
    sl2 = await StatementLine.get(statement_id=st2.id)
    assert sl2.order_line_id == line.id and sl2.amount_fen == -930
    assert await SettledEntry.filter(ledger_entry_id__in=sl2.entry_ids).count() == len(sl2.entry_ids)
    assert await ledger.check_invariant([order.id]) == []


async def test_hold_and_open_refunds_keep_a_line_out(client, settings, monkeypatch):
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    order, sku = await _paid(buyer, net["a"])
    mid = (await sku.product).merchant_id
    order = await _hand_over(staff, net["a"], order)
    monkeypatch.setattr(settings, "settlement_hold_days", 7)
    end = _next_boundary_after(order.completed_at)
    try:
        clock.shift(end - clock.now() + timedelta(minutes=1))
        await settlement.run(end)
        assert not await Statement.filter(account_type="merchant", account_id=mid).exists()  # held
        monkeypatch.setattr(settings, "settlement_hold_days", 0)
        line = await OrderLine.get(order_id=order.id)
        await Refund.create(refund_no="RT" + str(order.id), order_id=order.id, amount_fen=1000,
                            lines=[{"line_id": line.id, "qty": 1, "amount": 1000}], status="requested")
        await settlement.run(end)
        assert not await Statement.filter(account_type="merchant", account_id=mid).exists()  # a refund is open
        await Refund.filter(order_id=order.id).update(status="rejected")
        await settlement.run(end)
        assert (await Statement.get(account_type="merchant", account_id=mid)).total_fen == 1860
    finally:
        clock.reset()


async def test_a_period_end_must_be_a_boundary_that_has_passed(client):
    from server.kit.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="period_end"):
        await settlement.run(settlement.last_period_end() + settlement.period_length())
    with pytest.raises(ValidationFailed, match="period_end"):
        await settlement.run(settlement.last_period_end() - timedelta(hours=3))
    assert settlement.is_boundary(settlement.last_period_end())
    assert settlement.last_period_end().astimezone(clock.SHANGHAI).weekday() == 0


async def test_two_runs_at_once_make_each_statement_once(client, hold0):
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    orders = [(await _paid(buyer, net["a"]))[0] for _ in range(3)]
    for o in orders:
        await _hand_over(staff, net["a"], o)
    end = _next_boundary_after(clock.now())
    clock.shift(end - clock.now() + timedelta(minutes=1))
    outs = await asyncio.gather(settlement.run(end), settlement.run(end), settlement.run(end))
    mids = await OrderLine.filter(order_id__in=[o.id for o in orders]).values_list("merchant_id", flat=True)
    made = await Statement.filter(period_end=end, account_type="merchant", account_id__in=mids).count()
    made += await Statement.filter(period_end=end, account_type="station", account_id=net["a"].id).count()
    assert made == len(mids) + 1 == sum(o.statements_created for o in outs)
    station_st = await Statement.get(account_type="station", account_id=net["a"].id, period_end=end)
    assert station_st.line_count == 3 and station_st.total_fen == 3 * 40
    entries = await LedgerEntry.filter(order_id__in=[o.id for o in orders], account_type__in=settlement.PAYEES)
    assert await SettledEntry.filter(ledger_entry_id__in=[e.id for e in entries]).count() == len(entries)


async def test_ledger_entries_can_belong_to_something_other_than_an_order(client):
    e = await LedgerEntry.create(account_type="merchant", account_id=1, kind="settlement_adjustment",
                                 amount_fen=0, dedup_key="adj:test", ref_kind="settlement_adjustment", ref_id=7)
    assert (await LedgerEntry.get(id=e.id)).order_id is None
    # the per-order check passes it by (other tests' factories leave paid orders without entries in the
    # shared database: only an order-less finding would be this entry's)
    assert all(b["order_id"] is not None for b in await ledger.check_invariant())
    await e.delete()


async def test_the_office_runs_a_period_through_the_api_audited(client, admin):
    from server.models.audit import AuditLog

    end = settlement.last_period_end()
    r = await admin.post(f"{CONSOLE}/settlement/run", json={"period_end": end.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["period_end"].startswith(end.strftime("%Y-%m-%dT%H:%M"))
    assert await AuditLog.filter(action="settlement.run", actor_id=admin.id, object_id=end.isoformat()).exists()
    r = await admin.post(f"{CONSOLE}/settlement/run", json={"period_end": "2026-01-05T00:00:00"})
    assert r.status_code == 422 and "period_end" in r.text  # no time zone
    listed = await admin.get(f"{CONSOLE}/settlement/statements?account_type=merchant&limit=2")
    assert listed.status_code == 200 and "items" in listed.json()
    assert (await admin.get(f"{CONSOLE}/settlement/statements/999999999")).status_code == 404
    consumer = await login(client)
    assert (await consumer.get("/api/v1/statements")).status_code == 403


async def test_a_livestreamer_sees_their_commission_and_a_refund_before_settling_nets_on_the_line(client, hold0):
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    host = await login_as(client, "livestreamer")
    other_host = await login_as(client, "livestreamer")
    sku = await make_sku(price=1000, stock=10)
    r = await checkout(buyer, pickup_body(net["a"].id, (sku.id, 2)))
    oid = r.json()["id"]
    # attributed to the host's session (as live/ does at checkout): commission 10% on the line
    await Order.filter(id=oid).update(source="live", livestreamer_id=host.id)
    await OrderLine.filter(order_id=oid).update(commission_bp=1000)
    await pay_and_notify(buyer, oid)
    line = await OrderLine.get(order_id=oid)
    await _refund(await Order.get(id=oid), line.id, 1, buyer.id)  # before completion
    order = await _hand_over(staff, net["a"], await Order.get(id=oid))
    end = _next_boundary_after(order.completed_at)
    clock.shift(end - clock.now() + timedelta(minutes=1))
    await settlement.run(end)
    clock.reset()
    st = await Statement.get(account_type="livestreamer", account_id=host.id)
    assert (st.sales_fen, st.reversals_fen, st.total_fen) == (200, -100, 100)
    assert (await host.get(f"/api/v1/statements/{st.id}")).json()["lines"][0]["amount_fen"] == 100
    assert [s["id"] for s in (await host.get("/api/v1/statements")).json()["items"]] == [st.id]
    assert (await other_host.get(f"/api/v1/statements/{st.id}")).status_code == 404
    assert (await buyer.get(f"/api/v1/statements/{st.id}")).status_code == 403  # not a payee at all
