"""Payouts: payee details under maker–checker (masked, audited), batches that never exceed the
settled, unpaid balance, WeChat transfers through the simulator (confirmed, expired, real name from
¥2,000, an unknown outcome queried and never paid twice), transfer notifications for transfers we
never made, and the overall ledger invariant."""
import secrets
from datetime import timedelta

import pytest

from server.integrations import wechatpay_gateway
from server.integrations.simulators import wechatpay_v3 as sim_v3
from server.integrations.wechatpay_gateway import gateway
from server.kit import clock, runtime
from server.kit.errors import ValidationFailed
from server.kit.schemas import encode_cursor
from server.ledger import service as ledger
from server.models.accounts import User
from server.models.audit import AuditLog
from server.models.ledger import LedgerEntry
from server.models.payments import PaymentNotification
from server.models.payouts import Payee, PayeeChange, PayoutBatch, PayoutLine, WithdrawalRequest
from server.payouts import service as payouts
from tests.conftest import login, login_as, wait_for
from tests.orders.conftest import make_merchant, make_station, sim
from tests.payouts.helpers import (CONSOLE, approved_payee, line_status, merchant_payee, prepare, settled,
                                   wechat_state)


@pytest.fixture
async def checker(client):
    return await login_as(client, "admin")


async def available(account_type, account_id) -> int:
    return (await payouts.balance(account_type, account_id)).available_fen


