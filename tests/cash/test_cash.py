"""Station cash hand-over (现金解缴): what a station owes, a hand-over recorded by the station and
confirmed by the office with a difference (end to end, through the ledger), rejection, the
station's scope, bad inputs, and hand-overs racing (PostgreSQL)."""
import asyncio

import pytest

from server.cash import service as cash
from server.cash.schemas import ConfirmIn, HandoverIn
from server.kit.errors import Conflict, ValidationFailed
from server.ledger import service as ledger
from server.models.audit import AuditLog
from server.models.cash import CashHandover
from server.models.ledger import LedgerEntry, RefKind
from tests.cash.conftest import villages
from tests.stations.conftest import make_paid_order, make_sku

CONSOLE = "/api/v1/console/cash-handovers"


def _base(station) -> str:
    return f"/api/v1/station/{station.id}/cash"


async def _cash_orders(buyer, station, *amounts):
    orders = []
    for a in amounts:
        orders.append(await make_paid_order(buyer.id, station.id, sku=await make_sku(price=a)))
    return orders


async def test_hand_over_with_a_difference_end_to_end(client, admin, staff_a, buyer, net):
    a = net["a"]
    orders = await _cash_orders(buyer, a, 2800, 1500)
    r = await staff_a.get(_base(a))
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["owed_fen"] == 4300 and s["pending_fen"] == 0 and s["to_hand_over_fen"] == 4300
    assert s["taken_today_fen"] == 4300 and s["cash_orders_today"] == 2 and s["confirmed_fen"] == 0

    # the station hands over ¥43.00; nothing moves until the centre confirms
    r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 4300, "note": "周五解缴"})
    assert r.status_code == 201, r.text
    h = r.json()
    assert h["status"] == "pending" and h["declared_fen"] == 4300 and h["received_fen"] is None
    assert await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, ref_id=h["id"]).count() == 0
    s = (await staff_a.get(_base(a))).json()
    assert s["owed_fen"] == 4300 and s["pending_fen"] == 4300 and s["to_hand_over_fen"] == 0
    ws = (await staff_a.get(f"/api/v1/station/{a.id}/workspace")).json()
    assert ws["cash_to_hand_over_fen"] == 4300
    owing = {x["station_id"]: x for x in (await admin.get(f"{CONSOLE}/owed")).json()}
    assert (owing[a.id]["owed_fen"], owing[a.id]["pending_fen"], owing[a.id]["station_name"]) == (4300, 4300, a.name)
    assert (await staff_a.get(f"{CONSOLE}/owed")).status_code == 403
    # nothing more can be handed over while it waits
    r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 1})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "amount_fen"

    # the centre counts ¥42.00: a difference needs a note, then it is flagged
    r = await admin.post(f"{CONSOLE}/{h['id']}/confirm", json={"received_fen": 4200})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "note"
    assert (await CashHandover.get(id=h["id"])).status == "pending"
    r = await admin.post(f"{CONSOLE}/{h['id']}/confirm", json={"received_fen": 4200, "note": "少一张十元"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "confirmed" and done["received_fen"] == 4200
    assert done["difference_fen"] == -100 and done["flagged"] is True and done["decision_note"] == "少一张十元"

    # the ledger: a zero-sum pair with the hand-over's reference, no order
    entries = await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, ref_id=h["id"]).order_by("id")
    assert [(e.account_type, e.account_id, e.kind, e.amount_fen, e.order_id) for e in entries] == [
        ("station", a.id, "cash_handover", 4200, None), ("platform", None, "cash_handover", -4200, None)]
    assert await ledger.check_invariant([o.id for o in orders]) == []
    s = (await staff_a.get(_base(a))).json()
    assert s["owed_fen"] == 100 and s["pending_fen"] == 0 and s["to_hand_over_fen"] == 100
    assert s["confirmed_fen"] == 4200
    ws = (await staff_a.get(f"/api/v1/station/{a.id}/workspace")).json()
    assert ws["cash_to_hand_over_fen"] == 100
    # the office's queue shows it flagged; decided once
    r = await admin.get(CONSOLE, params={"flagged": "true", "station_id": a.id})
    assert [x["id"] for x in r.json()["items"]] == [h["id"]]
    assert r.json()["items"][0]["station_name"] == a.name
    r = await admin.post(f"{CONSOLE}/{h['id']}/confirm", json={"received_fen": 4200, "note": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "handover_decided"
    r = await admin.post(f"{CONSOLE}/{h['id']}/reject", json={"note": "x"})
    assert r.status_code == 409
    assert await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, ref_id=h["id"]).count() == 2
    assert await AuditLog.filter(action="cash.confirm", object_id=str(a.id)).count() == 1

    # the rest, counted exactly: not flagged
    r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 100})
    assert r.status_code == 201
    r = await admin.post(f"{CONSOLE}/{r.json()['id']}/confirm", json={"received_fen": 100})
    assert r.status_code == 200 and r.json()["flagged"] is False and r.json()["difference_fen"] == 0
    assert (await staff_a.get(_base(a))).json()["owed_fen"] == 0
    assert a.id not in {x["station_id"] for x in (await admin.get(f"{CONSOLE}/owed")).json()}


