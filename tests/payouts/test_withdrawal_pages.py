"""Withdrawal requests in the console: a payee asks on /console/my-payouts (a bad or too large amount
named beside the field, another merchant's account refused), cancels while pending; the office sees
the pending requests on /console/payouts and prepares a batch from one; the other payee sees nothing."""
from server.models.payouts import PayeeChange, PayoutBatch, PayoutLine, WithdrawalRequest
from server.payouts import service as payouts
from tests.console.conftest import operator, sign_in
from tests.orders.conftest import make_merchant
from tests.payouts.helpers import settled

BANK = {"real_name": "赵会计", "bank_account": "6222021234567890", "bank_name": "农行", "bank_branch": "喀左"}


async def test_a_payee_asks_cancels_and_the_office_batches_a_request(client, settings, app):
    _, p1 = await operator("admin", name="王经办")
    _, p2 = await operator("admin", name="李复核")
    maker, checker = await sign_in(settings, p1), await sign_in(settings, p2)
    m, other = await make_merchant(), await make_merchant()
    _, phone = await operator("merchant", name="赵会计", merchant_id=m.id)
    _, other_phone = await operator("merchant", name="钱会计", merchant_id=other.id)
    me, them = await sign_in(settings, phone), await sign_in(settings, other_phone)
    try:
        await settled("merchant", m.id, 5000)
        await settled("merchant", other.id, 5000)
        r = await me.page("/console/my-payouts")
        assert 'id="withdraw-form"' in r.text
        form = {"_csrf": me.csrf, "account": f"merchant:{m.id}", "amount": "20"}
        r = await me.client.post("/console/my-payouts/withdrawals", data=form)
        assert 'data-field="account"' in r.text and "收款信息" in r.text  # no payee details yet
        # payee details, as the office approves them (maker–checker through the API)
        await _payee(maker, checker, m.id)
        for bad in ("abc", "0", "-3", "1.234"):
            r = await me.client.post("/console/my-payouts/withdrawals", data={**form, "amount": bad})
            assert r.status_code == 200 and 'data-field="amount"' in r.text, bad
        r = await me.client.post("/console/my-payouts/withdrawals", data={**form, "amount": "50.01"})
        assert 'data-field="amount"' in r.text and "超过可提现余额 ¥50.00" in r.text
        r = await me.client.post("/console/my-payouts/withdrawals", data={**form, "account": f"merchant:{other.id}"})
        assert r.status_code == 404
        assert not await WithdrawalRequest.filter(account_id__in=[m.id, other.id]).exists()
        r = await me.client.post("/console/my-payouts/withdrawals", data={**form, "amount": "12.5", "note": "买种子"})
        assert "已提交提现申请" in r.text and "待县电商办打款" in r.text
        first = await WithdrawalRequest.get(account_id=m.id)
        assert first.amount_fen == 1250 and (await payouts.balance("merchant", m.id)).available_fen == 3750
        assert f'data-request="{first.id}"' not in (await them.page("/console/my-payouts")).text
        r = await them.client.post(f"/console/my-payouts/withdrawals/{first.id}/cancel", data={"_csrf": them.csrf})
        assert r.status_code == 404
        r = await me.client.post(f"/console/my-payouts/withdrawals/{first.id}/cancel", data={"_csrf": me.csrf})
        assert "已撤回提现申请" in r.text and (await WithdrawalRequest.get(id=first.id)).status == "cancelled"
        r = await me.client.post("/console/my-payouts/withdrawals", data={**form, "amount": "30"})
        second = await WithdrawalRequest.get(account_id=m.id, status="pending")
        # the office: the pending request, a batch from it, approved by the other person
        r = await maker.page("/console/payouts")
        assert f'data-request="{second.id}"' in r.text and f'data-request="{first.id}"' not in r.text
        r = await maker.post("/console/payouts/requests", {"method": "bank", "request_id": str(second.id)})
        batch_url = r.headers.get("HX-Redirect", "")
        assert batch_url.startswith("/console/payouts/"), r.text
        batch_id = int(batch_url.rsplit("/", 1)[1])
        assert (await PayoutBatch.get(id=batch_id)).total_fen == 3000
        assert (await PayoutLine.get(batch_id=batch_id)).account_id == m.id
        r = await maker.post("/console/payouts/requests", {"method": "bank", "request_id": str(second.id)})
        assert r.headers.get("HX-Retarget") == "#flash" and "没有待处理的提现申请" in r.text
        r = await me.client.post(f"/console/my-payouts/withdrawals/{second.id}/cancel", data={"_csrf": me.csrf})
        assert "已撤回或已进入打款批次" in r.text and (await WithdrawalRequest.get(id=second.id)).status == "batched"
        await checker.page(batch_url)
        await checker.post(f"/console/payouts/{batch_id}/reject")
        r = await me.page("/console/my-payouts")
        assert "批次被驳回，款项已退回余额" in r.text
        assert (await payouts.balance("merchant", m.id)).available_fen == 5000
    finally:
        for b in (maker, checker, me, them):
            await b.client.aclose()


async def _payee(maker, checker, merchant_id: int) -> None:
    r = await maker.client.post("/console/payees", data={"_csrf": maker.csrf, "account_type": "merchant",
                                                         "account_id": str(merchant_id), "method": "bank", **BANK})
    assert "须由另一位工作人员审批" in r.text, r.text
    cid = (await PayeeChange.get(account_type="merchant", account_id=merchant_id, status="pending")).id
    await checker.page("/console/payees")
    assert (await checker.post(f"/console/payees/changes/{cid}/approve")).status_code == 200