async def test_payee_details_change_only_with_a_second_office_user(client, admin, checker):
    m = await make_merchant()
    body = {"account_type": "merchant", "account_id": m.id, "method": "bank", "real_name": "王大山",
            "bank_account": "6222 0212 3456 7890", "bank_name": "中国农业银行", "bank_branch": "喀左县支行"}
    r = await admin.post(f"{CONSOLE}/payee-changes", json=body)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["status"] == "pending" and change["bank_account"] == "6222********7890"
    assert change["real_name"] == "王**"
    assert not await Payee.filter(account_type="merchant", account_id=m.id).exists()  # not in force yet
    r = await admin.post(f"{CONSOLE}/payee-changes/{change['id']}/approve", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "maker_checker"
    full = (await checker.get(f"{CONSOLE}/payee-changes/{change['id']}")).json()
    assert full["bank_account"] == "6222021234567890"  # the checker sees what to check
    listed = (await checker.get(f"{CONSOLE}/payee-changes?status=pending&limit=200")).json()["items"]
    assert any(c["id"] == change["id"] and c["bank_account"] == "6222********7890" for c in listed)
    r = await checker.post(f"{CONSOLE}/payee-changes/{change['id']}/approve", json={"note": "已核对开户证明"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    p = await Payee.get(account_type="merchant", account_id=m.id)
    assert (p.method, p.bank_account, p.bank_branch) == ("bank", "6222021234567890", "喀左县支行")
    again = await checker.post(f"{CONSOLE}/payee-changes/{change['id']}/approve", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_pending"
    # a second request supersedes a pending one; a rejection leaves the details in force
    r1 = (await admin.post(f"{CONSOLE}/payee-changes", json={**body, "bank_branch": "甲支行"})).json()
    r2 = (await admin.post(f"{CONSOLE}/payee-changes", json={**body, "bank_branch": "乙支行"})).json()
    assert (await PayeeChange.get(id=r1["id"])).status == "superseded"
    assert (await checker.post(f"{CONSOLE}/payee-changes/{r1['id']}/approve", json={})).status_code == 409
    assert (await checker.post(f"{CONSOLE}/payee-changes/{r2['id']}/reject", json={})).json()["status"] == "rejected"
    assert (await Payee.get(account_type="merchant", account_id=m.id)).bank_branch == "喀左县支行"
    actions = set(await AuditLog.filter(object_type="payee_merchant", object_id=str(m.id))
                  .values_list("action", flat=True))
    assert actions == {"payee.request", "payee.approve", "payee.reject"}
    assert (await payouts.balance("merchant", m.id)).payee.bank_account == "6222********7890"


async def test_bad_payee_details_are_refused_naming_the_field(client, admin):
    m = await make_merchant()
    base = {"account_type": "merchant", "account_id": m.id}
    cases = [({**base, "method": "bank", "real_name": "王", "bank_account": "abc12345", "bank_name": "农行",
               "bank_branch": "喀左"}, 422, "bank_account"),
             ({**base, "method": "bank", "real_name": "王", "bank_account": "62220212345", "bank_name": "农行"},
              422, "bank_branch"),
             ({**base, "method": "wechat"}, 422, "openid"),
             ({**base, "method": "alipay", "openid": "oX1234567"}, 422, "method"),
             ({"account_type": "merchant", "account_id": 987654321, "method": "wechat", "openid": "oX1234567"},
              404, ""),
             ({"account_type": "livestreamer", "account_id": admin.id, "method": "wechat", "openid": "oX1234567"},
              404, "")]
    before = await PayeeChange.all().count()
    for body, status, field in cases:
        r = await admin.post(f"{CONSOLE}/payee-changes", json=body)
        assert r.status_code == status, (body, r.text)
        assert field in r.text and "error" in r.json()
    assert await PayeeChange.all().count() == before
    member = await login_as(client, "merchant", merchant_id=m.id)
    assert (await member.post(f"{CONSOLE}/payee-changes", json={**base, "method": "wechat",
                                                                "openid": "oX1234567"})).status_code == 403


async def test_a_payee_asks_for_its_own_details_and_sees_only_its_own(client, admin, checker):
    m = await make_merchant()
    member = await login_as(client, "merchant", merchant_id=m.id)
    other = await login_as(client, "merchant", merchant_id=(await make_merchant()).id)
    r = await member.post("/api/v1/payouts/payee", json={"account_type": "merchant", "account_id": m.id,
                                                        "method": "wechat", "real_name": "李四"})
    assert r.status_code == 201, r.text
    assert r.json()["requested_via"] == "payee" and "*" in r.json()["openid"]
    assert (await checker.post(f"{CONSOLE}/payee-changes/{r.json()['id']}/approve", json={})).status_code == 200
    assert (await Payee.get(account_type="merchant", account_id=m.id)).openid == (await User.get(id=member.id)).openid
    r = await other.post("/api/v1/payouts/payee", json={"account_type": "merchant", "account_id": m.id,
                                                       "method": "wechat"})
    assert r.status_code == 404
    mine = (await member.get("/api/v1/payouts/balances")).json()["items"]
    assert [(b["account_type"], b["account_id"]) for b in mine] == [("merchant", m.id)]
    assert mine[0]["payee"]["method"] == "wechat" and "*" in mine[0]["payee"]["openid"]
    assert (await other.get("/api/v1/payouts/balances")).json()["items"][0]["account_id"] != m.id
    assert (await (await login(client)).get("/api/v1/payouts/balances")).status_code == 403


async def test_a_batch_needs_two_people_and_never_exceeds_the_balance(client, admin, checker):
    m, member, _ = await merchant_payee(client, admin, checker, settled_fen=5000)
    item = {"account_type": "merchant", "account_id": m.id}
    for amount, status in ((0, 422), (-100, 422), (6000, 409), (5, 422)):
        r = await prepare(admin, "wechat", [{**item, "amount_fen": amount}])
        assert r.status_code == status, (amount, r.text)
        assert "amount_fen" in r.text
    assert (await prepare(admin, "bank", [item])).json()["error"]["code"] == "payee_method"
    assert (await prepare(admin, "wechat", [item, item])).status_code == 422
    r = await prepare(admin, "wechat", [{**item, "amount_fen": 3000}])
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["lines"][0]["status"] == "reserved" and batch["total_fen"] == 3000
    assert await available("merchant", m.id) == 2000
    r = await prepare(admin, "wechat", [{**item, "amount_fen": 2500}])
    assert r.status_code == 409 and r.json()["error"]["code"] == "exceeds_balance"
    own = await admin.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    assert own.status_code == 409 and own.json()["error"]["code"] == "maker_checker"
    assert (await PayoutBatch.get(id=batch["id"])).status == "prepared"
    r = await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/reject", json={"note": "金额不对"})
    assert r.json()["status"] == "rejected" and r.json()["lines"][0]["status"] == "cancelled"
    assert "退回" in r.json()["lines"][0]["fail_reason"]
    assert await available("merchant", m.id) == 5000  # the money is back
    assert (await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})).status_code == 409
    actions = set(await AuditLog.filter(object_type="payout_batch", object_id=str(batch["id"]))
                  .values_list("action", flat=True))
    assert actions == {"payout.prepare", "payout.reject"}
    assert (await member.post(f"{CONSOLE}/payout-batches", json={"method": "wechat", "items": [item]})).status_code == 403


async def test_a_wechat_payout_confirmed_by_the_payee_then_nothing_left(client, admin, checker):
    m, member, openid = await merchant_payee(client, admin, checker, settled_fen=4321)
    other = await login_as(client, "merchant", merchant_id=(await make_merchant()).id)
    before = await ledger.check_overall()
    r = await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])
    batch = r.json()
    line_id = batch["lines"][0]["id"]
    assert batch["lines"][0]["amount_fen"] == 4321
    r = await member.get(f"/api/v1/payouts/lines/{line_id}/confirm")
    assert r.status_code == 409  # not approved yet: nothing to confirm
    r = await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    line = await wechat_state(line_id)
    assert line.status == "processing" and line.package_info and line.transfer_bill_no
    r = await member.get(f"/api/v1/payouts/lines/{line_id}/confirm")
    assert r.status_code == 200, r.text
    params = r.json()
    assert params["package"] == line.package_info and params["mchId"] == runtime.settings().wechat_mch_id
    assert (await other.get(f"/api/v1/payouts/lines/{line_id}/confirm")).status_code == 404
    assert (await member.get("/api/v1/payouts/lines")).json()["items"][0]["id"] == line_id
    r = await client.post(sim("/transfer-confirm"), json={"out_bill_no": line.out_bill_no})
    assert r.json()["state"] == "SUCCESS"
    line = await line_status(line_id, "succeeded")
    entry = await LedgerEntry.get(ref_kind="payout_line", ref_id=line_id)
    assert (entry.order_id, entry.account_type, entry.account_id, entry.amount_fen, entry.kind) == \
        (None, "merchant", m.id, -4321, "payout")
    assert (await PayoutBatch.get(id=batch["id"])).status == "done"
    b = await payouts.balance("merchant", m.id)
    assert (b.settled_fen, b.paid_fen, b.held_fen, b.available_fen) == (4321, 4321, 0, 0)
    r = await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])
    assert r.status_code == 409 and r.json()["error"]["code"] == "exceeds_balance"
    # the notification again (WeChat retries): acknowledged, nothing twice
    await client.post(sim("/renotify"), json={"out_bill_no": line.out_bill_no})
    assert await LedgerEntry.filter(ref_kind="payout_line", ref_id=line_id).count() == 1
    after = await ledger.check_overall()
    assert after["payouts_fen"] - before["payouts_fen"] == 4321
    assert after["difference_fen"] == before["difference_fen"]  # the invariant moves with the payout
    note = await PaymentNotification.filter(kind="transfer", out_trade_no=line.out_bill_no).first()
    assert note.verified and note.outcome in ("applied", "duplicate")


