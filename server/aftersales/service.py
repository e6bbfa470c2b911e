"""After-sales (售后, issue #25) on top of today's refunds (server/orders/refunds.py): a buyer's case —
refund only (仅退款), return and refund (退货退款), replacement (换货) — with a reason code, photos and
a description, inside the window the office set for the category.

The way a case goes:
- before the goods leave the warehouse (paid, or at the warehouse with every unit still unpacked) a
  refund-only case is approved at once and becomes a refund; the refund takes unpicked units off the
  task and lists picked ones for the warehouse's un-pick, and waits for them (refunds._approved);
- otherwise the merchant answers by `respond_by` (silence approves: the deadline job and the
  sweeper); a refusal needs a reason; the buyer may escalate a refusal to the office, whose decision
  is final and audited;
- an approved return goes back through the buyer's station (the station receives it and sends it up
  the return path as a return parcel, with its scans) or by courier with a tracking number (the
  merchant confirms the receipt); once received, the refund is made (or, for a replacement, a
  zero-price order of the same SKUs is created and handed to the warehouse);
- freight is refunded with a whole-order case, or with a partial one when the merchant is at fault
  (any reason but "changed mind"); the return's cost is the merchant's for its faults, the buyer's
  for "changed mind" (recorded on the case).

Every step is written in the case's timeline, audited, and told to the buyer (owed in the step's
transaction through the notify outbox: the subscribe message `aftersales_update`, an SMS only when the
step needs the buyer and no message reached them). Money moves only through the refund, so the ledger
holds exactly as for refunds."""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from server.aftersales.errors import AfterSalesCode
from server.aftersales.schemas import (ApplyIn, CaseLineOut, CaseList, CaseOut, PhotoOut, PolicyOut, StepOut,
                                       UnpickList, WindowList, WindowOut)
from server.fulfillment import service as fulfillment_service
from server.fulfillment import unpick
from server.fulfillment.schemas import UnpickOut
from server.inventory import service as inventory
from server.kit import audit, clock, runtime
from server.kit import redis as kr
from server.kit.db import atomic, id_page, lock_rows
from server.kit.errors import Conflict, KitCode, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.media import IMAGE_KINDS, store_upload
from server.media.storage import get_storage
from server.models.aftersales import (AfterSale, AfterSalesPolicy, AfterSalesWindow, AfterSaleStep, CaseKind,
                                      CaseReason, CaseStatus)
from server.models.catalog import Category, Product, Sku
from server.models.fulfillment import (DeliveryPromise, FulfillmentTask, Parcel, ParcelLine, ParcelStatus,
                                       ScanEvent, TaskLine)
from server.models.orders import Order, OrderEvent, OrderLine, OrderStatus
from server.models.payments import Refund, RefundStatus
from server.orders import refunds
from server.notify import outbox as notify_outbox
from server.orders.errors import OrderCode
from server.orders.service import new_order_no

log = logging.getLogger("kazuo.aftersales")
C = CaseStatus
S = OrderStatus
MAX_PHOTOS = 9
_PHOTO_TAIL = re.compile(r"^\d{4}/\d{2}/[0-9a-f]{40}\.(jpg|png|webp)$")
PHOTO_KIND = "aftersales"
NOTIFY_JOB = "aftersales.notify"  # the old per-step job: kept for jobs queued at an upgrade (notify())
DEADLINE_JOB = "aftersales.deadline"


# ---- reading -------------------------------------------------------------------------------------
def _out(c: AfterSale, steps: list[AfterSaleStep] | None = None) -> CaseOut:
    return CaseOut(
        id=c.id, case_no=c.case_no, order_id=c.order_id, merchant_id=c.merchant_id, kind=c.kind, reason=c.reason,
        description=c.description, photos=list(c.photos or []), lines=[CaseLineOut(**x) for x in c.lines],
        amount_fen=c.amount_fen, shipping_refund_fen=c.shipping_refund_fen, return_cost_by=c.return_cost_by,
        status=c.status, respond_by=c.respond_by, auto_approved=c.auto_approved, reject_reason=c.reject_reason,
        escalation_reason=c.escalation_reason, office_decision=c.office_decision, office_note=c.office_note,
        return_method=c.return_method, return_by=c.return_by, courier_company=c.courier_company,
        tracking_no=c.tracking_no, return_parcel_label=c.return_parcel_label, refund_id=c.refund_id,
        replacement_order_id=c.replacement_order_id, closed_reason=c.closed_reason, created_at=c.created_at,
        finished_at=c.finished_at,
        steps=[StepOut(step=s.step, actor_id=s.actor_id, note=s.note, at=s.at) for s in steps or []])


async def _detail(case_id: int) -> CaseOut:
    await sync_refund(case_id)
    c = await AfterSale.get(id=case_id)
    return _out(c, await AfterSaleStep.filter(case_id=case_id).order_by("id"))


async def buyer_case(buyer_id: int, case_id: int) -> CaseOut:
    """One of the buyer's cases with its timeline (anyone else's is a 404)."""
    if not await AfterSale.filter(id=case_id, buyer_id=buyer_id).exists():
        raise NotFound("after-sales case not found")
    return await _detail(case_id)


