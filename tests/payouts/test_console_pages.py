"""The payout pages of the web console: the office's payee changes (maker–checker beside the button),
batches prepared, approved by another person, the bank file out and its result in (a bad file's rows
named); a payee's own balance, payouts and details; each only to its roles and owners. Then the
same in headless Chromium."""
import asyncio
import html
import io
import os
import re
import secrets

import pytest
from openpyxl import Workbook, load_workbook

from server.console_web import payouts as payout_pages
from server.models.payouts import Payee, PayeeChange, PayoutBatch, PayoutLine, WithdrawalRequest
from server.models.settlement import Statement
from server.kit.schemas import encode_cursor
from tests.console.conftest import operator, sign_in
from tests.orders.conftest import make_merchant
from tests.payouts.helpers import approved_payee, settled
from tests.stats.test_screen_browser import ARGS, CHROMIUM, _until


async def _office_pair(settings):
    _, p1 = await operator("admin", name="王经办")
    _, p2 = await operator("admin", name="李复核")
    return await sign_in(settings, p1), await sign_in(settings, p2)


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_office_pages_payees_and_a_bank_batch(client, settings, app):
    maker, checker = await _office_pair(settings)
    try:
        m = await make_merchant()
        r = await maker.page("/console/payees")
        assert r.status_code == 200 and "收款信息" in r.text
        form = {"_csrf": maker.csrf, "account_type": "merchant", "account_id": str(m.id), "method": "bank",
                "real_name": "王大山", "bank_account": "abc", "bank_name": "农行", "bank_branch": "喀左支行"}
        r = await maker.client.post("/console/payees", data=form)
        assert r.status_code == 200 and 'data-field="bank_account"' in r.text and "8–32 位数字" in r.text
        assert not await PayeeChange.filter(account_type="merchant", account_id=m.id).exists()
        r = await maker.client.post("/console/payees", data={**form, "bank_account": "6222021234567890"})
        assert "须由另一位工作人员审批" in r.text and "6222********7890" in r.text
        change = await PayeeChange.get(account_type="merchant", account_id=m.id)
        r = await maker.post(f"/console/payees/changes/{change.id}/approve")
        assert r.headers.get("HX-Retarget") == "#flash" and "经办与复核不能是同一人" in r.text
        assert (await PayeeChange.get(id=change.id)).status == "pending"
        await checker.page("/console/payees")
        r = await checker.post(f"/console/payees/changes/{change.id}/approve")
        assert r.status_code == 200 and "已生效" in r.text
        await settled("merchant", m.id, 12345)
        r = await maker.page("/console/payouts")
        assert f'data-due="merchant-{m.id}"' in r.text and "¥123.45" in r.text
        r = await maker.post("/console/payouts", {"method": "bank", "account_type": "merchant",
                                                  "account_id": str(m.id), "amount": "200"})
        assert r.headers.get("HX-Retarget") == "#flash" and "超过可提现余额" in r.text
        r = await maker.post("/console/payouts", {"method": "bank", "account_type": "merchant",
                                                  "account_id": str(m.id), "amount": "100.5"})
        batch_url = r.headers.get("HX-Redirect", "")
        assert batch_url.startswith("/console/payouts/"), r.text
        batch_id = int(batch_url.rsplit("/", 1)[1])
        assert (await PayoutBatch.get(id=batch_id)).total_fen == 10050
        r = await maker.post(f"/console/payouts/{batch_id}/approve")
        assert "经办与复核不能是同一人" in r.text and (await PayoutBatch.get(id=batch_id)).status == "prepared"
        await checker.page(batch_url)
        r = await checker.post(f"/console/payouts/{batch_id}/approve")
        assert r.status_code == 200 and "已审批" in r.text and "下载银行代发文件" in r.text
        r = await checker.client.get(f"/api/v1/console/payout-batches/{batch_id}/xlsx")
        assert r.status_code == 200
        rows = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
        files = {"file": ("r.xlsx", _xlsx([rows[0] + ["状态", "说明"], rows[1][:4] + ["100.49", rows[1][5], "成功", ""]]))}
        r = await checker.client.post(f"/console/payouts/{batch_id}/result", files=files,
                                      headers={"X-CSRF-Token": checker.csrf, "HX-Request": "true"})
        assert "第 2 行" in r.text and "amount" in r.text and "未做任何记录" in r.text
        line = await PayoutLine.get(batch_id=batch_id)
        assert line.status == "processing"
        files = {"file": ("r.xlsx", _xlsx([rows[0] + ["状态", "说明"], rows[1] + ["成功", ""]]))}
        r = await checker.client.post(f"/console/payouts/{batch_id}/result", files=files,
                                      headers={"X-CSRF-Token": checker.csrf, "HX-Request": "true"})
        assert r.status_code == 200 and "到账 1" in r.text
        assert (await PayoutLine.get(id=line.id)).status == "succeeded"
    finally:
        await maker.client.aclose()
        await checker.client.aclose()