async def test_an_unconfirmed_transfer_expires_and_its_money_returns(client, admin, checker):
    m, member, _ = await merchant_payee(client, admin, checker, settled_fen=1500)
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id,
                                              "amount_fen": 1000}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line = await wechat_state(batch["lines"][0]["id"])
    assert await available("merchant", m.id) == 500
    clock.shift(timedelta(hours=24, minutes=5))
    try:
        await payouts.sweep()
    finally:
        clock.reset()
    line = await line_status(line.id, "failed")
    assert "超时未确认" in line.fail_reason
    assert await available("merchant", m.id) == 1500
    assert not await LedgerEntry.filter(ref_kind="payout_line", ref_id=line.id).exists()
    mine = (await member.get("/api/v1/payouts/lines")).json()["items"]
    assert mine[0]["status"] == "failed" and "超时未确认" in mine[0]["fail_reason"]
    assert (await member.get(f"/api/v1/payouts/lines/{line.id}/confirm")).status_code == 409


async def test_an_unknown_outcome_is_asked_about_never_paid_twice(client, admin, checker):
    m, _, _ = await merchant_payee(client, admin, checker, settled_fen=2000)
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line = await wechat_state(batch["lines"][0]["id"])
    first = line.transfer_bill_no
    # the answer was lost: we know nothing; making it again and asking find the same transfer
    await PayoutLine.filter(id=line.id).update(wechat_state="", transfer_bill_no="", package_info="")
    assert await payouts.submit_transfer(line.id) == "WAIT_USER_CONFIRM"
    assert (await PayoutLine.get(id=line.id)).transfer_bill_no == first
    await PayoutLine.filter(id=line.id).update(wechat_state="", transfer_bill_no="")
    assert (await payouts.sweep()).get("WAIT_USER_CONFIRM", 0) >= 1
    assert (await PayoutLine.get(id=line.id)).transfer_bill_no == first
    await client.post(sim("/transfer-confirm"), json={"out_bill_no": line.out_bill_no})
    await line_status(line.id, "succeeded")
    await payouts.sweep()
    assert await payouts.submit_transfer(line.id) == "skipped"
    assert await LedgerEntry.filter(ref_kind="payout_line", ref_id=line.id).count() == 1
    assert (await gateway().transfer_query(line.out_bill_no)).state == "SUCCESS"