async def buyer_cases(buyer_id: int, limit: int = 50) -> CaseList:
    rows = await AfterSale.filter(buyer_id=buyer_id).order_by("-id").limit(limit)
    return CaseList(items=[_out(c) for c in rows])


async def merchant_cases(merchant_ids: frozenset[int] | set[int], status: str | None = None,
                         limit: int = 100) -> list[CaseOut]:
    """The cases about the merchant's lines, newest first."""
    if not merchant_ids:
        return []
    qs = AfterSale.filter(merchant_id__in=sorted(merchant_ids))
    if status:
        qs = qs.filter(status=status)
    return [_out(c) for c in await qs.order_by("-id").limit(limit)]


async def merchant_case(merchant_ids: frozenset[int] | set[int], case_id: int) -> CaseOut:
    if not merchant_ids or not await AfterSale.filter(id=case_id, merchant_id__in=sorted(merchant_ids)).exists():
        raise NotFound("after-sales case not found")
    return await _detail(case_id)


async def office_cases(status: str | None = C.ESCALATED, limit: int = 200) -> list[CaseOut]:
    qs = AfterSale.all()
    if status:
        qs = qs.filter(status=status)
    return [_out(c) for c in await qs.order_by("id").limit(limit)]


async def office_case_page(status: str | None, cursor: str | None, limit: int = 20) -> tuple[list[CaseOut], str | None]:
    """One keyset page of the office's cases in a state, oldest first (the queue's order), and the
    cursor of the next page."""
    qs = AfterSale.all() if not status else AfterSale.filter(status=status)
    rows, nxt = await id_page(qs, cursor, limit)
    return [_out(c) for c in rows], nxt


async def office_case(case_id: int) -> CaseOut:
    if not await AfterSale.filter(id=case_id).exists():
        raise NotFound("after-sales case not found")
    return await _detail(case_id)


async def station_returns(station_ids: frozenset[int] | set[int], limit: int = 100) -> list[CaseOut]:
    """Approved returns a station may receive: cases waiting for the goods whose order was picked up
    at, or delivered through, one of these stations."""
    if not station_ids:
        return []
    order_ids = await FulfillmentTask.filter(destination_station_id__in=sorted(station_ids)) \
        .values_list("order_id", flat=True)
    rows = await AfterSale.filter(status=C.AWAITING_RETURN, order_id__in=list(order_ids)).order_by("id").limit(limit)
    return [_out(c) for c in rows]


# ---- windows -------------------------------------------------------------------------------------
def _fresh_slugs() -> set[str]:
    return {x.strip() for x in runtime.settings().aftersales_fresh_category_slugs.split(",") if x.strip()}


async def window_hours(category_id: int, cold_chain: bool) -> int:
    """Hours after completion a line of this category may still get after-sales: the office's window for
    the category (or its parent), else fresh produce's (cold chain or a fresh category) or the others'."""
    cat = await Category.get_or_none(id=category_id)
    seen = 0
    while cat is not None and seen < 5:
        row = await AfterSalesWindow.get_or_none(category_id=cat.id)
        if row is not None:
            return row.hours
        if cat.slug in _fresh_slugs():
            cold_chain = True
        cat = await Category.get_or_none(id=cat.parent_id) if cat.parent_id else None
        seen += 1
    s = runtime.settings()
    return s.aftersales_fresh_window_hours if cold_chain else s.aftersales_other_window_hours


def _effective_hours(cats: dict[int, Category], own: dict[int, int], category_id: int, cold_chain: bool) -> int:
    """window_hours() over categories and windows already read (the same walk up to five parents)."""
    cat, seen, fresh = cats.get(category_id), 0, _fresh_slugs()
    while cat is not None and seen < 5:
        if cat.id in own:
            return own[cat.id]
        if cat.slug in fresh:
            cold_chain = True
        cat = cats.get(cat.parent_id) if cat.parent_id else None
        seen += 1
    s = runtime.settings()
    return s.aftersales_fresh_window_hours if cold_chain else s.aftersales_other_window_hours


async def windows() -> list[dict]:
    """Every category with its window (set by the office, or the default it falls back to): two queries,
    not a walk up the tree per category."""
    # side by side: each sequential read is one more event-loop turn under load (the console's page)
    own_rows, cats = await asyncio.gather(AfterSalesWindow.all().values_list("category_id", "hours"),
                                          Category.all().order_by("sort", "id"))
    own = dict(own_rows)
    by_id = {c.id: c for c in cats}
    return [{"category_id": c.id, "name": c.name, "slug": c.slug, "hours": own.get(c.id),
             "effective_hours": _effective_hours(by_id, own, c.id, False)} for c in cats]


async def set_window(category_id: int, hours: int, *, actor_id: int) -> dict:
    """The office sets a category's window (hours after completion); audited."""
    if not await Category.filter(id=category_id).exists():
        raise ValidationFailed.field("category_id", "no such category")
    if not isinstance(hours, int) or not 1 <= hours <= 24 * 90:
        raise ValidationFailed.field("hours", "between 1 and 2160 hours")
    async with atomic() as conn:
        before = await AfterSalesWindow.get_or_none(category_id=category_id, using_db=conn)
        await AfterSalesWindow.update_or_create(category_id=category_id, defaults={"hours": hours,
                                                "updated_by": actor_id}, using_db=conn)
        await audit.record(actor_id, "aftersales.window", "category", category_id,
                           {"hours": hours, "before": before.hours if before else None}, conn=conn)
    return {"category_id": category_id, "hours": hours}


