"""The daily reconciliation (对账): our WeChat payments and refunds of one Asia/Shanghai day against
WeChat Pay's trade bill of that day. Each difference is recorded as a row (ReconcileDifference) that
stays listed, and counted among the alerts, until the office marks it resolved.

The comparison (`compare`) takes bill rows in one shape (server/reconcile/bill.py) whatever API they
came from; `run` fetches the bill through the deployment's API version (v2 downloadbill and v3 tradebill
serve the same text) and reads it. Kinds of difference: on WeChat's bill and not ours (missing_ours), ours and not
on the bill (missing_wechat), amounts that differ, states that differ. A row of ours close to midnight
may sit on the neighbouring day's bill: before calling it missing we ask WeChat about it directly."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tortoise.exceptions import IntegrityError

from server.integrations.wechatpay import PayGatewayError
from server.integrations.wechatpay_gateway import gateway
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Out, Page
from server.models.payments import (Payment, PaymentStatus, ReconcileDifference, ReconcileIssue, Refund,
                                    RefundStatus)
from server.reconcile.bill import BillRow, parse_bill
from server.reconcile.errors import ReconcileCode

log = logging.getLogger("kazuo.reconcile")
I = ReconcileIssue
WECHAT_METHODS = ("wechat_jsapi", "wechat_native")
# Ours this close to the day's edges may be on the neighbouring day's bill (the notification arrives
# a moment after WeChat's time): WeChat is asked about them before they are called missing.
EDGE = timedelta(minutes=5)
BILL_KEPT = timedelta(days=90)  # downloadbill serves the last three months
# Our states as WeChat's bill words them.
_PAYMENT_STATE = {PaymentStatus.PAID: "SUCCESS", PaymentStatus.STRAY: "SUCCESS"}
_REFUND_STATE = {RefundStatus.PROCESSING: "PROCESSING", RefundStatus.SUCCEEDED: "SUCCESS"}
# A bill is cut at one moment: a refund processing then may have succeeded since (either side).
# A refund that WeChat closed or could not pay is failed on our side.
_SAME = {("PROCESSING", "SUCCESS"), ("SUCCESS", "PROCESSING"), ("failed", "REFUNDCLOSE"), ("failed", "CHANGE")}


@dataclass(frozen=True)
class Ours:
    kind: str
    ref: str
    out_trade_no: str
    amount_fen: int
    status: str        # in WeChat's words where it has one (SUCCESS, PROCESSING), else ours (created, failed, ...)
    at: datetime | None


@dataclass(frozen=True)
class Difference:
    kind: str
    ref: str
    out_trade_no: str
    issue: str
    ours_fen: int | None
    wechat_fen: int | None
    ours_status: str
    wechat_status: str


class DifferenceOut(Out):
    id: int
    bill_date: date
    source: str
    kind: str
    ref: str
    out_trade_no: str
    issue: str
    ours_fen: int | None
    wechat_fen: int | None
    ours_status: str
    wechat_status: str
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: int | None
    resolution_note: str


class RunOut(Out):
    bill_date: date
    source: str
    bill_rows: int
    differences: int
    new: int


def day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=clock.SHANGHAI)
    return start, start + timedelta(days=1)


def _payment(p: Payment) -> Ours:
    return Ours("payment", p.out_trade_no, p.out_trade_no, p.amount_fen, _PAYMENT_STATE.get(p.status, p.status),
                p.paid_at)


def _refund(r: Refund, out_trade_no: str) -> Ours:
    status = _REFUND_STATE.get(r.status, r.status)
    if r.status == RefundStatus.SUCCEEDED and r.settled_via:
        status = "settled_" + r.settled_via  # paid back outside WeChat: WeChat must not have it
    return Ours("refund", r.refund_no, out_trade_no, r.amount_fen, status, r.submitted_at)


async def _ours(day: date, rows: list[BillRow]) -> dict[tuple[str, str], Ours]:
    """Ours of the day (WeChat payments applied, refunds submitted to WeChat) and every one the bill names."""
    start, end = day_window(day)
    bill_trades = [r.ref for r in rows if r.kind == "payment"]
    bill_refunds = [r.ref for r in rows if r.kind == "refund"]
    payments = {p.id: p for p in await Payment.filter(method__in=WECHAT_METHODS, paid_at__gte=start, paid_at__lt=end)}
    payments |= {p.id: p for p in await Payment.filter(out_trade_no__in=bill_trades)} if bill_trades else {}
    refunds = {r.id: r for r in await Refund.filter(submitted_at__gte=start, submitted_at__lt=end, settled_via="",
                                                    payment__method__in=WECHAT_METHODS)}
    refunds |= {r.id: r for r in await Refund.filter(refund_no__in=bill_refunds)} if bill_refunds else {}
    trade_nos = dict(await Payment.filter(id__in={r.payment_id for r in refunds.values() if r.payment_id})
                     .values_list("id", "out_trade_no"))
    out: dict[tuple[str, str], Ours] = {}
    for p in payments.values():
        out[("payment", p.out_trade_no)] = _payment(p)
    for r in refunds.values():
        out[("refund", r.refund_no)] = _refund(r, trade_nos.get(r.payment_id, ""))
    return out


async def _wechat_has(o: Ours) -> bool:
    """Ask WeChat about one of ours the bill does not list (it may be on the next or previous day's)."""
    try:
        if o.kind == "payment":
            return (await gateway().query(o.ref)).state in ("SUCCESS", "REFUND")
        return bool((await gateway().refund_query(o.ref)).status)
    except PayGatewayError as exc:
        log.info("reconcile: WeChat could not confirm %s %s: %s", o.kind, o.ref, exc.err_code)
        return False


async def compare(day: date, rows: list[BillRow]) -> list[Difference]:
    """The differences between WeChat's bill rows of `day` and our records."""
    ours = await _ours(day, rows)
    start, end = day_window(day)
    diffs: list[Difference] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.kind, row.ref)
        seen.add(key)
        o = ours.get(key)
        if o is None:
            diffs.append(Difference(row.kind, row.ref, row.out_trade_no, I.MISSING_OURS, None, row.amount_fen,
                                    "", row.status))
            continue
        if o.amount_fen != row.amount_fen:
            diffs.append(Difference(row.kind, row.ref, row.out_trade_no, I.AMOUNT, o.amount_fen, row.amount_fen,
                                    o.status, row.status))
        if o.status != row.status and (o.status, row.status) not in _SAME:
            diffs.append(Difference(row.kind, row.ref, row.out_trade_no, I.STATUS, o.amount_fen, row.amount_fen,
                                    o.status, row.status))
    for key, o in ours.items():
        if key in seen or o.at is None or not (start <= o.at < end):
            continue
        near_edge = o.at - start < EDGE or end - o.at <= EDGE
        if near_edge and await _wechat_has(o):
            continue
        diffs.append(Difference(o.kind, o.ref, o.out_trade_no, I.MISSING_WECHAT, o.amount_fen, None, o.status, ""))
    return diffs