async def test_a_payee_sees_only_its_own_money_and_office_pages_are_closed_to_it(client, settings, app):
    _, office_phone = await operator("admin", name="王主任")
    office = await sign_in(settings, office_phone)
    _, checker_phone = await operator("admin", name="李复核")
    checker = await sign_in(settings, checker_phone)
    m, other = await make_merchant(), await make_merchant()
    _, phone = await operator("merchant", name="赵会计", merchant_id=m.id)
    me = await sign_in(settings, phone)
    try:
        await settled("merchant", m.id, 5000)
        await settled("merchant", other.id, 7777)
        r = await me.page("/console/my-payouts")
        assert r.status_code == 200 and f'data-account="merchant-{m.id}"' in r.text and "¥50.00" in r.text
        assert f"merchant-{other.id}" not in r.text and "¥77.77" not in r.text
        assert 'href="/console/my-payouts"' in r.text and 'href="/console/payouts"' not in r.text
        for url in ("/console/payouts", "/console/payees", "/console/payouts/requests", "/console/payouts/due",
                    "/console/payouts/batches"):
            assert (await me.page(url)).status_code == 403
        r = await me.client.post("/console/my-payouts/payee", data={
            "_csrf": me.csrf, "method": "bank", "account": f"merchant:{other.id}", "real_name": "赵",
            "bank_account": "6222021234567890", "bank_name": "农行", "bank_branch": "喀左"})
        assert r.status_code == 404 and not await PayeeChange.filter(account_id=other.id).exists()
        r = await me.client.post("/console/my-payouts/payee", data={
            "_csrf": me.csrf, "method": "bank", "account": f"merchant:{m.id}", "real_name": "赵",
            "bank_account": "62220212", "bank_name": "", "bank_branch": "喀左"})
        assert 'data-field="bank_name"' in r.text
        r = await me.client.post("/console/my-payouts/payee", data={
            "_csrf": me.csrf, "method": "bank", "account": f"merchant:{m.id}", "real_name": "赵会计",
            "bank_account": "6222021234567890", "bank_name": "农行", "bank_branch": "喀左"})
        assert "县电商办审核通过后生效" in r.text and "待审批" in r.text
        change = await PayeeChange.get(account_type="merchant", account_id=m.id, status="pending")
        assert change.requested_via == "payee"
        await checker.page("/console/payees")
        assert (await checker.post(f"/console/payees/changes/{change.id}/approve")).status_code == 200
        r = await me.page("/console/my-payouts")
        assert "银行转账" in r.text and "6222********7890" in r.text
    finally:
        for b in (office, checker, me):
            await b.client.aclose()


def _rows(html: str, attr: str) -> list[str]:
    return re.findall(rf'data-{attr}="([^"]+)"', html)


async def _walk(office, url: str, attr: str) -> list[str]:
    """Every row of a payouts list, page after page through its 下一页 links."""
    seen = []
    while url:
        r = await office.page(url)
        assert r.status_code == 200, r.text
        seen += _rows(r.text, attr)
        nxt = re.search(r'<a class="next" href="([^"]+)"', r.text)
        url = html.unescape(nxt.group(1)) if nxt else None
    return seen


