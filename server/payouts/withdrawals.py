"""Withdrawal requests (提现申请): a payee (a merchant's member, a station's staff, a livestreamer) asks
to be paid an amount of its available balance; the office prepares a payout batch from pending
requests (service.prepare with request_ids; the maker–checker applies). A pending request holds its
amount out of the balance (service.balances_of counts it) and is created only while the payee row is
locked, so racing requests never ask for more than is available together. The payee may cancel it
while pending, and the office may reject it with a reason (a wrong account, a suspicious amount)
without making a batch of it; once batched, a rejected or failed payout line gives the money back to
the balance."""
from __future__ import annotations

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from server.integrations.wechatpay_v3 import TRANSFER_NAME_REQUIRED_FEN
from server.kit import audit, clock
from server.kit.auth import Principal
from server.kit.db import atomic, id_page, lock_rows
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.models.payouts import Payee, PayeeMethod, PayoutLine, WithdrawalRequest
from server.payouts import payees
from server.payouts.schemas import WithdrawalIn, WithdrawalOut, WithdrawalRejectIn
from server.payouts.service import WECHAT_MIN_FEN, balances_of
from server.payouts.errors import PayoutCode


async def _outs(rows: list[WithdrawalRequest]) -> list[WithdrawalOut]:
    batched = [r for r in rows if r.batch_id is not None]
    lines = {}
    if batched:
        cond = Q(*[Q(batch_id=r.batch_id, account_type=r.account_type, account_id=r.account_id) for r in batched],
                 join_type="OR")
        lines = {(x.batch_id, x.account_type, x.account_id): x for x in await PayoutLine.filter(cond)}
    out = []
    for r in rows:
        line = lines.get((r.batch_id, r.account_type, r.account_id))
        out.append(WithdrawalOut.model_validate(r).model_copy(update={
            "line_status": line.status if line else "", "fail_reason": line.fail_reason if line else ""}))
    return out


async def request(principal: Principal, body: WithdrawalIn) -> WithdrawalOut:
    """Ask for amount_fen of one of the principal's payee accounts: at most what is available (409
    exceeds_balance naming amount_fen), to the payee details in force (409 no_payee); audited."""
    account = (body.account_type, body.account_id)
    if account not in payees.accounts_of(principal):
        raise NotFound("payee account not found")
    payee = await Payee.filter(account_type=body.account_type, account_id=body.account_id).first()
    if payee is None:
        raise Conflict("no payee details in force: ask for them first", code=PayoutCode.NO_PAYEE,
                       details=[{"field": "account_id", "message": "no payee details"}])
    if payee.method == PayeeMethod.WECHAT:
        if body.amount_fen < WECHAT_MIN_FEN:
            raise ValidationFailed.field("amount_fen", "a WeChat transfer is at least ¥0.10")
        if body.amount_fen >= TRANSFER_NAME_REQUIRED_FEN and not payee.real_name:
            raise ValidationFailed.field("amount_fen", "from ¥2,000 WeChat needs the payee's real name: add it to "
                                                       "the payee details first")
    async with atomic() as conn:
        await lock_rows(Payee, [payee.id], conn)
        available = (await balances_of([account], conn))[account]["available_fen"]
        if body.amount_fen > available:
            raise Conflict(f"¥{body.amount_fen / 100:.2f} exceeds the available balance ¥{max(available, 0) / 100:.2f}",
                           code=PayoutCode.EXCEEDS_BALANCE, details=[{"field": "amount_fen", "message": "exceeds the balance",
                                                             "available_fen": available}])
        row = await WithdrawalRequest.create(account_type=body.account_type, account_id=body.account_id,
                                             amount_fen=body.amount_fen, method=payee.method, note=body.note,
                                             requested_by=principal.user_id, using_db=conn)
        await audit.record(principal.user_id, "payout.withdrawal_request", body.account_type, body.account_id,
                           {"request_id": row.id, "amount_fen": body.amount_fen}, conn=conn)
    return (await _outs([row]))[0]


async def cancel(principal: Principal, request_id: int) -> WithdrawalOut:
    """The payee cancels its pending request (its money is available again); 409 withdrawal_not_pending
    once the office has batched it."""
    accounts = payees.accounts_of(principal)
    row = await WithdrawalRequest.filter(id=request_id).first()
    if row is None or (row.account_type, row.account_id) not in accounts:
        raise NotFound("withdrawal request not found")
    async with atomic() as conn:
        n = await WithdrawalRequest.filter(id=request_id, status="pending").using_db(conn).update(
            status="cancelled", closed_at=clock.now())
        if not n:
            raise Conflict(f"the request is {row.status}", code=PayoutCode.WITHDRAWAL_NOT_PENDING)
        await audit.record(principal.user_id, "payout.withdrawal_cancel", row.account_type, row.account_id,
                           {"request_id": row.id, "amount_fen": row.amount_fen}, conn=conn)
    return (await _outs([await WithdrawalRequest.get(id=request_id)]))[0]


async def reject(actor_id: int, request_id: int, body: WithdrawalRejectIn) -> WithdrawalOut:
    """The office refuses a pending request with a reason the payee reads: its money is available
    again at once; 409 withdrawal_not_pending once it is cancelled, rejected or batched; audited."""
    row = await WithdrawalRequest.get_or_none(id=request_id)
    if row is None:
        raise NotFound("withdrawal request not found")
    changes = {"status": "rejected", "reason": body.reason, "decided_by": actor_id, "closed_at": clock.now()}
    async with atomic() as conn:
        n = await WithdrawalRequest.filter(id=request_id, status="pending").using_db(conn).update(**changes)
        if not n:
            raise Conflict(f"the request is {row.status}", code=PayoutCode.WITHDRAWAL_NOT_PENDING)
        await audit.record(actor_id, "payout.withdrawal_reject", row.account_type, row.account_id,
                           {"request_id": row.id, "amount_fen": row.amount_fen, "reason": body.reason}, conn=conn)
    row.update_from_dict(changes)  # as written: no second read
    return (await _outs([row]))[0]


async def one(request_id: int) -> WithdrawalOut:
    """One request (the office's view)."""
    row = await WithdrawalRequest.get_or_none(id=request_id)
    if row is None:
        raise NotFound("withdrawal request not found")
    return (await _outs([row]))[0]


async def mine(principal: Principal, limit: int = 50) -> list[WithdrawalOut]:
    """The principal's requests, newest first."""
    accounts = payees.accounts_of(principal)
    if not accounts:
        return []
    cond = Q(*[Q(account_type=t, account_id=i) for t, i in accounts], join_type="OR")
    return await _outs(await WithdrawalRequest.filter(cond).order_by("-id").limit(limit))


async def pending(limit: int = 500) -> list[WithdrawalOut]:
    """Every pending request, oldest first (the office prepares batches from them)."""
    return await _outs(await WithdrawalRequest.filter(status="pending").order_by("id").limit(limit))


async def pending_page(cursor: str | None, limit: int) -> Page[WithdrawalOut]:
    """A keyset page of the pending requests, the oldest (the longest waiting) first."""
    rows, nxt = await id_page(WithdrawalRequest.filter(status="pending"), cursor, limit)
    return Page[WithdrawalOut](items=await _outs(rows), next_cursor=nxt)


async def pending_totals() -> tuple[int, int]:
    """How many requests are pending, and their amount in all (fen)."""
    got = (await WithdrawalRequest.filter(status="pending").annotate(n=Count("id"), s=Sum("amount_fen"))
           .values("n", "s"))[0]
    return got["n"], int(got["s"] or 0)
