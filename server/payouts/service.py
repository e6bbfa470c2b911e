"""Payouts (提现/打款): a payee's settled, unpaid balance is paid out in batches that one office user
prepares and another approves (maker–checker), by WeChat transfer to a balance (商家转账, APIv3) or
by a bank transfer batch file (server/payouts/bank.py).

Balance: settled (the totals of the payee's statements) - paid (succeeded lines) - held (lines reserved
or processing, and the payee's own pending withdrawal requests, server/payouts/withdrawals.py). A line is created only while the payee's Payee row is locked (SELECT ... FOR UPDATE)
and only for at most what is available then, so racing batches never pay more than was settled. A
failed, expired, cancelled or rejected line gives its amount back (it stops being held) and says why.

A WeChat line keeps one out_bill_no for life: submitting it again, or asking about it, can never make
a second transfer; a line whose outcome is unknown (no answer, not final) stays processing and the
sweeper asks WeChat until it is final. A line that succeeds posts its ledger entry (kind payout,
ref_kind payout_line) in the transaction that marks it."""
from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta

from tortoise import Tortoise
from tortoise.expressions import Q
from tortoise.functions import Sum

from server.integrations.wechatpay import PayGatewayError
from server.integrations.wechatpay_gateway import gateway
from server.integrations.wechatpay_v3 import TRANSFER_NAME_REQUIRED_FEN, Transfer
from server.kit import audit, clock, jobs, runtime
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, id_page, lock_rows
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page, decode_cursor, encode_cursor
from server.ledger import service as ledger
from server.models.payouts import Payee, PayeeMethod, PayoutBatch, PayoutLine, WithdrawalRequest
from server.models.settlement import Statement
from server.payouts import payees
from server.payouts.schemas import (BalanceOut, BatchDetailOut, BatchesQuery, BatchIn, BatchOut, ConfirmParamsOut,
                                    LineOut)
from server.payouts.errors import PayoutCode

log = logging.getLogger("kazuo.payouts")
HELD = ("reserved", "processing")
SUBMIT_JOB = "payouts.transfer"
WECHAT_MIN_FEN = 10  # WeChat refuses transfers under ¥0.10
FINAL = ("SUCCESS", "FAIL", "CANCELLED")
# Why a transfer did not arrive, as the payee and the office read it.
REASONS = {"USER_NOT_CONFIRM": "收款人超时未确认，款项已退回余额", "EXPIRED": "收款人超时未确认，已撤销，款项已退回余额",
           "REAL_NAME_CHECK_FAIL": "收款人实名校验失败", "CANCELLED": "转账已撤销，款项已退回余额",
           "BATCH_REJECTED": "批次被驳回，款项已退回余额"}


def transfer_notify_url() -> str:
    """Where WeChat reports a transfer's final state."""
    s = runtime.settings()
    return s.base_url + s.wechat_pay_v3_transfer_notify_path


def reason(code: str) -> str:
    return REASONS.get(code, code)


# ---- balances -------------------------------------------------------------------------------
async def _sums(model, field: str, accounts: list[tuple[str, int]], conn=None, **filters) -> dict:
    if not accounts:
        return {}
    if len(accounts) > 200:
        # Most payees (the office's due list): one pass over the table grouped by account, no IN list.
        wanted = set(accounts)
        qs = model.filter(**filters)
        if conn is not None:
            qs = qs.using_db(conn)
        rows = await qs.annotate(s=Sum(field)).group_by("account_type", "account_id").values(
            "account_type", "account_id", "s")
        return {(r["account_type"], r["account_id"]): int(r["s"] or 0) for r in rows
                if (r["account_type"], r["account_id"]) in wanted}
    # One IN list per account type (there are three): an OR of a thousand pairs nests a thousand deep
    # and overflows the ORM's recursion when the office lists every payee.
    by_type: dict[str, list[int]] = {}
    for t, i in accounts:
        by_type.setdefault(t, []).append(i)
    cond = Q(id=-1)
    for t, ids in by_type.items():
        cond |= Q(account_type=t, account_id__in=ids)
    qs = model.filter(cond, **filters)
    if conn is not None:
        qs = qs.using_db(conn)
    rows = await qs.annotate(s=Sum(field)).group_by("account_type", "account_id").values(
        "account_type", "account_id", "s")
    return {(r["account_type"], r["account_id"]): int(r["s"] or 0) for r in rows}