async def policy(merchant_id: int) -> AfterSalesPolicy:
    got = await AfterSalesPolicy.get_or_none(merchant_id=merchant_id)
    return got or AfterSalesPolicy(merchant_id=merchant_id)


async def set_policy(merchant_ids: frozenset[int] | set[int], merchant_id: int, *, offers_replacement: bool,
                     accepts_changed_mind: bool, actor_id: int) -> dict:
    """A merchant says whether it offers replacement (换货) and takes "changed mind" returns."""
    if merchant_id not in set(merchant_ids or ()):
        raise NotFound("merchant not found")
    async with atomic() as conn:
        await AfterSalesPolicy.update_or_create(merchant_id=merchant_id, defaults={
            "offers_replacement": bool(offers_replacement), "accepts_changed_mind": bool(accepts_changed_mind)},
            using_db=conn)
        await audit.record(actor_id, "aftersales.policy", "merchant", merchant_id,
                           {"offers_replacement": bool(offers_replacement),
                            "accepts_changed_mind": bool(accepts_changed_mind)}, conn=conn)
    return {"merchant_id": merchant_id, "offers_replacement": bool(offers_replacement),
            "accepts_changed_mind": bool(accepts_changed_mind)}


# ---- applying --------------------------------------------------------------------------------------
def _new_case_no() -> str:
    return f"AS{clock.now():%y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def _check_photos(photos: list[str]) -> list[str]:
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed.field("photos", f"at most {MAX_PHOTOS} photos")
    probe = get_storage().url(PHOTO_KIND + "/x.png")
    prefix = probe[:-len("x.png")]
    for i, url in enumerate(photos):
        # the whole key as store_upload makes it (year/month/digest.ext): not just any path under the prefix
        if not isinstance(url, str) or not url.startswith(prefix) or not _PHOTO_TAIL.match(url[len(prefix):]):
            raise ValidationFailed.field(f"photos[{i}]", "upload the photo first (POST /api/v1/aftersales/photos)")
    return list(dict.fromkeys(photos))


async def _open_case_qty(order_id: int, conn: Any) -> dict[int, int]:
    held: dict[int, int] = {}
    for lines in await AfterSale.filter(order_id=order_id, status__in=C.OPEN).using_db(conn) \
            .values_list("lines", flat=True):
        for x in lines:
            held[x["line_id"]] = held.get(x["line_id"], 0) + x["qty"]
    return held


async def _not_received_due(order_id: int, conn: Any):
    """When "not received" may be claimed: the order's last delivery promise plus the grace (None: no
    promise yet, the goods have not left)."""
    due = await DeliveryPromise.filter(parcel__order_id=order_id).using_db(conn).order_by("-due_at").first()
    if due is None:
        return None
    return due.due_at + timedelta(hours=runtime.settings().aftersales_not_received_grace_hours)


async def _can_skip_merchant(order: Order, wanted: dict[int, int], conn: Any) -> bool:
    """The goods have not left the warehouse and none of the wanted units is packed: the refund can
    be made at once (unpicked units go back now, picked ones through the un-pick)."""
    if order.status == S.PAID:
        return True
    if order.status != S.IN_FULFILMENT:
        return False
    task = await FulfillmentTask.filter(order_id=order.id, status__in=unpick.OPEN).using_db(conn).first()
    if task is None:
        return False
    held = await _unpick_held(task.id, conn)
    free: dict[int, int] = {}
    for ln in await TaskLine.filter(task_id=task.id).using_db(conn):
        free[ln.order_line_id] = free.get(ln.order_line_id, 0) + ln.quantity - ln.packed_qty - held.get(ln.id, 0)
    return all(free.get(lid, 0) >= q for lid, q in wanted.items())


async def _unpick_held(task_id: int, conn: Any) -> dict[int, int]:
    return await fulfillment_service.unpick_held(task_id, conn)


async def _freight_back(order: Order, merchant_id: int, wanted: dict[int, int], pending: dict[int, int],
                        merchant_fault: bool, conn: Any) -> int:
    """The freight a case gives back: with the whole order (every unit left), whatever of the order's
    freight is left; with part of it at the merchant's fault, that merchant's own freight left (not
    another merchant's of the same order); otherwise none."""
    lines = await OrderLine.filter(order_id=order.id).using_db(conn)
    whole = all(wanted.get(ln.id, 0) == ln.quantity - ln.refunded_qty - pending.get(ln.id, 0) for ln in lines)
    if whole:
        return await refunds.freight_left(order, None, conn)
    return await refunds.freight_left(order, merchant_id, conn) if merchant_fault else 0


