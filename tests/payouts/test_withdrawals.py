"""Withdrawal requests (提现申请): a payee asks for part of its available balance (held at once, never
more than available, also when two ask at once on PostgreSQL), cancels while pending; the office
prepares a batch from pending requests (maker–checker as ever), and a rejected or failed payout gives
the money back to the balance; every step audited; each payee sees only its own."""
import asyncio

import pytest

from server.models.audit import AuditLog
from server.models.payouts import WithdrawalRequest
from server.payouts import service as payouts
from tests.conftest import login_as
from tests.orders.conftest import make_merchant
from tests.payouts.helpers import CONSOLE, merchant_payee

MINE = "/api/v1/payouts/withdrawals"


@pytest.fixture
async def checker(client):
    return await login_as(client, "admin")


async def test_a_request_holds_its_amount_and_is_cancelled_by_its_payee(client, admin, checker):
    m, member, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    other = await login_as(client, "merchant", merchant_id=(await make_merchant()).id)
    body = {"account_type": "merchant", "account_id": m.id, "amount_fen": 3000, "note": "买化肥"}
    for bad, status in (({"amount_fen": 0}, 422), ({"amount_fen": -5}, 422), ({"amount_fen": "x"}, 422),
                        ({"amount_fen": 5001}, 409), ({"account_type": "shop"}, 422)):
        r = await member.post(MINE, json={**body, **bad})
        assert r.status_code == status, (bad, r.text)
        assert "error" in r.json() and ("amount_fen" in r.text or "account_type" in r.text)
    assert (await other.post(MINE, json=body)).status_code == 404  # another merchant's balance
    r = await member.post(MINE, json=body)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "pending" and req["method"] == "bank"
    b = await payouts.balance("merchant", m.id)
    assert (b.held_fen, b.requested_fen, b.available_fen) == (3000, 3000, 2000)
    r = await member.post(MINE, json={**body, "amount_fen": 2001})
    assert r.status_code == 409 and r.json()["error"]["code"] == "exceeds_balance"
    assert (await other.get(MINE)).json()["items"] == []
    assert (await other.post(f"{MINE}/{req['id']}/cancel")).status_code == 404
    r = await member.post(f"{MINE}/{req['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await payouts.balance("merchant", m.id)).available_fen == 5000
    r = await member.post(f"{MINE}/{req['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "withdrawal_not_pending"
    actions = set(await AuditLog.filter(object_type="merchant", object_id=str(m.id)).values_list("action", flat=True))
    assert {"payout.withdrawal_request", "payout.withdrawal_cancel"} <= actions


async def test_a_payee_without_details_cannot_ask(client):
    m = await make_merchant()
    member = await login_as(client, "merchant", merchant_id=m.id)
    r = await member.post(MINE, json={"account_type": "merchant", "account_id": m.id, "amount_fen": 100})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_payee"
    assert not await WithdrawalRequest.filter(account_id=m.id).exists()


async def test_the_office_pays_requests_in_a_batch_and_a_rejection_returns_the_money(client, admin, checker):
    m, member, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    r1 = (await member.post(MINE, json={"account_type": "merchant", "account_id": m.id, "amount_fen": 1000})).json()
    r2 = (await member.post(MINE, json={"account_type": "merchant", "account_id": m.id, "amount_fen": 1500})).json()
    pending = (await admin.get(f"{CONSOLE}/payouts/withdrawals")).json()["items"]
    assert {r1["id"], r2["id"]} <= {x["id"] for x in pending}
    assert (await member.get(f"{CONSOLE}/payouts/withdrawals")).status_code == 403
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "bank", "request_ids": [r1["id"], r2["id"]],
                                                            "all_due": True})
    assert r.status_code == 422 and "request_ids" in r.text
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "bank", "request_ids": [r1["id"], r2["id"]]})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert [(x["account_id"], x["amount_fen"]) for x in batch["lines"]] == [(m.id, 2500)]
    b = await payouts.balance("merchant", m.id)
    assert (b.held_fen, b.requested_fen, b.available_fen) == (2500, 0, 2500)  # held once, by the line now
    assert (await member.post(f"{MINE}/{r1['id']}/cancel")).json()["error"]["code"] == "withdrawal_not_pending"
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "bank", "request_ids": [r1["id"]]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "withdrawal_not_pending"
    own = await admin.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    assert own.json()["error"]["code"] == "maker_checker"
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/reject", json={"note": "户名不符"})
    mine = {x["id"]: x for x in (await member.get(MINE)).json()["items"]}
    assert mine[r1["id"]]["status"] == "batched" and mine[r1["id"]]["line_status"] == "cancelled"
    assert "退回" in mine[r1["id"]]["fail_reason"]
    assert (await payouts.balance("merchant", m.id)).available_fen == 5000  # returned
    assert await AuditLog.filter(action="payout.prepare", object_id=str(batch["id"])).exists()