async def test_a_line_whose_transfer_never_reached_wechat_is_made_by_the_sweeper(client, admin, checker, monkeypatch):
    m, _, _ = await merchant_payee(client, admin, checker, settled_fen=700)
    monkeypatch.setattr(payouts, "SUBMIT_JOB", "payouts.no_such_job")  # the job is lost
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line_id = batch["lines"][0]["id"]
    assert (await PayoutLine.get(id=line_id)).wechat_state == ""
    await payouts.sweep()
    assert (await PayoutLine.get(id=line_id)).wechat_state == "WAIT_USER_CONFIRM"


async def test_from_2000_yuan_the_real_name_goes_with_the_transfer(client, admin, checker):
    m, _, openid = await merchant_payee(client, admin, checker, settled_fen=450_000, real_name="张三")
    await client.post(sim("/real-name"), json={"openid": openid, "name": "张三"})
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id,
                                              "amount_fen": 250_000}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line = await wechat_state(batch["lines"][0]["id"])
    assert (await client.post(sim("/transfer-confirm"), json={"out_bill_no": line.out_bill_no})).json()["state"] \
        == "SUCCESS"
    await line_status(line.id, "succeeded")
    # WeChat holds another name for this openid: the transfer fails and the money returns
    await client.post(sim("/real-name"), json={"openid": openid, "name": "李四"})
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line = await wechat_state(batch["lines"][0]["id"])
    r = await client.post(sim("/transfer-confirm"), json={"out_bill_no": line.out_bill_no})
    assert r.json()["fail_reason"] == "REAL_NAME_CHECK_FAIL"
    line = await line_status(line.id, "failed")
    assert "实名" in line.fail_reason
    assert await available("merchant", m.id) == 200_000