async def test_the_office_rejects_one_request_with_a_reason_its_payee_reads(client, settings, app):
    _, p1 = await operator("admin", name="王经办")
    _, p2 = await operator("admin", name="李复核")
    maker, checker = await sign_in(settings, p1), await sign_in(settings, p2)
    m = await make_merchant()
    _, phone = await operator("merchant", name="孙会计", merchant_id=m.id)
    me = await sign_in(settings, phone)
    try:
        await settled("merchant", m.id, 5000)
        await _payee(maker, checker, m.id)
        await me.client.post("/console/my-payouts/withdrawals",
                             data={"_csrf": me.csrf, "account": f"merchant:{m.id}", "amount": "40"})
        req = await WithdrawalRequest.get(account_id=m.id, status="pending")
        url = f"/console/payouts/requests/{req.id}/reject"
        r = await maker.page("/console/payouts/requests")
        assert f'hx-post="{url}"' in r.text and 'placeholder="驳回原因（收款方可见）"' in r.text
        r = await me.post(url, {"reason": "自己驳回"})  # a payee cannot: told in the message area
        assert r.headers.get("HX-Retarget") == "#flash" and "县电商办" in r.text and "驳回</button>" not in r.text
        assert (await me.post(url, {"reason": "自己驳回"}, htmx=False)).status_code == 403
        r = await maker.post(url, {"reason": "没有令牌"}, csrf=False)  # no CSRF token: refused, nothing written
        assert "驳回</button>" not in r.text and (await WithdrawalRequest.get(id=req.id)).status == "pending"
        r = await maker.post(url, {"reason": "  "})  # no reason: the row again, the field named
        assert f'data-request="{req.id}"' in r.text and 'data-field="reason"' in r.text and "请填写原因" in r.text
        assert (await WithdrawalRequest.get(id=req.id)).status == "pending"
        assert (await payouts.balance("merchant", m.id)).available_fen == 1000
        r = await maker.post(url, {"reason": "开户行与账号不符"})
        assert r.status_code == 200 and r.text.lstrip().startswith("<tr") and 'data-state="rejected"' in r.text
        assert "县电商办已驳回，款项已退回余额：开户行与账号不符" in r.text and "驳回</button>" not in r.text
        assert (await payouts.balance("merchant", m.id)).available_fen == 5000
        r = await maker.post(url, {"reason": "再驳回"})
        assert r.headers.get("HX-Retarget") == "#flash" and "已撤回或已进入打款批次" in r.text
        assert f'data-request="{req.id}"' not in (await maker.page("/console/payouts")).text
        r = await me.page("/console/my-payouts")
        assert "县电商办已驳回，款项已退回余额" in r.text and "驳回原因：开户行与账号不符" in r.text
        # without htmx (no script): back to the list
        await me.client.post("/console/my-payouts/withdrawals",
                             data={"_csrf": me.csrf, "account": f"merchant:{m.id}", "amount": "10"})
        again = await WithdrawalRequest.get(account_id=m.id, status="pending")
        r = await maker.client.post(f"/console/payouts/requests/{again.id}/reject",
                                    data={"_csrf": maker.csrf, "reason": "重复申请"})
        assert r.status_code == 303 and r.headers["location"] == "/console/payouts/requests"
        assert (await WithdrawalRequest.get(id=again.id)).status == "rejected"
    finally:
        for b in (maker, checker, me):
            await b.client.aclose()


async def test_one_request_is_batched_from_any_page_of_the_pending_list(client, settings, app):
    _, p1 = await operator("admin", name="王经办")
    _, p2 = await operator("admin", name="李复核")
    maker, checker = await sign_in(settings, p1), await sign_in(settings, p2)
    m = await make_merchant()
    base = 10**12 + m.id * 1000  # accounts nobody else has: the 501 requests ahead are cleaned up after
    try:
        await settled("merchant", m.id, 5000)
        await _payee(maker, checker, m.id)
        await WithdrawalRequest.bulk_create([
            WithdrawalRequest(account_type="merchant", account_id=base + k, amount_fen=100, method="bank",
                              requested_by=1) for k in range(501)])
        req = await WithdrawalRequest.create(account_type="merchant", account_id=m.id, amount_fen=1200,
                                             method="bank", requested_by=1)
        await maker.page("/console/payouts")
        for bad in ("abc", "9" * 30, str(req.id) + "0"):
            r = await maker.post("/console/payouts/requests", {"method": "bank", "request_id": bad})
            assert r.status_code in (200, 404) and "HX-Redirect" not in r.headers, bad
        r = await maker.post("/console/payouts/requests", {"method": "wechat", "request_id": str(req.id)})
        assert "没有待处理的提现申请" in r.text  # not this method's
        r = await maker.post("/console/payouts/requests", {"method": "bank", "request_id": str(req.id)})
        batch_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
        assert (await PayoutLine.get(batch_id=batch_id)).account_id == m.id
        assert (await WithdrawalRequest.get(id=req.id)).status == "batched"
    finally:
        await WithdrawalRequest.filter(account_type="merchant", account_id__gte=base, account_id__lt=base + 501).delete()
        for b in (maker, checker):
            await b.client.aclose()