async def apply(buyer_id: int, body: ApplyIn) -> CaseOut:
    """The buyer opens an after-sales case on lines of their order (one merchant's lines per case)."""
    if body.kind not in CaseKind.ALL:
        raise ValidationFailed.field("kind", "one of " + ", ".join(CaseKind.ALL))
    if body.reason not in CaseReason.ALL:
        raise ValidationFailed.field("reason", "one of " + ", ".join(CaseReason.ALL))
    photos = _check_photos(body.photos)
    now = clock.now()
    async with atomic() as conn:
        rows = await lock_rows(Order, [body.order_id], conn)
        if not rows or rows[0].buyer_id != buyer_id:
            raise NotFound("order not found")
        order = rows[0]
        if order.status not in refunds.REFUNDABLE:
            raise Conflict(f"the order is {order.status}; it cannot get after-sales", code=OrderCode.NOT_REFUNDABLE)
        lines = {x.id: x for x in await OrderLine.filter(order_id=order.id).using_db(conn)}
        pending = await refunds.open_refund_qty(order.id, conn)
        in_cases = await _open_case_qty(order.id, conn)
        wanted: dict[int, int] = {}
        for i, item in enumerate(body.lines):
            ln = lines.get(item.line_id)
            if ln is None:
                raise ValidationFailed.field(f"lines[{i}].line_id", "no such line in this order")
            if item.line_id in wanted:
                raise ValidationFailed.field(f"lines[{i}].line_id", "listed twice")
            if in_cases.get(ln.id):
                raise Conflict("this line already has an open after-sales case", code=AfterSalesCode.AFTERSALES_CASE_OPEN,
                               details=[{"field": f"lines[{i}].line_id", "message": "a case is open"}])
            left = ln.quantity - ln.refunded_qty - pending.get(ln.id, 0)
            if item.qty > left:
                raise ValidationFailed.field(f"lines[{i}].qty", f"at most {left} paid and not refunded")
            wanted[ln.id] = item.qty
        merchants = {lines[lid].merchant_id for lid in wanted}
        if len(merchants) != 1:
            raise ValidationFailed.field("lines", "one case covers the lines of one merchant")
        merchant_id = merchants.pop()
        pol = await AfterSalesPolicy.get_or_none(merchant_id=merchant_id, using_db=conn)
        if body.kind == CaseKind.REPLACEMENT and not (pol and pol.offers_replacement):
            raise Conflict("this merchant does not offer replacement", code=AfterSalesCode.AFTERSALES_NOT_OFFERED,
                           details=[{"field": "kind", "message": "replacement not offered"}])
        delivered = order.status in (S.DELIVERED, S.COMPLETED) or (
            order.status == S.READY_FOR_PICKUP and order.completed_at is not None)
        # before the goods left, changing one's mind is a plain refund; afterwards the merchant decides
        if body.reason == CaseReason.CHANGED_MIND and delivered and not (pol and pol.accepts_changed_mind):
            raise Conflict("this merchant does not take back goods for a change of mind",
                           code=AfterSalesCode.AFTERSALES_NOT_OFFERED, details=[{"field": "reason", "message": "not accepted"}])
        if body.kind != CaseKind.REFUND_ONLY and not delivered:
            raise Conflict("nothing to send back: the goods have not reached the buyer",
                           code=AfterSalesCode.AFTERSALES_NOTHING_TO_RETURN, details=[{"field": "kind", "message": "not delivered"}])
        if body.reason == CaseReason.NOT_RECEIVED:
            if delivered:
                raise ValidationFailed.field("reason", "the order was delivered or picked up")
            due = await _not_received_due(order.id, conn)
            if due is None or now < due:
                raise ValidationFailed(
                    "reason: not received can be claimed once the delivery promise is late",
                    code=AfterSalesCode.AFTERSALES_NOT_YET_OVERDUE,
                    details=[{"field": "reason", "message": f"from {due.isoformat() if due else 'the promise'}"}])
        if order.completed_at is not None:
            for lid in wanted:
                cat_id = await Product.filter(id=lines[lid].product_id).using_db(conn).values_list(
                    "category_id", flat=True)
                hours = await window_hours(cat_id[0] if cat_id else 0, lines[lid].cold_chain)
                if now > order.completed_at + timedelta(hours=hours):
                    raise ValidationFailed(
                        f"lines: the after-sales window ({hours} h after completion) has closed",
                        code=AfterSalesCode.AFTERSALES_OUTSIDE_WINDOW,
                        details=[{"field": "lines", "message": f"window {hours} h closed"}])
        items = [{"line_id": lid, "qty": q, "amount": refunds.refund_amount(lines[lid], pending.get(lid, 0), q)}
                 for lid, q in sorted(wanted.items())]
        amount = sum(x["amount"] for x in items) if body.kind != CaseKind.REPLACEMENT else 0
        merchant_fault = body.reason not in CaseReason.BUYER_FAULT
        shipping = 0
        if body.kind != CaseKind.REPLACEMENT:
            shipping = await _freight_back(order, merchant_id, wanted, pending, merchant_fault, conn)
            shipping = max(0, min(shipping, order.paid_fen - order.refunded_fen - amount))
        auto = body.kind == CaseKind.REFUND_ONLY and await _can_skip_merchant(order, wanted, conn)
        case = await AfterSale.create(
            case_no=_new_case_no(), order_id=order.id, buyer_id=buyer_id, merchant_id=merchant_id, kind=body.kind,
            reason=body.reason, description=body.description, photos=photos, lines=items, amount_fen=amount,
            shipping_refund_fen=shipping,
            return_cost_by="" if body.kind == CaseKind.REFUND_ONLY else ("merchant" if merchant_fault else "buyer"),
            status=C.REQUESTED, auto_approved=auto,
            respond_by=None if auto else now + timedelta(hours=runtime.settings().aftersales_merchant_answer_hours),
            using_db=conn)
        await _step(case, "requested", buyer_id, body.description[:200], conn, notify=not auto)
        await audit.record(buyer_id, "aftersales.apply", "order", order.id,
                           {"case_id": case.id, "kind": body.kind, "reason": body.reason, "amount_fen": amount,
                            "shipping_fen": shipping, "auto": auto}, conn=conn)
        if auto:
            await _approve(case, None, "auto_approved", conn)
        else:
            enqueue(DEADLINE_JOB, case.id, job_id=kr.key("job", DEADLINE_JOB, case.id),
                    defer=case.respond_by - now + timedelta(seconds=5))
    return await _detail(case.id)