async def test_a_transfer_notification_for_a_transfer_we_never_made_is_refused(client):
    no = "KZX" + secrets.token_hex(8)
    await gateway().transfer(out_bill_no=no, openid="o-stranger-" + secrets.token_hex(3), amount_fen=1200,
                             remark="x", notify_url=payouts.transfer_notify_url(),
                             scene_id=runtime.settings().wechat_pay_transfer_scene_id)
    entries = await LedgerEntry.all().count()
    await client.post(sim("/transfer-confirm"), json={"out_bill_no": no})

    async def rejected():
        n = await PaymentNotification.filter(kind="transfer", out_trade_no=no).first()
        return n if n is not None and n.outcome == "rejected" else None
    note = await wait_for(rejected)
    assert note is not None and note.verified and note.error.startswith("unknown")
    assert await LedgerEntry.all().count() == entries
    assert not await PayoutLine.filter(out_bill_no=no).exists()


async def test_the_overall_invariant_sees_money_that_left_without_a_payout(client, admin):
    before = await ledger.check_overall()
    stray = await LedgerEntry.create(account_type="merchant", account_id=1, kind="payout", amount_fen=-777,
                                     dedup_key="payout:test:" + secrets.token_hex(4), ref_kind="payout_line",
                                     ref_id=None)
    try:
        broken = await ledger.check_overall()
        assert broken["difference_fen"] - before["difference_fen"] == 777
        r = await admin.post(f"{CONSOLE}/reconcile", json={})
        assert r.status_code == 200, r.text
        assert r.json()["ledger_overall"]["difference_fen"] == broken["difference_fen"]
    finally:
        await stray.delete()
    # cash confirmed: what hand-over entries (ref_kind cash_handover) took out of the balances
    st = await make_station()
    pair = [await LedgerEntry.create(account_type=a, account_id=i, kind="cash_handover", amount_fen=x,
                                     dedup_key=f"cashtest:{secrets.token_hex(6)}", ref_kind="cash_handover",
                                     ref_id=1) for a, i, x in (("station", st.id, 300), ("platform", None, -300))]
    try:
        assert await ledger.cash_confirmed_fen() == before["cash_confirmed_fen"]
        assert (await ledger.check_overall())["difference_fen"] == before["difference_fen"]
        await pair[0].delete()
        assert await ledger.cash_confirmed_fen() == before["cash_confirmed_fen"] + 300
        assert (await ledger.check_overall())["difference_fen"] == before["difference_fen"]
    finally:
        for e in pair:
            await LedgerEntry.filter(id=e.id).delete()


async def test_payees_of_stations_and_livestreamers(client, admin, checker):
    st = await make_station()
    host = await login_as(client, "livestreamer")
    staff = await login_as(client, "station_staff", station_id=st.id)
    await approved_payee(admin, checker, "station", st.id, "bank", real_name="喀左某村服务站",
                         bank_account="6228480012345678", bank_name="农村信用社", bank_branch="大城子信用社")
    r = await host.post("/api/v1/payouts/payee", json={"account_type": "livestreamer", "account_id": host.id,
                                                      "method": "wechat"})
    assert r.status_code == 201, r.text
    await checker.post(f"{CONSOLE}/payee-changes/{r.json()['id']}/approve", json={})
    await settled("station", st.id, 800)
    await settled("livestreamer", host.id, 600)
    assert (await staff.get("/api/v1/payouts/balances")).json()["items"][0]["available_fen"] == 800
    assert (await host.get("/api/v1/payouts/balances")).json()["items"][0]["available_fen"] == 600
    due = (await admin.get(f"{CONSOLE}/payouts/due")).json()["items"]
    assert {("station", st.id), ("livestreamer", host.id)} <= {(d["account_type"], d["account_id"]) for d in due}
    r = await admin.post(f"{CONSOLE}/payout-batches", json={"method": "wechat", "all_due": True})
    assert r.status_code == 201, r.text
    assert ("livestreamer", host.id) in {(x["account_type"], x["account_id"]) for x in r.json()["lines"]}
    assert ("station", st.id) not in {(x["account_type"], x["account_id"]) for x in r.json()["lines"]}
    await checker.post(f"{CONSOLE}/payout-batches/{r.json()['id']}/reject", json={})