async def record(day: date, source: str, diffs: list[Difference]) -> int:
    """Store the differences of a day (once each: a run again adds only new ones); returns how many are new."""
    new = 0
    for d in diffs:
        fields = dict(out_trade_no=d.out_trade_no[:64], ours_fen=d.ours_fen, wechat_fen=d.wechat_fen,
                      ours_status=d.ours_status[:16], wechat_status=d.wechat_status[:16], source=source)
        try:
            async with atomic() as conn:
                _, created = await ReconcileDifference.get_or_create(
                    bill_date=day, kind=d.kind, ref=d.ref[:64], issue=d.issue, defaults=fields, using_db=conn)
        except IntegrityError:  # a run at the same moment stored it
            created = False
        if created:
            new += 1
            log.warning("reconciliation difference", extra={"bill_date": str(day), "kind": d.kind, "ref": d.ref,
                                                            "issue": d.issue})
    return new


async def run(day: date | None = None) -> RunOut:
    """Fetch WeChat Pay's trade bill of `day` (default: yesterday in Asia/Shanghai) through the
    deployment's API version (v2 downloadbill, v3 tradebill: the same text), compare, record."""
    day = day or clock.local_today() - timedelta(days=1)
    if day >= clock.local_today():
        raise Conflict("a day's bill exists from the next morning", code=ReconcileCode.BILL_NOT_READY)
    if day < clock.local_today() - BILL_KEPT:
        raise ValidationFailed.field("bill_date", f"WeChat Pay keeps trade bills {BILL_KEPT.days} days")
    gw = gateway()
    rows = parse_bill(await gw.download_bill(day))
    diffs = await compare(day, rows)
    new = await record(day, gw.version, diffs)
    log.info("reconciled", extra={"bill_date": str(day), "rows": len(rows), "differences": len(diffs), "new": new})
    return RunOut(bill_date=day, source=gw.version, bill_rows=len(rows), differences=len(diffs), new=new)


async def run_due() -> RunOut | None:
    """The daily run (its cron fires hourly, so a run missed or failed is made up the next hour): once
    the local hour reaches KAZUO_RECONCILE_HOUR_LOCAL, reconcile yesterday unless already done."""
    now_local = clock.now().astimezone(clock.SHANGHAI)
    if now_local.hour < runtime.settings().reconcile_hour_local:
        return None
    day = now_local.date() - timedelta(days=1)
    done = kr.key("reconcile", "done", day.isoformat())
    if await kr.redis().exists(done):
        return None
    result = await run(day)
    # Redis only saves a re-run: a lost marker runs the day again, which adds nothing twice.
    await kr.redis().set(done, "1", ex=3 * 86400)
    return result


async def differences(*, resolved: bool | None, bill_date: date | None, cursor: str | None,
                      limit: int) -> Page[DifferenceOut]:
    """The recorded differences, newest first."""
    qs = ReconcileDifference.all()
    if resolved is not None:
        qs = qs.filter(resolved_at__isnull=not resolved)
    if bill_date is not None:
        qs = qs.filter(bill_date=bill_date)
    items, nxt = await id_page(qs, cursor, limit, newest_first=True)
    return Page[DifferenceOut](items=[DifferenceOut.model_validate(x) for x in items], next_cursor=nxt)


async def resolve(difference_id: int, *, note: str, actor_id: int) -> DifferenceOut:
    """The office marks a difference resolved, saying how (audited); again: the same answer."""
    async with atomic() as conn:
        row = await ReconcileDifference.filter(id=difference_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound("difference not found")
        if row.resolved_at is None:
            await ReconcileDifference.filter(id=difference_id, resolved_at__isnull=True).using_db(conn).update(
                resolved_at=clock.now(), resolved_by=actor_id, resolution_note=note[:200])
            await audit.record(actor_id, "reconcile.resolve", "reconcile_difference", difference_id,
                               {"bill_date": str(row.bill_date), "kind": row.kind, "ref": row.ref,
                                "issue": row.issue, "note": note[:200]}, conn=conn)
            row = await ReconcileDifference.get(id=difference_id, using_db=conn)
    return DifferenceOut.model_validate(row)


async def open_count() -> int:
    return await ReconcileDifference.filter(resolved_at__isnull=True).count()