# ---- steps -------------------------------------------------------------------------------------------
async def _step(case: AfterSale, step: str, actor_id: int | None, note: str, conn: Any, *, notify: bool = True) -> None:
    await AfterSaleStep.create(case_id=case.id, step=step, actor_id=actor_id, note=note[:200], using_db=conn)
    if notify:  # the buyer is owed the step's message: the outbox row commits (or not) with the step
        await notify_outbox.aftersales_step(case.id, step, user_id=case.buyer_id, order_id=case.order_id, conn=conn)


async def _locked(case_id: int, conn: Any) -> AfterSale:
    rows = await lock_rows(AfterSale, [case_id], conn)
    if not rows:
        raise NotFound("after-sales case not found")
    return rows[0]


async def _move(case: AfterSale, frm: tuple[str, ...], to: str, conn: Any, **fields: Any) -> None:
    n = await AfterSale.filter(id=case.id, status__in=frm).using_db(conn).update(status=to, **fields)
    if not n:
        raise Conflict(f"the case is {case.status}", code=KitCode.INVALID_TRANSITION)
    case.status = to
    for k, v in fields.items():
        setattr(case, k, v)


async def _approve(case: AfterSale, actor_id: int | None, step: str, conn: Any) -> None:
    """An approved case: a refund now (refund only), or the goods come back first."""
    frm = (C.REQUESTED, C.ESCALATED)
    now = clock.now()
    if case.kind == CaseKind.REFUND_ONLY:
        await _move(case, frm, C.REFUNDING, conn, decided_by=actor_id, decided_at=now)
        await _step(case, step, actor_id, "", conn)
        await _refund(case, conn)
    else:
        days = runtime.settings().aftersales_return_ship_days
        await _move(case, frm, C.AWAITING_RETURN, conn, decided_by=actor_id, decided_at=now,
                    return_by=now + timedelta(days=days))
        await _step(case, step, actor_id, "", conn, notify=False)
        await _step(case, "approved_return", actor_id, "", conn)


async def _refund(case: AfterSale, conn: Any) -> None:
    """The case's money goes back through today's refunds (their ledger entries, jobs, WeChat). The freight
    is what the case was told, at most what is left of it now: another case of the same merchant's
    freight may have been refunded since this one was opened."""
    shipping = case.shipping_refund_fen
    if shipping:
        order = await Order.get(id=case.order_id, using_db=conn)
        wanted = {x["line_id"]: x["qty"] for x in case.lines}
        pending = await refunds.open_refund_qty(order.id, conn)
        shipping = min(shipping, await _freight_back(order, case.merchant_id, wanted, pending, True, conn))
    out = await refunds.create_refund(case.order_id, lines={x["line_id"]: x["qty"] for x in case.lines},
                                      reason=f"售后 {case.case_no} {case.reason}", requested_by=case.buyer_id,
                                      auto_approve=True, shipping_fen=shipping)
    await AfterSale.filter(id=case.id).using_db(conn).update(refund_id=out.id, shipping_refund_fen=shipping)
    case.refund_id, case.shipping_refund_fen = out.id, shipping


async def merchant_answer(merchant_ids: frozenset[int] | set[int], case_id: int, *, approve: bool, reason: str,
                          actor_id: int) -> CaseOut:
    """The merchant approves or refuses (a refusal needs a reason) a case about its lines."""
    reason = (reason or "").strip()
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.merchant_id not in set(merchant_ids or ()):
            raise NotFound("after-sales case not found")   # before the reason: a foreign id is a 404 whatever the body
        if not approve and not reason:
            raise ValidationFailed.field("reason", "a refusal needs a reason")
        if case.status != C.REQUESTED:
            raise Conflict(f"the case is {case.status}", code=KitCode.INVALID_TRANSITION)
        if approve:
            await _approve(case, actor_id, "approved", conn)
        else:
            await _move(case, (C.REQUESTED,), C.REJECTED, conn, reject_reason=reason[:200], decided_by=actor_id,
                        decided_at=clock.now())
            await _step(case, "rejected", actor_id, reason, conn)
        await audit.record(actor_id, "aftersales.merchant_" + ("approve" if approve else "reject"), "aftersale",
                           case_id, {"reason": reason[:200]}, conn=conn)
    return await _detail(case_id)