async def test_payouts_page_shows_the_first_rows_and_each_list_pages_through_all(client, settings, app,
                                                                                  monkeypatch):
    """The payouts page lists the first rows of each list (the longest-waiting requests, the biggest
    balances, the newest batches) with counts and totals over all; each list's own page has every row,
    a page at a time, once; batches filter by status; a malformed cursor is named, not a 500."""
    monkeypatch.setattr(payout_pages, "LIST_PAGE", 7)
    _, phone = await operator("admin", name="王出纳")
    office = await sign_in(settings, phone)
    try:
        n = payout_pages.FIRST_ROWS + 5
        base = 10**14 + secrets.randbelow(10**9)
        requests = [await WithdrawalRequest.create(account_type="merchant", account_id=base + k, amount_fen=100 + k,
                                                   method="bank", requested_by=1) for k in range(n)]
        for k in range(n):
            await Payee.create(account_type="station", account_id=base + k, method="bank", real_name="李站长",
                               bank_account=f"6222{base + k:016d}", bank_name="中国农业银行")
            await settled("station", base + k, 10**15 + k)   # the biggest balances of the test database
        batches = [await PayoutBatch.create(method="bank", prepared_by=1) for _ in range(n)]
        rejected = await PayoutBatch.create(method="wechat", prepared_by=1, status="rejected")

        r = await office.page("/console/payouts")
        assert r.status_code == 200
        assert len(_rows(r.text, "request")) == payout_pages.FIRST_ROWS == len(_rows(r.text, "due"))
        assert len(_rows(r.text, "batch")) == payout_pages.FIRST_ROWS
        pending = await WithdrawalRequest.filter(status="pending")
        assert f"共 {len(pending)} 条，合计 ¥{sum(q.amount_fen for q in pending) / 100:,.2f}" in r.text
        assert _rows(r.text, "due")[:3] == [f"station-{base + n - 1 - k}" for k in range(3)]   # the biggest first
        assert _rows(r.text, "batch")[0] == str(rejected.id)                                    # the newest first
        for link in ("/console/payouts/requests", "/console/payouts/due", "/console/payouts/batches"):
            assert f'href="{link}"' in r.text

        every = await _walk(office, "/console/payouts/requests", "request")
        assert len(every) == len(set(every)) and {str(q.id) for q in requests} <= set(every)
        assert every == sorted(every, key=int)                                                   # oldest first
        every = await _walk(office, "/console/payouts/due", "due")
        assert len(every) == len(set(every)) and every[:n] == [f"station-{base + n - 1 - k}" for k in range(n)]
        every = await _walk(office, "/console/payouts/batches", "batch")
        assert len(every) == len(set(every)) and {str(b.id) for b in [*batches, rejected]} <= set(every)
        r = await office.page("/console/payouts/batches?status=rejected")
        assert str(rejected.id) in _rows(r.text, "batch") and str(batches[0].id) not in _rows(r.text, "batch")

        for url in ("/console/payouts/requests?cursor=x", "/console/payouts/due?cursor=x",
                    "/console/payouts/batches?cursor=x"):
            r = await office.page(url)
            assert r.status_code == 422 and "分页参数无效" in r.text, (url, r.status_code)
        r = await office.page("/console/payouts/batches?status=lost")
        assert r.status_code == 200 and 'data-field="status"' in r.text
    finally:
        await office.client.aclose()
        # the test database's biggest balances and oldest requests were these: other tests' rows are listed again
        await WithdrawalRequest.filter(account_type="merchant", account_id__gte=base, account_id__lt=base + n).delete()
        await Statement.filter(account_type="station", account_id__gte=base, account_id__lt=base + n).delete()
        await Payee.filter(account_type="station", account_id__gte=base, account_id__lt=base + n).delete()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
