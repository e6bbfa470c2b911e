"""Payout pages. The office (admin): payee details and the pending changes a second person approves;
payout batches (prepare from what is due, approve or reject, the bank file out, the bank's result in,
every line's outcome; a batch from the payees' pending withdrawal requests). Merchants, livestreamers
and station staff: their own balances, payouts and payee details, a request to change them, and
withdrawal requests (提现申请) they may cancel while pending."""
from __future__ import annotations

import asyncio

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import redirect

from server.console_web import messages
from server.console_web.web import Ctx, field_errors, filters, flash, next_url, page, parse
from server.kit.errors import AppError, ValidationFailed
from server.kit.http import validate
from server.kit.schemas import PageQuery
from server.media.upload import read_upload
from server.payouts import bank, payees, withdrawals
from server.payouts import service as payouts
from server.payouts.schemas import (BatchesQuery, BatchIn, ChangesQuery, MyPayeeIn, PayeeIn, WithdrawalIn,
                                    WithdrawalRejectIn)

bp = Blueprint("console_web_payouts", url_prefix="/console")
PAYEES_PAGE = 50   # payee details in force, a keyset page at a time
FIRST_ROWS = 10    # each list's first rows on the payouts page (its own pages have every row)
LIST_PAGE = 20     # a page of one of those lists, as the console's other lists
PAYEE_ROLES = ("merchant", "livestreamer", "station_staff")
ACCOUNT_NAMES = {"merchant": "商户", "station": "服务站", "livestreamer": "主播"}
METHOD_NAMES = {"wechat": "微信零钱", "bank": "银行转账"}
STATES = {"pending": "待审批", "approved": "已生效", "rejected": "已驳回", "superseded": "已被新申请取代",
          "prepared": "待复核", "done": "已完成", "reserved": "待复核", "processing": "打款中",
          "succeeded": "已到账", "failed": "未到账", "cancelled": "已取消", "batched": "已进入打款批次"}
# A withdrawal request as its payee reads it: its own state, or once batched its payout line's.
REQUEST_STATES = {"pending": "待县电商办打款", "cancelled": "已撤回", "rejected": "县电商办已驳回，款项已退回余额",
                  "batched": "已进入打款批次", "reserved": "已进入打款批次，待复核",
                  "processing": "打款中", "succeeded": "已到账", "failed": "未到账，款项已退回余额",
                  "cancelled_line": "批次被驳回，款项已退回余额"}
WECHAT_STATES = {"WAIT_USER_CONFIRM": "待收款人确认", "ACCEPTED": "已受理", "PROCESSING": "转账中",
                 "TRANSFERING": "转账中", "SUCCESS": "成功", "FAIL": "失败", "CANCELLED": "已撤销"}
HINTS = {"bank_account": "请输入 8–32 位数字的银行账号。", "openid": "请输入收款人在本小程序下的 openid。",
         "real_name": "银行账户须填写户名。", "bank_name": "请填写开户行。", "bank_branch": "请填写支行。",
         "amount_fen": "金额须大于 0 且不超过可提现余额（微信至少 0.10 元）。",
         "amount": "请输入提现金额（元，最多两位小数），大于 0 且不超过可提现余额（微信至少 0.10 元）。"}


def _names(**values):
    return {"account_names": ACCOUNT_NAMES, "method_names": METHOD_NAMES, "states": STATES,
            "wechat_states": WECHAT_STATES, "request_states": REQUEST_STATES, **values}


# ---- office: payee details ------------------------------------------------------------------
async def _payees_page(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = ""):
    cursor = ctx.request.args.get("cursor") if ctx.request.method == "GET" else None
    # side by side: each sequential read is one more event-loop turn under load
    changes, listed = await asyncio.gather(payees.list_changes(ChangesQuery(status="pending", limit=200)),
                                           payees.payee_page(cursor, PAYEES_PAGE))
    return ctx.render("payees.html", **_names(changes=changes.items, payees=listed.items,
                                              next_href=next_url(listed.next_cursor, ctx.request),
                                              form=form or {}, errors=errors or {}, notice=notice))