async def test_a_payout_against_a_statement_is_only_for_that_statements_payee(client, admin, checker):
    m, _, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=0)
    other = await make_merchant()
    mine = await settled("merchant", m.id, 3000)
    await settled("merchant", m.id, 2000)
    theirs = await settled("merchant", other.id, 9000)
    item = {"account_type": "merchant", "account_id": m.id}
    r = await prepare(admin, "bank", [{**item, "statement_id": theirs.id}])
    assert r.status_code == 422 and "items.0.statement_id" in r.text
    r = await prepare(admin, "bank", [{**item, "statement_id": 987654321}])
    assert r.status_code == 422 and "statement_id" in r.text
    r = await prepare(admin, "bank", [{**item, "statement_id": mine.id, "amount_fen": 3001}])
    assert r.status_code == 422 and "amount_fen" in r.text
    assert await available("merchant", m.id) == 5000  # nothing held by the refusals
    r = await prepare(admin, "bank", [{**item, "statement_id": mine.id}])
    assert r.status_code == 201 and r.json()["total_fen"] == 3000
    assert await available("merchant", m.id) == 2000
    await checker.post(f"{CONSOLE}/payout-batches/{r.json()['id']}/reject", json={})


async def test_wechat_payouts_need_apiv3_and_a_real_name_from_2000_yuan(client, admin, checker, settings, monkeypatch):
    m, _, _ = await merchant_payee(client, admin, checker, settled_fen=300_000, real_name="")
    item = {"account_type": "merchant", "account_id": m.id}
    r = await prepare(admin, "wechat", [{**item, "amount_fen": 200_000}])
    assert r.status_code == 422 and "real name" in r.text
    r = await prepare(admin, "wechat", [{**item, "amount_fen": 199_999}])
    assert r.status_code == 201, r.text
    batch = r.json()
    monkeypatch.setitem(runtime.get().extras, "wechatpay", wechatpay_gateway.build(settings, "v2"))
    r = await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "transfer_unavailable"
    assert (await PayoutBatch.get(id=batch["id"])).status == "prepared"
    r = await prepare(admin, "wechat", [{**item, "amount_fen": 100}])
    assert r.status_code == 409 and r.json()["error"]["code"] == "transfer_unavailable"
    monkeypatch.undo()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/reject", json={})


async def test_the_hourly_job_checks_the_overall_invariant():
    from jobs import reconcile as reconcile_jobs

    out = await reconcile_jobs.ledger_overall({})
    assert out == await ledger.check_overall()
    assert out["difference_fen"] == out["money_in_fen"] - out["refunds_fen"] - out["payouts_fen"] \
        - out["cash_confirmed_fen"] - out["balances_fen"]
    assert "cron:reconcile.ledger_overall" in {c.name for c in reconcile_jobs.CRON}