async def test_payout_pages_in_chromium(client, settings, app):
    playwright = pytest.importorskip("playwright.async_api")
    from tests.console.test_browser import Watch, _sms_sign_in

    uid, phone = await operator("admin", name="王经办")
    checker_id, checker_phone = await operator("admin", name="李复核")
    m = await make_merchant()
    await approved_payee(_Api(uid), _Api(checker_id), "merchant", m.id, "bank", real_name="王大山",
                         bank_account="6222021234567890", bank_name="农行", bank_branch="喀左支行")
    await settled("merchant", m.id, 10**13 + 8800)   # among the biggest balances: listed on the payouts page
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            pages = []
            for p in (phone, checker_phone):
                page = await browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
                watch = Watch(page, settings.base_url)
                await page.goto(settings.base_url + "/console/login", wait_until="load")
                await _sms_sign_in(page, client, p)
                pages.append((page, watch))
            (page, watch), (page2, watch2) = pages
            page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            await page.goto(settings.base_url + "/console/payouts", wait_until="load")
            row = page.locator(f"[data-due='merchant-{m.id}']")
            assert "¥100,000,000,088.00" in await row.inner_text()
            await row.locator("input[name=amount]").fill("100000000089")
            await row.locator("button").click()
            await _until(lambda: page.is_visible("#flash .flash"), 10, "the refusal")
            assert "超过可提现余额" in await page.inner_text("#flash")
            await row.locator("input[name=amount]").fill("")
            async with page.expect_navigation():
                await row.locator("button").click()
            assert "/console/payouts/" in page.url and "待复核" in await page.inner_text("#batch-status")
            await page.click("#approve")
            await _until(lambda: page.is_visible("#flash .flash"), 10, "the maker-checker refusal")
            assert "经办与复核不能是同一人" in await page.inner_text("#flash")
            await page2.goto(page.url, wait_until="load")
            await page2.click("#approve")
            await _until(lambda: page2.is_visible("#export"), 10, "the approval")
            assert "打款中" in await page2.inner_text("#lines")
            batch_id = int(page.url.rsplit("/", 1)[1])
            line = await PayoutLine.get(batch_id=batch_id)
            from server.payouts import bank

            data = _xlsx([[t for t, _ in bank.result_columns()],
                          [line.payee_name, line.bank_account, line.bank_name, line.bank_branch, "100000000088.00",
                           line.out_bill_no, "成功", "已入账"]])
            await page2.set_input_files("#result-form input[name=file]",
                                        files=[{"name": "result.xlsx", "mimeType": "application/octet-stream",
                                                "buffer": data}])
            await page2.click("#result-form button")
            await _until(lambda: page2.is_visible(".flash.ok:has-text('已导入')"), 10, "the import")
            assert "已到账" in await page2.inner_text("#lines")
            assert "已完成" in await page2.inner_text("#batch-status")
            assert await page2.evaluate("document.documentElement.scrollWidth") <= 1366  # fits a desk
            # each list's own pages, reached from the payouts page (batches: filtered by status too)
            for link, table, title in (("/console/payouts/due", "#due", "可打款的收款方"),
                                       ("/console/payouts/batches", "#batches", "打款批次")):
                await page2.goto(settings.base_url + "/console/payouts", wait_until="load")
                if await page2.locator(f"a[href='{link}']").count():
                    async with page2.expect_navigation():
                        await page2.click(f"a[href='{link}']")
                else:
                    await page2.goto(settings.base_url + link, wait_until="load")
                assert await page2.inner_text("h1") == title
                assert await page2.locator(f"{table}, main .empty").count() == 1   # its rows, or none yet
            await page2.select_option("select[name=status]", "done")
            async with page2.expect_navigation():
                await page2.click("form.filters button")
            assert "status=done" in page2.url
            assert await page2.locator(f"[data-batch='{batch_id}']").count() == 1   # paid in full: done
            # a request rejected with its reason (the page from just before it: other tests' rows may wait too)
            req = await WithdrawalRequest.create(account_type="merchant", account_id=m.id, amount_fen=500,
                                                 method="bank", requested_by=uid, note="提现")
            await page2.goto(f"{settings.base_url}/console/payouts/requests?cursor={encode_cursor([req.id - 1])}",
                             wait_until="load")
            assert await page2.inner_text("h1") == "待处理的提现申请"
            row = page2.locator(f"tr[data-request='{req.id}']")
            await row.locator("form.reject button").click()
            await _until(lambda: row.locator("[data-field=reason]").is_visible(), 10, "the missing reason")
            assert "请填写原因" in await row.inner_text()
            await row.locator("input[name=reason]").fill("账户信息待更新")
            await row.locator("form.reject button").click()
            await _until(lambda: row.locator("[data-state=rejected]").is_visible(), 10, "the rejection")
            assert "账户信息待更新" in await row.inner_text() and await row.locator("form").count() == 0
            assert (await WithdrawalRequest.get(id=req.id)).status == "rejected"
            await page2.goto(settings.base_url + "/console/payees", wait_until="load")
            assert "6222********7890" in await page2.inner_text("#payees")
            watch.check()
            watch2.check()
        finally:
            await browser.close()


class _Api:
    """A bearer-token client for an operator (the office's JSON API)."""

    def __init__(self, user_id: int):
        self.user_id = user_id

    async def post(self, url, json=None):
        import httpx

        from server.kit import runtime
        from server.kit.auth import issue_token
        from server.models.accounts import User

        user = await User.get(id=self.user_id)
        token = issue_token(user.id, ["admin"], user.token_version)
        async with httpx.AsyncClient(base_url=runtime.settings().base_url) as c:
            return await c.post(url, json=json, headers={"Authorization": f"Bearer {token}"})