async def balances_of(accounts: list[tuple[str, int]], conn=None) -> dict[tuple[str, int], dict]:
    """{account: {settled_fen, paid_fen, held_fen, requested_fen, available_fen}}; held_fen includes
    requested_fen (pending withdrawal requests)."""
    sums = (_sums(Statement, "total_fen", accounts, conn),
            _sums(PayoutLine, "amount_fen", accounts, conn, status="succeeded"),
            _sums(PayoutLine, "amount_fen", accounts, conn, status__in=HELD),
            _sums(WithdrawalRequest, "amount_fen", accounts, conn, status="pending"))
    if conn is None:
        # Four round trips side by side (each takes its own pooled connection) instead of one after another.
        settled, paid, held, requested = await asyncio.gather(*sums)
    else:   # one connection (a transaction) runs one statement at a time
        settled, paid, held, requested = [await c for c in sums]
    out = {}
    for a in accounts:
        s, p, r = settled.get(a, 0), paid.get(a, 0), requested.get(a, 0)
        h = held.get(a, 0) + r
        out[a] = {"settled_fen": s, "paid_fen": p, "held_fen": h, "requested_fen": r, "available_fen": s - p - h}
    return out


async def balance(account_type: str, account_id: int) -> BalanceOut:
    """One payee's balance and masked details."""
    b = (await balances_of([(account_type, account_id)]))[(account_type, account_id)]
    return BalanceOut(account_type=account_type, account_id=account_id, **b,
                      payee=await payees.payee_of(account_type, account_id))


async def my_balances(principal: Principal) -> list[BalanceOut]:
    """The balances of every payee account the principal holds."""
    return [await balance(t, i) for t, i in payees.accounts_of(principal)]


async def due(method: str | None = None) -> list[BalanceOut]:
    """Payees with details in force and money available, as the office prepares a batch from them."""
    rows = await (Payee.all() if method is None else Payee.filter(method=method)).order_by("account_type",
                                                                                           "account_id")
    accounts = [(r.account_type, r.account_id) for r in rows]
    sums = await balances_of(accounts)
    return [BalanceOut(account_type=r.account_type, account_id=r.account_id, **sums[(r.account_type, r.account_id)],
                       payee=payees.payee_out(r))
            for r in rows if sums[(r.account_type, r.account_id)]["available_fen"] > 0]


# The office's due list in one statement: every payee's balance (the four sums of balances_of), those
# with money available ranked, their count and total. Plain SQL both backends run (no placeholders: the
# statuses are this module's constants), one round trip returning the listed rows only.
_DUE_SQL = f"""
WITH b AS (
  SELECT account_type, account_id, SUM(s) AS s, SUM(p) AS p, SUM(h) AS h, SUM(r) AS r FROM (
    SELECT account_type, account_id, total_fen AS s, 0 AS p, 0 AS h, 0 AS r FROM settlement_statements
    UNION ALL SELECT account_type, account_id, 0, amount_fen, 0, 0 FROM payout_lines WHERE status = 'succeeded'
    UNION ALL SELECT account_type, account_id, 0, 0, amount_fen, 0 FROM payout_lines
      WHERE status IN ({", ".join(f"'{h}'" for h in HELD)})
    UNION ALL SELECT account_type, account_id, 0, 0, amount_fen, amount_fen FROM withdrawal_requests
      WHERE status = 'pending'
  ) x GROUP BY account_type, account_id
), d AS (
  SELECT y.*, b.s AS settled, b.p AS paid, b.h AS held, b.r AS requested, b.s - b.p - b.h AS available
  FROM payees y JOIN b ON b.account_type = y.account_type AND b.account_id = y.account_id
  WHERE b.s - b.p - b.h > 0
)
SELECT d.*, COUNT(*) OVER () AS due_count, SUM(available) OVER () AS due_total FROM d
ORDER BY available DESC, account_type, account_id LIMIT {{limit}} OFFSET {{offset}}"""