async def test_racing_requests_never_ask_for_more_than_the_balance(client, admin, checker, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are real on PostgreSQL only")
    m, member, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    body = {"account_type": "merchant", "account_id": m.id, "amount_fen": 3000}
    rs = await asyncio.gather(member.post(MINE, json=body), member.post(MINE, json=body))
    assert sorted(r.status_code for r in rs) == [201, 409], [r.text for r in rs]
    assert await WithdrawalRequest.filter(account_id=m.id, status="pending").count() == 1
    # a request racing a batch of the whole balance: together never more than settled
    m2, member2, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=4000)
    rs = await asyncio.gather(
        member2.post(MINE, json={"account_type": "merchant", "account_id": m2.id, "amount_fen": 3000}),
        admin.post(f"{CONSOLE}/payout-batches", json={"method": "bank", "items": [
            {"account_type": "merchant", "account_id": m2.id, "amount_fen": 2000}]}))
    b = await payouts.balance("merchant", m2.id)
    assert b.held_fen <= 4000 and b.available_fen >= 0
    assert sum(r.status_code in (200, 201) for r in rs) == 1, [r.text for r in rs]


async def test_a_rejection_racing_a_cancel_and_a_batch_lets_exactly_one_win(client, admin, checker, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are real on PostgreSQL only")
    m, member, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    body = {"account_type": "merchant", "account_id": m.id, "amount_fen": 1000}
    batched = 0
    for _ in range(4):
        req = (await member.post(MINE, json=body)).json()
        reject = f"{CONSOLE}/payouts/withdrawals/{req['id']}/reject"
        rs = await asyncio.gather(admin.post(reject, json={"reason": "户名不符"}),
                                  checker.post(reject, json={"reason": "重复申请"}),
                                  member.post(f"{MINE}/{req['id']}/cancel"),
                                  admin.post(f"{CONSOLE}/payout-batches",
                                             json={"method": "bank", "request_ids": [req["id"]]}))
        won = [i for i, r in enumerate(rs) if r.status_code in (200, 201)]
        assert len(won) == 1, [r.text for r in rs]
        assert all(r.json()["error"]["code"] == "withdrawal_not_pending" for i, r in enumerate(rs) if i not in won)
        status = (await WithdrawalRequest.get(id=req["id"])).status
        assert status == {0: "rejected", 1: "rejected", 2: "cancelled", 3: "batched"}[won[0]]
        batched += 1000 if status == "batched" else 0
        assert await AuditLog.filter(action="payout.withdrawal_reject", data__contains={"request_id": req["id"]}
                                     ).count() == (1 if status == "rejected" else 0)
    b = await payouts.balance("merchant", m.id)
    assert (b.requested_fen, b.held_fen, b.available_fen) == (0, batched, 5000 - batched)  # each held once


async def test_the_office_rejects_a_request_with_a_reason_and_the_money_is_back(client, admin, checker):
    m, member, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    req = (await member.post(MINE, json={"account_type": "merchant", "account_id": m.id, "amount_fen": 2000})).json()
    assert (await payouts.balance("merchant", m.id)).available_fen == 3000
    url = f"{CONSOLE}/payouts/withdrawals/{req['id']}/reject"
    assert (await member.post(url, json={"reason": "自己驳回"})).status_code == 403  # the payee cannot
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "长" * 201}, {"reason": "x", "status": "paid"}):
        r = await admin.post(url, json=bad)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] in ("reason", "status"), (bad, r.text)
    assert (await WithdrawalRequest.get(id=req["id"])).status == "pending"  # nothing half-written
    assert (await admin.post(f"{CONSOLE}/payouts/withdrawals/999999999/reject", json={"reason": "x"})).status_code == 404
    r = await admin.post(url, json={"reason": "  收款户名与营业执照不符，请更正收款信息后重新申请  "})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "rejected" and out["reason"] == "收款户名与营业执照不符，请更正收款信息后重新申请"
    assert out["closed_at"] is not None
    assert (await payouts.balance("merchant", m.id)).available_fen == 5000  # back at once
    assert req["id"] not in {x["id"] for x in (await admin.get(f"{CONSOLE}/payouts/withdrawals")).json()["items"]}
    mine = {x["id"]: x for x in (await member.get(MINE)).json()["items"]}
    assert mine[req["id"]]["status"] == "rejected" and "营业执照" in mine[req["id"]]["reason"]
    # once decided: not again, not cancelled by its payee, not batched
    r = await admin.post(url, json={"reason": "再驳回一次"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "withdrawal_not_pending"
    assert (await member.post(f"{MINE}/{req['id']}/cancel")).json()["error"]["code"] == "withdrawal_not_pending"
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "bank", "request_ids": [req["id"]]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "withdrawal_not_pending"
    row = await WithdrawalRequest.get(id=req["id"])
    assert row.reason.startswith("收款户名") and row.decided_by == admin.id
    entry = await AuditLog.get(action="payout.withdrawal_reject", object_id=str(m.id))
    assert entry.actor_id == admin.id and entry.data["request_id"] == req["id"]