async def answer_by_silence(case_id: int) -> bool:
    """The merchant's deadline passed without an answer: the case is approved (safe to run twice)."""
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.status != C.REQUESTED or case.respond_by is None or case.respond_by > clock.now():
            return False
        await _approve(case, None, "silence_approved", conn)
        await audit.record(None, "aftersales.silence_approve", "aftersale", case_id, {}, conn=conn)
    return True


async def escalate(buyer_id: int, case_id: int, reason: str) -> CaseOut:
    """The buyer takes a refused case to the office (平台介入)."""
    reason = (reason or "").strip()
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.buyer_id != buyer_id:
            raise NotFound("after-sales case not found")
        if not reason:
            raise ValidationFailed.field("reason", "say why the office should look at it")
        await _move(case, (C.REJECTED,), C.ESCALATED, conn, escalation_reason=reason[:200], escalated_at=clock.now())
        await _step(case, "escalated", buyer_id, reason, conn)
        await audit.record(buyer_id, "aftersales.escalate", "aftersale", case_id, {"reason": reason[:200]}, conn=conn)
    return await _detail(case_id)


async def office_decide(case_id: int, *, approve: bool, note: str, actor_id: int) -> CaseOut:
    """The office's final decision on an escalated case (audited)."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed.field("reason", "the decision needs a reason")
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.status != C.ESCALATED:
            raise Conflict(f"the case is {case.status}; only an escalated case is decided by the office",
                           code=KitCode.INVALID_TRANSITION)
        now = clock.now()
        await AfterSale.filter(id=case_id).using_db(conn).update(
            office_decision="approve" if approve else "reject", office_note=note[:200], office_by=actor_id,
            office_at=now)
        if approve:
            await _approve(case, actor_id, "office_approved", conn)
        else:
            await _move(case, (C.ESCALATED,), C.CLOSED, conn, closed_reason="office_rejected", finished_at=now)
            await _step(case, "office_rejected", actor_id, note, conn)
        await audit.record(actor_id, "aftersales.office_" + ("approve" if approve else "reject"), "aftersale",
                           case_id, {"note": note[:200], "order_id": case.order_id}, conn=conn)
    return await _detail(case_id)


async def cancel(buyer_id: int, case_id: int) -> CaseOut:
    """The buyer withdraws a case that has not become a refund yet."""
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.buyer_id != buyer_id:
            raise NotFound("after-sales case not found")
        await _move(case, (C.REQUESTED, C.REJECTED, C.ESCALATED, C.AWAITING_RETURN), C.CLOSED, conn,
                    closed_reason="cancelled", finished_at=clock.now())
        await _step(case, "cancelled", buyer_id, "", conn, notify=False)
        await audit.record(buyer_id, "aftersales.cancel", "aftersale", case_id, {}, conn=conn)
    return await _detail(case_id)


# ---- the goods' way back -----------------------------------------------------------------------------
async def ship_return(buyer_id: int, case_id: int, company: str, tracking_no: str) -> CaseOut:
    """The buyer sent the goods back by courier with this tracking number."""
    tracking_no = (tracking_no or "").strip()
    if not tracking_no.replace("-", "").isalnum():
        raise ValidationFailed.field("tracking_no", "letters and digits only")
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.buyer_id != buyer_id:
            raise NotFound("after-sales case not found")
        await _move(case, (C.AWAITING_RETURN,), C.RETURNING, conn, return_method="courier",
                    courier_company=company.strip()[:32], tracking_no=tracking_no[:40])
        await _step(case, "return_shipped", buyer_id, f"{company} {tracking_no}", conn)
        await audit.record(buyer_id, "aftersales.return_shipped", "aftersale", case_id,
                           {"company": company[:32], "tracking_no": tracking_no[:40]}, conn=conn)
    return await _detail(case_id)


async def merchant_receive(merchant_ids: frozenset[int] | set[int], case_id: int, *, actor_id: int) -> CaseOut:
    """The merchant confirms the courier return arrived: the refund (or replacement) follows."""
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        if case.merchant_id not in set(merchant_ids or ()):
            raise NotFound("after-sales case not found")
        if case.status != C.RETURNING:
            raise Conflict(f"the case is {case.status}", code=KitCode.INVALID_TRANSITION)
        await _received(case, actor_id, conn)
    return await _detail(case_id)


async def station_receive(station_ids: frozenset[int] | set[int], case_id: int, station_id: int, *,
                          actor_id: int) -> CaseOut:
    """Station staff take the buyer's return over the counter: a return parcel leaves from the station up
    the order's route (scanned like any return), and the refund (or replacement) follows."""
    if station_id not in set(station_ids or ()):
        raise NotFound("station not found")
    async with atomic() as conn:
        case = await _locked(case_id, conn)
        task = await FulfillmentTask.get_or_none(order_id=case.order_id, using_db=conn)
        if task is None or task.destination_station_id != station_id:
            raise NotFound("after-sales case not found")
        if case.status != C.AWAITING_RETURN:
            raise Conflict(f"the case is {case.status}", code=KitCode.INVALID_TRANSITION)
        label = await _return_parcel(case, task, station_id, actor_id, conn)
        await AfterSale.filter(id=case.id).using_db(conn).update(return_method="station", return_station_id=station_id,
                                                                 return_parcel_label=label)
        case.return_method = "station"
        await _received(case, actor_id, conn)
    return await _detail(case_id)