async def test_a_transfer_notification_with_another_amount_moves_nothing(client, admin, checker):
    m, _, _ = await merchant_payee(client, admin, checker, settled_fen=1200)
    batch = (await prepare(admin, "wechat", [{"account_type": "merchant", "account_id": m.id}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line = await wechat_state(batch["lines"][0]["id"])
    s = runtime.settings()
    resource = {"out_bill_no": line.out_bill_no, "transfer_bill_no": line.transfer_bill_no, "state": "SUCCESS",
                "mch_id": s.wechat_mch_id, "transfer_amount": 1, "openid": line.openid}
    headers, body = sim_v3.make_notification("MCHTRANSFER.BILL.FINISHED", "商家转账单据终态通知", "mch_payment",
                                             resource)
    r = await client.post(s.wechat_pay_v3_transfer_notify_path, content=body, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "FAIL"
    assert (await PayoutLine.get(id=line.id)).status == "processing"
    assert not await LedgerEntry.filter(ref_kind="payout_line", ref_id=line.id).exists()
    note = await PaymentNotification.filter(kind="transfer", out_trade_no=line.out_bill_no).order_by("-id").first()
    assert note.outcome == "rejected" and note.error.startswith("amount_mismatch")


async def test_balances_of_a_county_of_payees(app):
    """The office's due list sums every payee's balance at once: a thousand merchants and hundreds of
    stations (an OR of one pair per payee nested a thousand deep and overflowed the ORM: a 500)."""
    base = 10**12 + secrets.randbelow(10**9)
    accounts = [("merchant", base + i) for i in range(1000)] + [("station", base + i) for i in range(300)]
    got = await payouts.balances_of(accounts)
    assert set(got) == set(accounts) and all(b["available_fen"] == 0 for b in got.values())
    shown, count, total, _ = await payouts.due_summary(5)
    assert len(shown) <= 5 and count >= len(shown) and total >= sum(d.available_fen for d in shown)
    assert [d.available_fen for d in shown] == sorted((d.available_fen for d in shown), reverse=True)


async def test_due_summary_ranks_the_balances_that_due_sums(app):
    """The payouts page's one statement agrees with balances_of, payee by payee: settled minus paid
    (succeeded lines) minus held (reserved and processing lines, pending requests), the biggest first,
    with the count and total of every payee due; a payee with nothing available is not listed."""
    base = 10**13 + secrets.randbelow(10**9)
    batch = await PayoutBatch.create(method="bank", prepared_by=1)
    for k, (settle, paid, held, asked) in enumerate([(9 * 10**11, 10**9, 0, 0), (8 * 10**11, 0, 3 * 10**9, 10**9),
                                                     (10**10, 0, 0, 0), (5 * 10**9, 5 * 10**9, 0, 0)]):
        await Payee.create(account_type="merchant", account_id=base + k, method="bank", real_name="王大山",
                           bank_account=f"6222{base + k:016d}", bank_name="中国农业银行")
        await settled("merchant", base + k, settle)
        for amount, status in ((paid, "succeeded"), (held, "reserved")):
            if amount:
                await PayoutLine.create(batch_id=batch.id, account_type="merchant", account_id=base + k,
                                        amount_fen=amount, method="bank", status=status,
                                        out_bill_no=f"T{base + k}{status[:3]}")
        if asked:
            await WithdrawalRequest.create(account_type="merchant", account_id=base + k, amount_fen=asked,
                                           method="bank", requested_by=1)
    every = await payouts.due()
    ranked = sorted(every, key=lambda b: (-b.available_fen, b.account_type, b.account_id))
    shown, count, total, cursor = await payouts.due_summary(3)
    assert count == len(every) and total == sum(b.available_fen for b in every)
    assert [b.model_dump() for b in shown] == [b.model_dump() for b in ranked[:3]]
    # the payouts list pages: page after page from the cursor, every payee due once, in the same order
    paged = list(shown)
    while cursor:
        more, *_, cursor = await payouts.due_summary(3, cursor)
        paged += more
    assert [b.model_dump() for b in paged] == [b.model_dump() for b in ranked]
    for bad in ("x", encode_cursor([-1]), encode_cursor(["3"])):
        with pytest.raises(ValidationFailed) as exc:
            await payouts.due_summary(3, bad)
        assert exc.value.details[0]["field"] == "cursor"
    assert [b.account_id for b in shown[:2]] == [base, base + 1]   # the biggest balances of the test database
    assert shown[1].held_fen == 4 * 10**9 and shown[1].requested_fen == 10**9
    assert shown[0].payee.bank_account.startswith("6222") and "*" in shown[0].payee.bank_account   # masked
    assert (base + 3) not in {b.account_id for b in every}   # paid out in full: nothing due