@bp.get("/payees")
@page()
async def payee_list(request: Request, ctx: Ctx):
    return await _payees_page(ctx)


@bp.post("/payees")
@page()
async def payee_request(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        change = await payees.request_change(parse(PayeeIn, form), actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return await _payees_page(ctx, form, field_errors(exc, HINTS))
    except AppError as exc:
        return await _payees_page(ctx, form, {"account_id": messages.error_message(exc)})
    return await _payees_page(ctx, notice=f"已提交变更 #{change.id}，须由另一位工作人员审批后生效。")


@bp.get("/payees/changes/<change_id:int>")
@page()
async def payee_change(request: Request, ctx: Ctx, change_id: int):
    return ctx.render("payee_change.html", **_names(c=await payees.get_change(change_id)))


@bp.post("/payees/changes/<change_id:int>/<action:approve|reject>")
@page()
async def payee_decide(request: Request, ctx: Ctx, change_id: int, action: str):
    c = await payees.decide(change_id, approve=action == "approve", actor_id=ctx.user_id,
                            note=ctx.form().get("note", "")[:200])
    return ctx.render("_payee_change_row.html", **_names(c=c))


# ---- office: payout batches -----------------------------------------------------------------
@bp.get("/payouts")
@page()
async def payout_list(request: Request, ctx: Ctx):
    # A county's thousand payees in one table is a page nobody reads: each list shows its first rows
    # (the longest-waiting requests, the biggest balances, the newest batches) and links to its own
    # pages; the counts and totals cover them all (and so do the batch-for-all buttons).
    # side by side: each sequential read is one more event-loop turn under load
    batches, (shown, due_count, due_total, _), requests, (request_count, request_total) = await asyncio.gather(
        payouts.list_batches(BatchesQuery(limit=FIRST_ROWS)), payouts.due_summary(FIRST_ROWS),
        withdrawals.pending_page(None, FIRST_ROWS), withdrawals.pending_totals())
    return ctx.render("payouts.html", **_names(
        due=shown, due_count=due_count, due_total_fen=due_total, batches=batches.items,
        more_batches=batches.next_cursor is not None, requests=requests.items, request_count=request_count,
        request_total_fen=request_total))


@bp.get("/payouts/requests")
@page()
async def payout_requests(request: Request, ctx: Ctx):
    f, _ = filters(ctx, PageQuery)
    listed, (count, total) = await asyncio.gather(withdrawals.pending_page(f.cursor, LIST_PAGE),
                                                  withdrawals.pending_totals())
    return ctx.render("payout_requests.html", **_names(
        requests=listed.items, request_count=count, request_total_fen=total,
        next_href=next_url(listed.next_cursor, request)))


@bp.get("/payouts/due")
@page()
async def payout_due(request: Request, ctx: Ctx):
    f, _ = filters(ctx, PageQuery)
    shown, count, total, nxt = await payouts.due_summary(LIST_PAGE, f.cursor)
    return ctx.render("payout_due.html", **_names(due=shown, due_count=count, due_total_fen=total,
                                                  next_href=next_url(nxt, request)))


@bp.get("/payouts/batches")
@page()
async def payout_batches(request: Request, ctx: Ctx):
    f, errors = filters(ctx, BatchesQuery)
    listed = await payouts.list_batches(f.model_copy(update={"limit": LIST_PAGE}))
    return ctx.render("payout_batches.html", **_names(
        f=f, errors=errors, batches=listed.items, next_href=next_url(listed.next_cursor, request),
        batch_states=[(k, STATES[k]) for k in ("prepared", "approved", "rejected", "done")]))


@bp.post("/payouts/requests")
@page()
async def payout_from_requests(request: Request, ctx: Ctx):
    """A batch (this method) from one pending withdrawal request, or from all of this method's."""
    form = ctx.form()
    method, one = form.get("method", ""), form.get("request_id", "")
    if one:  # looked up itself: it may be on any page of the pending list
        rows = [await withdrawals.one(int(one))] if one.isdigit() and len(one) <= 18 else []
        ids = [r.id for r in rows if r.status == "pending" and r.method == method]
    else:
        ids = [r.id for r in await withdrawals.pending() if r.method == method]
    if not ids:
        return flash(ctx, "没有待处理的提现申请（可能已被撤回或已生成批次），请刷新后查看。", status=409)
    try:
        batch = await payouts.prepare(validate(BatchIn, {"method": method, "request_ids": ids}, "form"),
                                      actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return flash(ctx, "未生成批次：" + "；".join(field_errors(exc, HINTS).values()), status=422)
    if ctx.htmx:
        return HTTPResponse(status=200, headers={"HX-Redirect": f"/console/payouts/{batch.id}"})
    return redirect(f"/console/payouts/{batch.id}", status=303)


@bp.post("/payouts/requests/<request_id:int>/reject")
@page()
async def payout_request_reject(request: Request, ctx: Ctx, request_id: int):
    """The office refuses one pending request with a reason its payee reads; answers with its row."""
    form = ctx.form()
    try:
        out = await withdrawals.reject(ctx.user_id, request_id, parse(WithdrawalRejectIn, form))
    except ValidationFailed as exc:
        if not ctx.htmx:
            return flash(ctx, "未驳回：" + "；".join(field_errors(exc).values()), status=422)
        return ctx.render("_payout_request_row.html", **_names(q=await withdrawals.one(request_id),
                                                               error=field_errors(exc).get("reason", ""),
                                                               reason=form.get("reason", "")))
    if not ctx.htmx:
        return redirect("/console/payouts/requests", status=303)
    return ctx.render("_payout_request_row.html", **_names(q=out, error="", reason=""))


@bp.post("/payouts")
@page()
async def payout_prepare(request: Request, ctx: Ctx):
    form = ctx.form()
    items = []
    if form.get("account_type") and form.get("account_id"):
        amount = bank.parse_yuan(form.get("amount", "")) if form.get("amount") else None
        if form.get("amount") and amount is None:
            return flash(ctx, "未生成批次：" + HINTS["amount_fen"], status=422)
        items = [{"account_type": form["account_type"], "account_id": form["account_id"], "amount_fen": amount}]
    try:
        body = validate(BatchIn, {"method": form.get("method", ""), "items": items, "all_due": not items}, "form")
        batch = await payouts.prepare(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        return flash(ctx, "未生成批次：" + "；".join(field_errors(exc, HINTS).values()), status=422)
    if ctx.htmx:
        return HTTPResponse(status=200, headers={"HX-Redirect": f"/console/payouts/{batch.id}"})
    return redirect(f"/console/payouts/{batch.id}", status=303)


async def _batch_page(ctx: Ctx, batch_id: int, notice: str = "", problems: list | None = None, status: int = 200):
    return ctx.render("_payout_batch.html" if ctx.htmx else "payout_batch.html", status=status,
                      **_names(b=await payouts.get_batch(batch_id), notice=notice, problems=problems or []))


@bp.get("/payouts/<batch_id:int>")
@page()
async def payout_batch(request: Request, ctx: Ctx, batch_id: int):
    return await _batch_page(ctx, batch_id)


@bp.post("/payouts/<batch_id:int>/<action:approve|reject>")
@page()
async def payout_decide(request: Request, ctx: Ctx, batch_id: int, action: str):
    b = await payouts.decide(batch_id, approve=action == "approve", actor_id=ctx.user_id,
                             note=ctx.form().get("note", "")[:200])
    return await _batch_page(ctx, batch_id, notice="已审批，开始打款。" if b.status in ("approved", "done")
                             else "已驳回，款项已退回余额。")


@bp.post("/payouts/<batch_id:int>/result")
@page()
async def payout_result(request: Request, ctx: Ctx, batch_id: int):
    try:
        data, _ = read_upload(request)
        out = await bank.import_result(batch_id, data, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        problems = [d for d in exc.details or [] if isinstance(d, dict)]
        # htmx swaps only a 2xx answer: the refused file's rows are shown in place
        return await _batch_page(ctx, batch_id, problems=problems, status=200 if ctx.htmx else 422)
    return await _batch_page(ctx, batch_id, notice=f"已导入 {out.rows} 行：到账 {out.succeeded}，未到账 {out.failed}，"
                                                   f"此前已记录 {out.unchanged}。")


# ---- payees: their own money ----------------------------------------------------------------
async def _mine(ctx: Ctx, form: dict | None = None, errors: dict | None = None, notice: str = ""):
    return ctx.render("my_payouts.html", **_names(
        balances=await payouts.my_balances(ctx.principal), lines=await payouts.my_lines(ctx.principal),
        changes=await payees.my_changes(ctx.principal), accounts=payees.accounts_of(ctx.principal),
        requests=await withdrawals.mine(ctx.principal), form=form or {}, errors=errors or {}, notice=notice))


@bp.get("/my-payouts")
@page(roles=PAYEE_ROLES)
async def my_payouts(request: Request, ctx: Ctx):
    return await _mine(ctx)


@bp.post("/my-payouts/payee")
@page(roles=PAYEE_ROLES)
async def my_payee(request: Request, ctx: Ctx):
    form = ctx.form()
    account_type, _, account_id = form.get("account", "").partition(":")
    try:
        body = parse(MyPayeeIn, {**form, "account_type": account_type, "account_id": account_id})
        await payees.request_own_change(ctx.principal, body)
    except ValidationFailed as exc:
        return await _mine(ctx, form, field_errors(exc, HINTS))
    return await _mine(ctx, notice="已提交，县电商办审核通过后生效。")


@bp.post("/my-payouts/withdrawals")
@page(roles=PAYEE_ROLES)
async def my_withdrawal(request: Request, ctx: Ctx):
    """Ask to be paid an amount (yuan) of one of my accounts' available balance."""
    form = {**ctx.form(), "which": "withdraw"}
    account_type, _, account_id = form.get("account", "").partition(":")
    amount = bank.parse_yuan(form.get("amount", "")) if form.get("amount") else None
    if amount is None:
        return await _mine(ctx, form, {"amount": HINTS["amount"]})
    try:
        body = parse(WithdrawalIn, {"account_type": account_type, "account_id": account_id, "amount_fen": amount,
                                    "note": form.get("note", "")})
        out = await withdrawals.request(ctx.principal, body)
    except ValidationFailed as exc:
        errors = field_errors(exc, HINTS)
        if "amount_fen" in errors:
            errors["amount"] = errors.pop("amount_fen")
        return await _mine(ctx, form, errors)
    except AppError as exc:
        if exc.code == "exceeds_balance":
            available = next((d.get("available_fen", 0) for d in exc.details or [] if isinstance(d, dict)), 0)
            return await _mine(ctx, form, {"amount": f"超过可提现余额 ¥{max(available, 0) / 100:.2f}。"})
        if exc.code == "no_payee":
            return await _mine(ctx, form, {"account": "该账户还没有生效的收款信息，请先在下方提交收款信息。"})
        raise
    return await _mine(ctx, notice=f"已提交提现申请 #{out.id}（¥{out.amount_fen / 100:.2f}），县电商办打款后到账；"
                                   "打款前可以撤回。")


@bp.post("/my-payouts/withdrawals/<request_id:int>/cancel")
@page(roles=PAYEE_ROLES)
async def my_withdrawal_cancel(request: Request, ctx: Ctx, request_id: int):
    out = await withdrawals.cancel(ctx.principal, request_id)
    return await _mine(ctx, notice=f"已撤回提现申请 #{out.id}，¥{out.amount_fen / 100:.2f} 已回到可提现余额。")