async def due_summary(limit: int, cursor: str | None = None) -> tuple[list[BalanceOut], int, int, str | None]:
    """The office's payouts pages: `limit` payees of those with money available, the most first, from
    `cursor` (a place in that ranking; none: the top); how many payees have money available and its
    total (all of them, not only those listed); the next page's cursor (None at the end). A malformed
    cursor is a 422 naming `cursor`."""
    after = decode_cursor(cursor, 1)
    offset = after[0] if after else 0
    if not isinstance(offset, int) or not 0 <= offset < 10**9:
        raise ValidationFailed.field("cursor", "malformed cursor")
    # (A thousand payees' rows and four grouped sums brought here to keep a hundred were most of the
    # page's time: the database ranks them and sends the page.)
    rows = await Tortoise.get_connection("default").execute_query_dict(
        _DUE_SQL.format(limit=int(limit), offset=offset))
    fields = Payee._meta.fields_map
    shown = []
    for r in rows:
        payee = Payee(**{k: fields[k].to_python_value(r[k]) for k in ("id", "updated_at", *payees.DETAILS,
                                                                      "account_type", "account_id")})
        shown.append(BalanceOut(account_type=r["account_type"], account_id=r["account_id"],
                                settled_fen=int(r["settled"]), paid_fen=int(r["paid"]), held_fen=int(r["held"]),
                                requested_fen=int(r["requested"]), available_fen=int(r["available"]),
                                payee=payees.payee_out(payee)))
    if not rows:
        return [], 0, 0, None
    count = int(rows[0]["due_count"])
    nxt = encode_cursor([offset + len(rows)]) if offset + len(rows) < count else None
    return shown, count, int(rows[0]["due_total"]), nxt