async def test_rejected_hand_over_moves_nothing(client, admin, staff_a, buyer, net):
    a = net["a"]
    await _cash_orders(buyer, a, 2000)
    h = (await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 2000})).json()
    r = await admin.post(f"{CONSOLE}/{h['id']}/reject", json={"note": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "note"
    r = await admin.post(f"{CONSOLE}/{h['id']}/reject", json={"note": "未收到现金"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, ref_id=h["id"]).count() == 0
    s = (await staff_a.get(_base(a))).json()
    assert s["owed_fen"] == 2000 and s["pending_fen"] == 0 and s["to_hand_over_fen"] == 2000
    r = await admin.post(f"{CONSOLE}/{h['id']}/confirm", json={"received_fen": 2000})
    assert r.status_code == 409


async def test_scope_and_bad_inputs(client, admin, staff_a, staff_b, buyer, net):
    a, b = net["a"], net["b"]
    await _cash_orders(buyer, a, 1000)
    mine = (await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 500})).json()
    # another station's staff: a 404 for everything of station a
    for r in (await staff_b.get(_base(a)), await staff_b.get(f"{_base(a)}/handovers"),
              await staff_b.post(f"{_base(a)}/handovers", json={"amount_fen": 1})):
        assert r.status_code == 404, r.text
    assert (await staff_b.get(f"{_base(b)}/handovers")).json()["items"] == []
    assert [x["id"] for x in (await staff_a.get(f"{_base(a)}/handovers")).json()["items"]] == [mine["id"]]
    # station staff cannot confirm; the office's desk is admin only
    r = await staff_a.post(f"{CONSOLE}/{mine['id']}/confirm", json={"received_fen": 500})
    assert r.status_code == 403
    assert (await staff_a.get(CONSOLE)).status_code == 403
    # zero, negative, not a number, above what is owed, unknown ids
    for bad in (0, -100, "100", 1.5, True):
        r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": bad})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "amount_fen", (bad, r.text)
        r = await admin.post(f"{CONSOLE}/{mine['id']}/confirm", json={"received_fen": bad, "note": "x"})
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "received_fen", (bad, r.text)
    r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 501})
    assert r.status_code == 422 and "¥5.00" in r.json()["error"]["details"][0]["message"]
    r = await admin.post(f"{CONSOLE}/{mine['id']}/confirm", json={"received_fen": 1001, "note": "多了"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "received_fen"
    assert (await admin.post(f"{CONSOLE}/999999999/confirm", json={"received_fen": 1})).status_code == 404
    assert (await admin.get(f"{CONSOLE}/999999999")).status_code == 404
    r = await staff_a.post(f"{_base(a)}/handovers", json={"amount_fen": 1, "station_id": b.id})
    assert r.status_code == 422  # no owner field from the client
    assert await CashHandover.filter(station_id=a.id).count() == 1
    assert await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, account_id=a.id).count() == 0


async def test_racing_hand_overs_and_confirmations(client, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are PostgreSQL's (SQLite ignores SELECT ... FOR UPDATE)")
    from server.kit.auth import load_principal
    from tests.conftest import login, login_as

    net = await villages()
    a = net["a"]
    buyer = await login(client)
    staff = await load_principal((await login_as(client, "station_staff", station_id=a.id)).id, None)
    await _cash_orders(buyer, a, 3000)

    async def hand(n):
        try:
            return await cash.record(staff, a.id, HandoverIn(amount_fen=n))
        except ValidationFailed:
            return None
    made = [x for x in await asyncio.gather(*[hand(2000) for _ in range(4)]) if x]
    assert len(made) == 1  # 4 x ¥20 against ¥30 owed: one fits

    async def conf(hid):
        try:
            return await cash.confirm(hid, ConfirmIn(received_fen=2000), actor_id=1)
        except Conflict:
            return None
    done = [x for x in await asyncio.gather(*[conf(made[0].id) for _ in range(4)]) if x]
    assert len(done) == 1
    assert await LedgerEntry.filter(ref_kind=RefKind.CASH_HANDOVER, ref_id=made[0].id).count() == 2
    assert await ledger.station_cash_owed(a.id) == 1000
