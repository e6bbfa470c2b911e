"""End to end: buy, pay, complete, settle (hold 0), the statement, a WeChat payout that expires and one
the payee confirms (through the simulator), balance 0, a second payout refused; the station's share
paid by a bank batch and its result file; the overall ledger invariant unmoved throughout."""
from datetime import timedelta

import pytest

from server.kit import clock
from server.ledger import service as ledger
from server.models.ledger import LedgerEntry
from server.models.payouts import PayoutLine
from server.models.settlement import Statement
from server.payouts import service as payouts
from server.settlement import service as settlement
from tests.conftest import login, login_as
from tests.orders.conftest import sim
from tests.payouts.helpers import CONSOLE, line_status, wechat_state
from tests.payouts.test_bank import result_file, rows_of, upload
from tests.settlement.test_settlement import _hand_over, _next_boundary_after, _paid
from tests.stations.conftest import make_network


@pytest.fixture
def hold0(settings, monkeypatch):
    monkeypatch.setattr(settings, "settlement_hold_days", 0)
    yield
    clock.reset()


async def test_buy_pay_complete_settle_pay_out(client, admin, hold0):
    checker = await login_as(client, "admin")
    before = await ledger.check_overall()
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    order, sku = await _paid(buyer, net["a"], price=1000, qty=2)
    mid = (await sku.product).merchant_id
    order = await _hand_over(staff, net["a"], order)
    end = _next_boundary_after(order.completed_at)
    clock.shift(end - clock.now() + timedelta(minutes=1))
    try:
        await settlement.run(end)
    finally:
        clock.reset()
    st = await Statement.get(account_type="merchant", account_id=mid)
    assert st.total_fen == 1860
    member = await login_as(client, "merchant", merchant_id=mid)
    assert [s["id"] for s in (await member.get("/api/v1/statements")).json()["items"]] == [st.id]
    # payee details: the merchant's own WeChat (asked in the mini-program), the station's bank account
    r = await member.post("/api/v1/payouts/payee", json={"account_type": "merchant", "account_id": mid,
                                                        "method": "wechat", "real_name": "赵六"})
    assert (await checker.post(f"{CONSOLE}/payee-changes/{r.json()['id']}/approve", json={})).status_code == 200
    r = await admin.post(f"{CONSOLE}/payee-changes", json={
        "account_type": "station", "account_id": net["a"].id, "method": "bank", "real_name": "某村服务站",
        "bank_account": "6228480099887766", "bank_name": "中国农业银行", "bank_branch": "喀左支行"})
    assert (await checker.post(f"{CONSOLE}/payee-changes/{r.json()['id']}/approve", json={})).status_code == 200
    assert (await member.get("/api/v1/payouts/balances")).json()["items"][0]["available_fen"] == 1860
    # a first payout the payee never confirms: it expires and the money returns
    item = {"account_type": "merchant", "account_id": mid}
    b1 = (await admin.post(f"{CONSOLE}/payout-batches", json={"method": "wechat",
                                                              "items": [{**item, "amount_fen": 1000}]})).json()
    await checker.post(f"{CONSOLE}/payout-batches/{b1['id']}/approve", json={})
    await wechat_state(b1["lines"][0]["id"])
    clock.shift(timedelta(hours=24, minutes=1))
    try:
        await client.post(sim("/tick"))  # WeChat closes it (and notifies)
        await payouts.sweep()
    finally:
        clock.reset()
    expired = await line_status(b1["lines"][0]["id"], "failed")
    assert "超时未确认" in expired.fail_reason
    assert (await member.get("/api/v1/payouts/balances")).json()["items"][0]["available_fen"] == 1860
    # the whole balance, confirmed in WeChat
    b2 = (await admin.post(f"{CONSOLE}/payout-batches", json={"method": "wechat", "items": [item]})).json()
    await checker.post(f"{CONSOLE}/payout-batches/{b2['id']}/approve", json={})
    line = await wechat_state(b2["lines"][0]["id"])
    params = (await member.get(f"/api/v1/payouts/lines/{line.id}/confirm")).json()
    assert params["package"] and params["amount_fen"] == 1860
    assert (await client.post(sim("/transfer-confirm"), json={"out_bill_no": line.out_bill_no})).json()["state"] \
        == "SUCCESS"
    await line_status(line.id, "succeeded")
    bal = (await member.get("/api/v1/payouts/balances")).json()["items"][0]
    assert (bal["settled_fen"], bal["paid_fen"], bal["available_fen"]) == (1860, 1860, 0)
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "wechat", "items": [item]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "exceeds_balance"
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "wechat",
                                                            "items": [{**item, "amount_fen": 100}]})
    assert r.status_code == 409
    # the station's 40 fen by a bank batch and the bank's result file
    b3 = (await admin.post(f"{CONSOLE}/payout-batches", json={
        "method": "bank", "items": [{"account_type": "station", "account_id": net["a"].id}]})).json()
    assert b3["total_fen"] == 40
    await checker.post(f"{CONSOLE}/payout-batches/{b3['id']}/approve", json={})
    rows = rows_of((await admin.get(f"{CONSOLE}/payout-batches/{b3['id']}/xlsx")).content)
    assert rows[1][4] == "0.40"
    r = await upload(admin, b3["id"], result_file([rows[0] + ["状态", "说明"], rows[1] + ["成功", "已入账"]]))
    assert r.status_code == 200 and r.json()["succeeded"] == 1, r.text
    assert (await payouts.balance("station", net["a"].id)).available_fen == 0
    assert (await staff.get("/api/v1/payouts/lines")).json()["items"][0]["status"] == "succeeded"
    # the ledger: the payouts are entries of their lines; the invariants hold as before
    paid_lines = await PayoutLine.filter(status="succeeded", batch_id__in=[b2["id"], b3["id"]]).values_list("id",
                                                                                                            flat=True)
    assert sorted(await LedgerEntry.filter(ref_kind="payout_line", ref_id__in=paid_lines)
                  .values_list("amount_fen", flat=True)) == [-1860, -40]
    assert await ledger.check_invariant([order.id]) == []
    after = await ledger.check_overall()
    assert after["payouts_fen"] - before["payouts_fen"] == 1900
    assert after["difference_fen"] == before["difference_fen"]