# ---- batches --------------------------------------------------------------------------------
def _bill_no() -> str:
    return "KZP" + clock.now().astimezone(clock.SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(8).upper()


async def prepare(body: BatchIn, *, actor_id: int) -> BatchDetailOut:
    """Prepare a batch (maker): one line per payee, its amount held out of the balance at once; never
    more than the settled, unpaid balance (the payee rows are locked while it is counted)."""
    if body.method == PayeeMethod.WECHAT:
        _gw()
    items = [(i.account_type, i.account_id, await _against_statement(n, i)) for n, i in enumerate(body.items)]
    if body.request_ids:
        if items or body.all_due:
            raise ValidationFailed.field("request_ids", "give request_ids, items or all_due, only one")
        items = await _requested(body.request_ids)
    if body.all_due:
        if items:
            raise ValidationFailed.field("items", "give items or all_due, not both")
        # Left out: what WeChat would refuse (under ¥0.10; from ¥2,000 without the payee's real name).
        items = [(b.account_type, b.account_id, None) for b in await due(body.method)
                 if body.method == PayeeMethod.BANK or (WECHAT_MIN_FEN <= b.available_fen and (
                     b.available_fen < TRANSFER_NAME_REQUIRED_FEN or b.payee.real_name))]
        if not items:
            raise Conflict("no payee paid this way has money available", code=PayoutCode.NOTHING_DUE)
    if not items:
        raise ValidationFailed.field("items", "at least one payee")
    seen = set()
    for n, (t, i, amount) in enumerate(items):
        if (t, i) in seen:
            raise ValidationFailed.field(f"items.{n}.account_id", "the same payee twice")
        seen.add((t, i))
        if amount is not None and body.method == PayeeMethod.WECHAT and amount < WECHAT_MIN_FEN:
            raise ValidationFailed.field(f"items.{n}.amount_fen", "a WeChat transfer is at least ¥0.10")
    async with atomic() as conn:
        rows = {(p.account_type, p.account_id): p for p in await Payee.filter(
            Q(*[Q(account_type=t, account_id=i) for t, i, _ in items], join_type="OR")).using_db(conn)}
        for n, (t, i, _) in enumerate(items):
            p = rows.get((t, i))
            if p is None:
                raise Conflict(f"{t} {i} has no payee details in force", code=PayoutCode.NO_PAYEE,
                               details=[{"field": f"items.{n}.account_id", "message": "no payee details"}])
            if p.method != body.method:
                raise Conflict(f"{t} {i} is paid by {p.method}", code=PayoutCode.PAYEE_METHOD,
                               details=[{"field": f"items.{n}.account_id", "message": f"paid by {p.method}"}])
        locked = {(p.account_type, p.account_id): p for p in await lock_rows(Payee, [p.id for p in rows.values()],
                                                                               conn)}
        batch = await PayoutBatch.create(method=body.method, prepared_by=actor_id, note=body.note, using_db=conn)
        if body.request_ids:  # their hold passes to the batch's lines, in this transaction
            await _take_requests(body.request_ids, batch.id, conn)
        sums = await balances_of(list(locked), conn)
        lines, total = [], 0
        for n, (t, i, amount) in enumerate(items):
            available = sums[(t, i)]["available_fen"]
            amount = available if amount is None else amount
            if amount <= 0 or amount > available:
                raise Conflict(f"{t} {i}: ¥{amount / 100:.2f} exceeds the settled, unpaid balance "
                               f"¥{max(available, 0) / 100:.2f}", code=PayoutCode.EXCEEDS_BALANCE,
                               details=[{"field": f"items.{n}.amount_fen", "message": "exceeds the balance",
                                         "available_fen": available}])
            if body.method == PayeeMethod.WECHAT and amount < WECHAT_MIN_FEN:
                raise ValidationFailed.field(f"items.{n}.amount_fen", "a WeChat transfer is at least ¥0.10")
            p = locked[(t, i)]
            if body.method == PayeeMethod.WECHAT and amount >= TRANSFER_NAME_REQUIRED_FEN and not p.real_name:
                raise ValidationFailed.field(f"items.{n}.amount_fen", "from ¥2,000 WeChat needs the payee's real "
                                                                      "name: add it to the payee details first")
            lines.append(PayoutLine(batch_id=batch.id, account_type=t, account_id=i, amount_fen=amount,
                                    method=p.method, payee_name=p.real_name, openid=p.openid,
                                    bank_account=p.bank_account, bank_name=p.bank_name, bank_branch=p.bank_branch,
                                    out_bill_no=_bill_no()))
            total += amount
        await PayoutLine.bulk_create(lines, using_db=conn)
        await PayoutBatch.filter(id=batch.id).using_db(conn).update(total_fen=total, line_count=len(lines))
        await audit.record(actor_id, "payout.prepare", "payout_batch", batch.id,
                           {"method": body.method, "lines": len(lines), "total_fen": total,
                            "request_ids": body.request_ids}, conn=conn)
    return await get_batch(batch.id)


async def _requested(ids: list[int]) -> list[tuple[str, int, int]]:
    """The payees of pending withdrawal requests and what they asked for in all (one line each)."""
    rows = await WithdrawalRequest.filter(id__in=ids, status="pending")
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing:
        raise Conflict(f"withdrawal request(s) {missing} are not pending", code=PayoutCode.WITHDRAWAL_NOT_PENDING,
                       details=[{"field": "request_ids", "message": "not pending", "ids": missing}])
    totals: dict[tuple[str, int], int] = {}
    for r in rows:
        totals[(r.account_type, r.account_id)] = totals.get((r.account_type, r.account_id), 0) + r.amount_fen
    return [(t, i, amount) for (t, i), amount in totals.items()]


async def _take_requests(ids: list[int], batch_id: int, conn) -> None:
    """Mark the requests batched (their money now held by the batch's lines), refusing them all when
    one was cancelled or batched meanwhile (the payee rows are locked, the requests locked here)."""
    rows = await lock_rows(WithdrawalRequest, ids, conn)
    if len(rows) != len(set(ids)) or any(r.status != "pending" for r in rows):
        raise Conflict("a withdrawal request was cancelled or batched meanwhile", code=PayoutCode.WITHDRAWAL_NOT_PENDING,
                       details=[{"field": "request_ids", "message": "not pending"}])
    await WithdrawalRequest.filter(id__in=ids).using_db(conn).update(status="batched", batch_id=batch_id,
                                                                     closed_at=clock.now())


async def _against_statement(n: int, item) -> int | None:
    """The amount of an item paid against one of the payee's statements: at most its total."""
    if item.statement_id is None:
        return item.amount_fen
    st = await Statement.filter(id=item.statement_id).first()
    if st is None or (st.account_type, st.account_id) != (item.account_type, item.account_id):
        raise ValidationFailed.field(f"items.{n}.statement_id", "not a statement of this payee")
    amount = st.total_fen if item.amount_fen is None else item.amount_fen
    if amount > st.total_fen:
        raise ValidationFailed.field(f"items.{n}.amount_fen", "more than the statement's total")
    return amount


async def decide(batch_id: int, *, approve: bool, actor_id: int, note: str = "") -> BatchDetailOut:
    """The checker approves (lines go out: WeChat transfers are made, a bank batch may be exported)
    or rejects (the money returns to the balances). Never the one who prepared it (409 maker_checker)."""
    async with atomic() as conn:
        batch = await PayoutBatch.filter(id=batch_id).using_db(conn).select_for_update().first()
        if batch is None:
            raise NotFound("payout batch not found")
        if batch.status != "prepared":
            raise Conflict(f"the batch is {batch.status}", code=PayoutCode.NOT_PREPARED)
        if batch.prepared_by == actor_id:
            raise Conflict("the one who prepared a batch cannot approve or reject it", code=PayoutCode.MAKER_CHECKER)
        if approve and batch.method == PayeeMethod.WECHAT:
            _gw()
        now = clock.now()
        await PayoutBatch.filter(id=batch_id).using_db(conn).update(
            status="approved" if approve else "rejected", decided_by=actor_id, decided_at=now,
            note=(note or batch.note)[:200])
        if approve:
            await PayoutLine.filter(batch_id=batch_id, status="reserved").using_db(conn).update(status="processing")
            if batch.method == PayeeMethod.WECHAT:
                ids = await PayoutLine.filter(batch_id=batch_id).using_db(conn).values_list("id", flat=True)
                jobs.enqueue_many(SUBMIT_JOB, [((i,), kr.key("job", f"{SUBMIT_JOB}:{i}")) for i in ids])
        else:
            await PayoutLine.filter(batch_id=batch_id, status="reserved").using_db(conn).update(
                status="cancelled", fail_reason=reason("BATCH_REJECTED"), finished_at=now)
        await audit.record(actor_id, "payout.approve" if approve else "payout.reject", "payout_batch", batch_id,
                           {"prepared_by": batch.prepared_by, "total_fen": batch.total_fen, "note": note}, conn=conn)
    return await get_batch(batch_id)


async def get_batch(batch_id: int) -> BatchDetailOut:
    batch = await PayoutBatch.filter(id=batch_id).first()
    if batch is None:
        raise NotFound("payout batch not found")
    lines = await PayoutLine.filter(batch_id=batch_id).order_by("id")
    return BatchDetailOut(**BatchOut.model_validate(batch).model_dump(), lines=[line_out(x) for x in lines])


def line_out(x: PayoutLine) -> LineOut:
    """A line with the payee's details masked."""
    out = LineOut.model_validate(x)
    return out.model_copy(update={"openid": payees.mask(x.openid, 4, 4), "payee_name": payees.mask(x.payee_name, 1, 0),
                                  "bank_account": payees.mask(x.bank_account, 4, 4)})


async def list_batches(query: BatchesQuery) -> Page[BatchOut]:
    qs = PayoutBatch.all() if query.status is None else PayoutBatch.filter(status=query.status)
    rows, nxt = await id_page(qs, query.cursor, query.limit, newest_first=True)
    return Page[BatchOut](items=[BatchOut.model_validate(r) for r in rows], next_cursor=nxt)


async def my_lines(principal: Principal, limit: int = 50) -> list[LineOut]:
    """The payouts of the principal's payee accounts, newest first."""
    accounts = payees.accounts_of(principal)
    if not accounts:
        return []
    cond = Q(*[Q(account_type=t, account_id=i) for t, i in accounts], join_type="OR")
    return [line_out(x) for x in await PayoutLine.filter(cond).exclude(status="reserved").order_by("-id").limit(limit)]


async def _close_batch_if_done(batch_id: int, conn) -> None:
    if not await PayoutLine.filter(batch_id=batch_id, status__in=HELD).using_db(conn).exists():
        await PayoutBatch.filter(id=batch_id, status="approved").using_db(conn).update(status="done")


async def finish_line(line_id: int, *, success: bool, why: str = "", actor_id: int | None = None,
                      extra: dict | None = None) -> bool:
    """A processing line's outcome, once: succeeded (its ledger entry posted) or failed (its money
    back in the balance, why recorded). False when the line was not processing (already final)."""
    async with atomic() as conn:
        done = await finish_in(conn, line_id, success=success, why=why, actor_id=actor_id, extra=extra)
    if done:
        log.info("payout line finished", extra={"line_id": line_id, "success": success, "why": why})
    return done


async def finish_in(conn, line_id: int, *, success: bool, why: str = "", actor_id: int | None = None,
                    extra: dict | None = None) -> bool:
    """finish_line inside the caller's transaction."""
    n = await PayoutLine.filter(id=line_id, status="processing").using_db(conn).update(
        status="succeeded" if success else "failed", fail_reason="" if success else reason(why)[:200],
        finished_at=clock.now(), **(extra or {}))
    if not n:
        return False
    line = await PayoutLine.get(id=line_id, using_db=conn)
    if success:
        await ledger.post_payout(line, conn)
    await _close_batch_if_done(line.batch_id, conn)
    await audit.record(actor_id, "payout.line_" + ("succeeded" if success else "failed"), "payout_line", line_id,
                       {"batch_id": line.batch_id, "amount_fen": line.amount_fen, "why": why}, conn=conn)
    return True


# ---- WeChat transfers -----------------------------------------------------------------------
def _gw():
    gw = gateway()
    if not hasattr(gw, "transfer"):
        raise Conflict("WeChat transfers to a balance need WeChat Pay APIv3", code=PayoutCode.TRANSFER_UNAVAILABLE)
    return gw


async def _apply_state(line: PayoutLine, t: Transfer) -> str:
    """Record what WeChat says of a line's transfer; a final state finishes the line."""
    extra = {"wechat_state": t.state[:24]}
    if t.transfer_bill_no:
        extra["transfer_bill_no"] = t.transfer_bill_no[:64]
    if t.state in FINAL:
        await finish_line(line.id, success=t.state == "SUCCESS", why=t.fail_reason or t.state, extra=extra)
        return t.state
    if t.package_info:
        extra["package_info"] = t.package_info
    await PayoutLine.filter(id=line.id, status="processing").update(**extra)
    return t.state


async def submit_transfer(line_id: int) -> str:
    """Make (or make again: the same out_bill_no is the same transfer) a line's WeChat transfer."""
    line = await PayoutLine.filter(id=line_id).first()
    if line is None or line.status != "processing" or line.method != PayeeMethod.WECHAT:
        return "skipped"
    if line.wechat_state in FINAL:
        return line.wechat_state
    gw = _gw()
    await PayoutLine.filter(id=line_id, submitted_at__isnull=True).update(submitted_at=clock.now())
    try:
        t = await gw.transfer(out_bill_no=line.out_bill_no, openid=line.openid, amount_fen=line.amount_fen,
                              remark="喀左特色馆结算款", notify_url=transfer_notify_url(),
                              scene_id=runtime.settings().wechat_pay_transfer_scene_id,
                              user_name=line.payee_name if line.amount_fen >= TRANSFER_NAME_REQUIRED_FEN else None,
                              scene_report=[{"info_type": "岗位类型", "info_content": "结算"},
                                            {"info_type": "报酬说明", "info_content": "销售结算款"}])
    except PayGatewayError as exc:
        if exc.transient:
            log.warning("transfer outcome unknown, the sweeper asks again", extra={"line_id": line_id,
                                                                                   "err": exc.err_code})
            return "unknown"
        # WeChat refused. Only when it holds no such transfer is the line failed (never paid twice).
        if exc.err_code == "USER_NAME_REQUIRED" or await _not_at_wechat(line.out_bill_no):
            await finish_line(line_id, success=False, why=exc.err_code or "REFUSED")
            return "refused"
        return "unknown"
    return await _apply_state(line, t)


async def _not_at_wechat(out_bill_no: str) -> bool:
    try:
        await _gw().transfer_query(out_bill_no)
    except PayGatewayError as exc:
        return exc.err_code == "NOT_FOUND"
    return False


async def query_transfer(line_id: int) -> str:
    """Ask WeChat about a processing line; one left unconfirmed past payout_confirm_hours is cancelled."""
    line = await PayoutLine.filter(id=line_id).first()
    if line is None or line.status != "processing" or line.method != PayeeMethod.WECHAT:
        return "skipped"
    gw = _gw()
    try:
        t = await gw.transfer_query(line.out_bill_no)
    except PayGatewayError as exc:
        if exc.err_code == "NOT_FOUND":  # never reached WeChat: make it now, under the same number
            return await submit_transfer(line_id)
        return "unknown"
    if t.amount_fen and t.amount_fen != line.amount_fen:
        log.error("WeChat reports another amount for a payout", extra={"line_id": line.id, "amount_fen": t.amount_fen})
        return "amount_mismatch"  # left processing for a person to look at; never finished on a wrong amount
    state = await _apply_state(line, t)
    limit = timedelta(hours=runtime.settings().payout_confirm_hours)
    if state == "WAIT_USER_CONFIRM" and line.submitted_at and clock.now() - line.submitted_at >= limit:
        try:
            await gw.transfer_cancel(line.out_bill_no)
        except PayGatewayError:
            return "unknown"  # final meanwhile (confirmed?): the next query says which
        t = await gw.transfer_query(line.out_bill_no)
        if t.state == "CANCELLED":
            t = Transfer(t.out_bill_no, t.transfer_bill_no, t.state, fail_reason="EXPIRED")
        return await _apply_state(line, t)
    return state


async def sweep() -> dict:
    """Every processing WeChat line: made if it never was, else asked about until its outcome is known."""
    out: dict[str, int] = {}
    for line_id in await PayoutLine.filter(status="processing", method=PayeeMethod.WECHAT).order_by("id") \
            .limit(500).values_list("id", flat=True):
        state = await query_transfer(line_id)
        out[state] = out.get(state, 0) + 1
    return out


async def apply_transfer_notice(out_bill_no: str, state: str, amount_fen: int, fail_reason: str,
                                transfer_bill_no: str) -> str:
    """A verified transfer notification: applied | duplicate | unknown (no such line: nothing moved) |
    amount_mismatch (nothing moved)."""
    line = await PayoutLine.filter(out_bill_no=out_bill_no, method=PayeeMethod.WECHAT).first()
    if line is None:
        return "unknown"
    if amount_fen != line.amount_fen:
        log.error("transfer notification amount differs", extra={"line_id": line.id, "amount_fen": amount_fen})
        return "amount_mismatch"
    if line.status != "processing" or state not in FINAL:
        return "duplicate"
    await _apply_state(line, Transfer(out_bill_no, transfer_bill_no, state, fail_reason=fail_reason,
                                      amount_fen=amount_fen))
    return "applied"


async def confirm_params(principal: Principal, line_id: int) -> ConfirmParamsOut:
    """What the payee's mini-program passes to wx.requestMerchantTransfer for one of its transfers."""
    line = await PayoutLine.filter(id=line_id).first()
    if line is None or not payees.owns(principal, line.account_type, line.account_id):
        raise NotFound("payout not found")
    if line.status != "processing" or line.wechat_state != "WAIT_USER_CONFIRM" or not line.package_info:
        raise Conflict("this payout is not waiting for your confirmation", code=PayoutCode.NOT_AWAITING_CONFIRMATION)
    s = runtime.settings()
    return ConfirmParamsOut(mchId=s.wechat_mch_id, appId=s.wechat_app_id, package=line.package_info,
                            line_id=line.id, amount_fen=line.amount_fen)