async def _return_parcel(case: AfterSale, task: FulfillmentTask, station_id: int, actor_id: int,
                         conn: Any) -> str:
    """The returned units as a parcel going back (direction return) from the station's place on the
    route; its scans up to the county warehouse restock it as any return does (server/fulfillment/scans)."""
    route = list(task.route or [])
    position = route.index(station_id) if station_id in route else max(len(route) - 1, 0)
    label = "KR" + secrets.token_hex(6).upper()
    now = clock.now()
    tlines = {ln.order_line_id: ln for ln in await TaskLine.filter(task_id=task.id).using_db(conn)}
    cold = any(tlines[x["line_id"]].cold_chain for x in case.lines if x["line_id"] in tlines)
    weights = dict(await Sku.filter(id__in={tlines[x["line_id"]].sku_id for x in case.lines if x["line_id"] in tlines})
                   .using_db(conn).values_list("id", "weight_g"))
    # the returned units' SKU weights (1 g at least: a SKU without a weight still makes a parcel)
    weight = sum(weights.get(tlines[x["line_id"]].sku_id, 0) * x["qty"] for x in case.lines if x["line_id"] in tlines)
    parcel = await Parcel.create(label=label, task_id=task.id, order_id=case.order_id, route=route,
                                 position=position, direction="return", status=ParcelStatus.AT_STATION,
                                 weight_g=max(weight, 1), cold_chain=cold, return_reason=f"aftersales:{case.case_no}"[:64],
                                 packed_by_id=actor_id, packed_at=now, using_db=conn)
    await ParcelLine.bulk_create([ParcelLine(parcel_id=parcel.id, task_line_id=tlines[x["line_id"]].id,
                                             sku_id=tlines[x["line_id"]].sku_id, quantity=x["qty"])
                                  for x in case.lines if x["line_id"] in tlines], using_db=conn)
    await ScanEvent.create(parcel_id=parcel.id, kind="return_started", direction="return", station_id=station_id,
                           actor_id=actor_id, scan_key=f"{parcel.id}:return:return_started:{station_id}", at=now,
                           data={"reason": "aftersales", "case_no": case.case_no}, using_db=conn)
    await audit.record(actor_id, "parcel.return", "parcel", label,
                       {"reason": "aftersales", "case_id": case.id, "station_id": station_id}, conn=conn)
    return label


async def _received(case: AfterSale, actor_id: int | None, conn: Any) -> None:
    now = clock.now()
    await AfterSale.filter(id=case.id).using_db(conn).update(received_at=now, received_by=actor_id)
    await _step(case, "return_received", actor_id, case.return_method, conn, notify=False)
    if case.kind == CaseKind.REPLACEMENT:
        order_id = await _replacement_order(case, conn)
        await _move(case, (C.AWAITING_RETURN, C.RETURNING), C.DONE, conn, replacement_order_id=order_id,
                    finished_at=now)
        await _step(case, "replacement_created", actor_id, str(order_id), conn)
    else:
        await _move(case, (C.AWAITING_RETURN, C.RETURNING), C.REFUNDING, conn)
        await _step(case, "refunding", actor_id, "", conn)
        await _refund(case, conn)
    await audit.record(actor_id, "aftersales.received", "aftersale", case.id, {"method": case.return_method}, conn=conn)


async def _replacement_order(case: AfterSale, conn: Any) -> int:
    """换货: a zero-price order of the same SKUs to the same place, paid (nothing to pay), reserved
    through the inventory owner and handed to the warehouse."""
    order = await Order.get(id=case.order_id, using_db=conn)
    src = {x.id: x for x in await OrderLine.filter(id__in=[x["line_id"] for x in case.lines]).using_db(conn)}
    now = clock.now()
    new = await Order.create(
        order_no=new_order_no(), buyer_id=order.buyer_id, status=S.PAID, fulfilment=order.fulfilment,
        station_id=order.station_id, address=order.address, goods_fen=0, shipping_fen=0, total_fen=0, paid_fen=0,
        payment_method="replacement", note=f"换货 {case.case_no}", paid_at=now, using_db=conn)
    await OrderLine.bulk_create([
        OrderLine(order_id=new.id, merchant_id=ln.merchant_id, product_id=ln.product_id, sku_id=ln.sku_id,
                  product_name=ln.product_name, sku_spec=ln.sku_spec, image=ln.image, unit_price=0,
                  quantity=x["qty"], amount=0, cold_chain=ln.cold_chain)
        for x in case.lines for ln in [src[x["line_id"]]]], using_db=conn)
    await OrderEvent.create(order_id=new.id, from_status="", to_status=S.PAID, actor_id=None,
                            data={"replacement_of": order.id, "case_no": case.case_no}, using_db=conn)
    ids = dict(await OrderLine.filter(order_id=new.id).using_db(conn).values_list("sku_id", "id"))
    await inventory.reserve(conn, [inventory.Move(src[x["line_id"]].sku_id, x["qty"], "order_line",
                                                  ids[src[x["line_id"]].sku_id]) for x in case.lines])
    enqueue("fulfillment.handoff", new.id, job_id=kr.key("job", f"fulfillment.handoff:{new.id}"))
    return new.id


async def confirm_unpick(item_id: int, *, actor_id: int | None) -> int | None:
    """The warehouse put an un-pick item back on the shelf; the last one of a refund sends it on.
    Returns the refund id that proceeded (None while some of its units are still out)."""
    async with atomic() as conn:
        refund_id = await unpick.confirm(item_id, actor_id=actor_id, conn=conn)
        if refund_id is not None:
            await refunds.proceed_after_unpick(refund_id, conn)
    return refund_id


async def pending_unpicks(limit: int = 200) -> list[UnpickOut]:
    return await unpick.pending(limit)


# ---- the refund's outcome, deadlines ------------------------------------------------------------------
async def sync_refund(case_id: int) -> str:
    """A refunding case whose refund succeeded is done (told to the buyer once); a failed one stays
    refunding for the office (it retries or settles the refund)."""
    c = await AfterSale.get_or_none(id=case_id)
    if c is None or c.status != C.REFUNDING or c.refund_id is None:
        return "skip"
    r = await Refund.get_or_none(id=c.refund_id)
    if r is None or r.status != RefundStatus.SUCCEEDED:
        return "waiting"
    async with atomic() as conn:
        n = await AfterSale.filter(id=case_id, status=C.REFUNDING).using_db(conn).update(
            status=C.DONE, finished_at=clock.now())
        if n:
            await _step(c, "refunded", None, "", conn)
    return "done" if n else "skip"


async def sweep(limit: int = 200) -> dict:
    """Re-finds work whose job was lost: answers by silence, returns never sent, refunds finished."""
    now = clock.now()
    out = {"silence": 0, "overdue": 0, "refunded": 0}
    for cid in await AfterSale.filter(status=C.REQUESTED, respond_by__lte=now).order_by("id").limit(limit) \
            .values_list("id", flat=True):
        out["silence"] += await answer_by_silence(cid)
    for cid in await AfterSale.filter(status=C.AWAITING_RETURN, return_by__lte=now).order_by("id").limit(limit) \
            .values_list("id", flat=True):
        async with atomic() as conn:
            n = await AfterSale.filter(id=cid, status=C.AWAITING_RETURN, return_by__lte=now).using_db(conn).update(
                status=C.CLOSED, closed_reason="return_overdue", finished_at=now)
            if n:
                case = await AfterSale.get(id=cid, using_db=conn)
                await _step(case, "return_overdue", None, "", conn)
                out["overdue"] += 1
    for cid in await AfterSale.filter(status=C.REFUNDING).order_by("id").limit(limit).values_list("id", flat=True):
        out["refunded"] += await sync_refund(cid) == "done"
    return out


async def count_waiting(merchant_ids: frozenset[int] | set[int] | None = None) -> int:
    qs = AfterSale.filter(status__in=(C.REQUESTED, C.RETURNING))
    if merchant_ids is not None:
        qs = qs.filter(merchant_id__in=sorted(merchant_ids))
    return await qs.count()


# ---- telling the buyer -----------------------------------------------------------------------------
async def notify(case_id: int, step: str) -> dict:
    """The old per-step job (NOTIFY_JOB, enqueued before steps were owed through the notify outbox), for
    jobs still queued at an upgrade: owe the step through the outbox if its row is missing (once per
    step: the row is unique) and deliver it there, so it is sent at most once and retried like any other."""
    c = await AfterSale.get_or_none(id=case_id)
    if c is None or not await AfterSaleStep.filter(case_id=case_id, step=step).exists():
        return {"skip": "no such step"}
    async with atomic() as conn:
        await notify_outbox.aftersales_step(c.id, step, user_id=c.buyer_id, order_id=c.order_id, conn=conn)
    return await notify_outbox.deliver(notify_outbox.AFTERSALES_MOMENT, notify_outbox.aftersales_ref(c.id, step))




async def window_rows() -> WindowList:
    return WindowList(items=[WindowOut(**w) for w in await windows()])


async def policy_out(merchant_ids: frozenset[int] | set[int], merchant_id: int) -> PolicyOut:
    if merchant_id not in set(merchant_ids or ()):
        raise NotFound("merchant not found")
    p = await policy(merchant_id)
    return PolicyOut(merchant_id=merchant_id, offers_replacement=p.offers_replacement,
                     accepts_changed_mind=p.accepts_changed_mind)


async def unpick_rows(limit: int = 200) -> UnpickList:
    return UnpickList(items=await unpick.pending(limit))


async def store_photo(data: bytes, filename: str) -> PhotoOut:
    """A buyer's photo of the goods (JPEG/PNG/WebP, checked by content; anything else is a 422)."""
    stored = await store_upload(data, kind=PHOTO_KIND, filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    return PhotoOut(url=stored.url, width=stored.width or 0, height=stored.height or 0)
