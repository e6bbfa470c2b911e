"""Complaints and reports (投诉举报).

Filing: a buyer about one of their orders, station staff for a villager (代为投诉, told by SMS), anyone
from a trace page (anonymous, limited per client network and per code in Redis). A counterfeit report
with a trace code joins that code's counterfeit flag (server/trace/flags.py), not a queue of its own.

Triage (the county office): assign, acknowledge within KAZUO_COMPLAINT_ACK_HOURS, resolve within
KAZUO_COMPLAINT_RESOLVE_DAYS; a deferred job at each deadline and a sweeper flag the breaches. An
outcome carries out its action through the owning service in the same transaction as the resolution
(product takedown: catalog.take_down; merchant suspension: merchants.suspend; refund ordered:
refunds.create_refund, approved at once, so the ledger gets its reversal as for any refund), and
everything is audited. The reporter is then told the outcome (subscribe message `complaint_outcome`,
or SMS for a reporter known by phone only): the outcome only, never the other side's details.

Scope: the office sees everything; a reporter their own; the merchant or station complained about
sees the complaint without the reporter (ComplaintSubjectOut) and may answer; a station sees the
complaints it filed (with the villager it filed for) and those about itself, nothing else."""
from __future__ import annotations

import csv
import io
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from server.catalog import service as catalog
from server.complaints.errors import ComplaintCode
from server.complaints.schemas import (AnswerIn, AssignIn, BuyerComplaintIn, ComplaintOut, ComplaintQuery,
                                       ComplaintsPage, ComplaintSubjectOut, FiguresOut, FiledOut, KindCount,
                                       PhotoOut, PublicReportIn, ResolveIn, StationComplaintIn, SubjectPage,
                                       TownCount)
from server.accounts import sms
from server.kit import audit, clock, runtime, sheets
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, id_page
from server.kit.errors import AppError, Conflict, NotFound, UpstreamError, ValidationFailed
from server.kit.jobs import enqueue
from server.media import IMAGE_KINDS, media_url, store_upload
from server.merchants import service as merchants
from server.models.accounts import RoleGrant, User
from server.models.complaints import Complaint
from server.models.catalog import Product
from server.models.merchants import Merchant
from server.models.orders import Order, OrderLine
from server.models.stations import Station
from server.models.trace import Batch, TraceCode
from server.notify import registry as notify
from server.orders import refunds
from server.trace import codes as trace_codes
from server.trace import flags as trace_flags
from server.trace.errors import TraceErrorCode
from server.trace.public import ip_prefix

log = logging.getLogger("kazuo.complaints")

KINDS = {"quality": "质量/食品安全", "counterfeit": "假冒/产地不符", "merchant": "商家经营行为",
         "station": "服务站服务", "live_ad": "直播虚假宣传", "delivery": "物流配送", "other": "其他"}
OUTCOMES = {"no_fault": "经核查未发现问题", "warning": "已对被投诉方警告", "takedown": "涉事商品已下架",
            "suspension": "涉事商户已暂停经营", "refund": "已责令退款", "referral": "已移送市场监管部门"}
STATUSES = {"open": "待受理", "acknowledged": "处理中", "resolved": "已办结"}
NOTIFY_MAX_ATTEMPTS = 5


class ComplaintNotFound(NotFound):
    code = ComplaintCode.COMPLAINT_NOT_FOUND


# ---- views ------------------------------------------------------------------------------------
def _photos(keys: list) -> list[PhotoOut]:
    out = []
    for k in keys or []:
        try:
            out.append(PhotoOut(key=k, url=media_url(k)))
        except ValueError:
            continue
    return out


async def _order_no(c: Complaint) -> str | None:
    if c.order_id is None:
        return None
    got = await Order.filter(id=c.order_id).values_list("order_no", flat=True)
    return got[0] if got else None


def _with_order_no(qs: Any) -> Any:
    """A page of complaints with each one's order number joined in (`listed_order_no`): one statement,
    not a second lookup after the page."""
    return qs.annotate(listed_order_no=F("order__order_no"))


def _order_nos(rows: list[Complaint]) -> dict[int, str]:
    """The order numbers of a page read through _with_order_no."""
    return {c.order_id: c.listed_order_no for c in rows if c.order_id is not None}


async def _subject_out(c: Complaint, order_nos: dict[int, str] | None = None) -> ComplaintSubjectOut:
    order_no = (order_nos.get(c.order_id) if c.order_id is not None else None) if order_nos is not None \
        else await _order_no(c)
    return ComplaintSubjectOut(
        id=c.id, no=c.no, kind=c.kind, status=c.status, text=c.text, photos=_photos(c.photos),
        order_no=order_no, product_id=c.product_id, trace_code=c.trace_code, merchant_id=c.merchant_id,
        station_id=c.station_id, outcome=c.outcome, outcome_note=c.outcome_note if c.status == "resolved" else "",
        answer=c.answer, answered_at=c.answered_at, created_at=c.created_at, acknowledged_at=c.acknowledged_at,
        resolved_at=c.resolved_at)


async def _full_out(c: Complaint, order_nos: dict[int, str] | None = None) -> ComplaintOut:
    base = (await _subject_out(c, order_nos)).model_dump()
    base["outcome_note"] = c.outcome_note
    return ComplaintOut(
        **base, channel=c.channel, reporter_id=c.reporter_id, reporter_name=c.reporter_name,
        reporter_phone=c.reporter_phone, filed_at_station_id=c.filed_at_station_id, batch_id=c.batch_id,
        town=c.town, flag_id=c.flag_id, assignee_id=c.assignee_id, ack_due_at=c.ack_due_at,
        resolve_due_at=c.resolve_due_at, ack_breached=c.ack_breached, resolve_breached=c.resolve_breached,
        action_ref=c.action_ref, notify_state=c.notify_state)


# ---- filing -----------------------------------------------------------------------------------
def _new_no(now: datetime) -> str:
    return f"TS{now.astimezone(clock.SHANGHAI):%Y%m%d}{secrets.randbelow(10**8):08d}"


def check_photo_count(n: int) -> None:
    """422 too_many_photos past KAZUO_COMPLAINT_MAX_PHOTOS (before any photo is stored)."""
    limit = runtime.settings().complaint_max_photos
    if n > limit:
        raise ValidationFailed(f"photos: at most {limit}", code=ComplaintCode.TOO_MANY_PHOTOS,
                               details=[{"field": "photos", "message": f"at most {limit} photos"}])


async def store_photo(data: bytes, filename: str) -> PhotoOut:
    """One complaint photo, checked by content and size like any photo (422/413 naming `file`)."""
    stored = await store_upload(data, kind="complaint", filename=filename, allowed=IMAGE_KINDS,
                                max_bytes=runtime.settings().media_image_max_bytes)
    return PhotoOut(key=stored.key, url=media_url(stored.key))


async def photo_upload_allowed(ip: str) -> None:
    """Photo uploads ahead of a complaint are limited per client network (anonymous reporters too)."""
    s = runtime.settings()
    await kr.hit_limit("complaint_photo", ip_prefix(ip) or ip or "-",
                       s.complaint_public_per_ip_per_hour * max(1, s.complaint_max_photos), 3600,
                       message="too many photo uploads from this network; try again later")


async def _town_of(merchant_id: int | None, station_id: int | None, fallback: str = "") -> str:
    if station_id:
        got = await Station.filter(id=station_id).values_list("town", flat=True)
        if got and got[0]:
            return got[0]
    if merchant_id:
        got = await Merchant.filter(id=merchant_id).values_list("town", flat=True)
        if got and got[0]:
            return got[0]
    return fallback


async def _create(conn: Any, **fields: Any) -> Complaint:
    now = clock.now()
    s = runtime.settings()
    c = await Complaint.create(no=_new_no(now), ack_due_at=now + timedelta(hours=s.complaint_ack_hours),
                               resolve_due_at=now + timedelta(days=s.complaint_resolve_days),
                               using_db=conn, **fields)
    # Each deadline gets a job at its time (the sweeper finds any that was lost).
    enqueue("complaints.check_deadlines", c.id, job_id=f"complaints:deadline:{c.id}:ack",
            defer=c.ack_due_at - now + timedelta(seconds=1))
    enqueue("complaints.check_deadlines", c.id, job_id=f"complaints:deadline:{c.id}:resolve",
            defer=c.resolve_due_at - now + timedelta(seconds=1))
    return c


async def _trace_subject(raw: str, field: str) -> tuple[TraceCode, Batch]:
    code = trace_codes.normalize(raw)
    tc = await TraceCode.get_or_none(code=code) if code else None
    if tc is None:
        raise ValidationFailed.field(field, "no such trace code")
    return tc, await Batch.get(id=tc.batch_id)


async def _link_flag(c: Complaint, tc: TraceCode | None, conn: Any) -> None:
    if tc is not None and c.kind == "counterfeit":
        c.flag_id = await trace_flags.raise_for_report(tc.id, c.id, conn)
        await Complaint.filter(id=c.id).using_db(conn).update(flag_id=c.flag_id)


def _filed(c: Complaint) -> FiledOut:
    return FiledOut(id=c.id, no=c.no, status=c.status, flag_id=c.flag_id)


async def file_by_buyer(principal: Principal, body: BuyerComplaintIn) -> FiledOut:
    """A buyer complains about one of their orders (404 for an order that is not theirs)."""
    check_photo_count(len(body.photos))
    order = await Order.get_or_none(id=body.order_id, buyer_id=principal.user_id)
    if order is None:
        raise NotFound("order not found")
    lines = await OrderLine.filter(order_id=order.id).values("product_id", "merchant_id")
    product_id, tc, batch = body.product_id, None, None
    if body.trace_code:  # the code on the item received: of this order's product (of product_id, if named)
        tc, batch = await _trace_subject(body.trace_code, "trace_code")
        if batch.product_id not in {x["product_id"] for x in lines} or product_id not in (None, batch.product_id):
            raise ValidationFailed.field("trace_code", "not the code of a product of this order")
        product_id = batch.product_id
    if product_id is not None:
        line = next((x for x in lines if x["product_id"] == product_id), None)
        if line is None:
            raise ValidationFailed.field("product_id", "not a product of this order")
        merchant_id = line["merchant_id"]
    else:
        merchant_ids = {x["merchant_id"] for x in lines}
        merchant_id = merchant_ids.pop() if len(merchant_ids) == 1 else None
    station_id = order.station_id if body.kind in ("station", "delivery") else None
    s = runtime.settings()
    await kr.hit_limit("complaint_buyer", str(principal.user_id), s.complaint_per_buyer_per_day, 86400,
                       message="too many complaints today; the office has your earlier ones")
    user = await User.get(id=principal.user_id)
    async with atomic() as conn:
        c = await _create(conn, kind=body.kind, channel="buyer", text=body.text, photos=body.photos,
                          reporter_id=principal.user_id, reporter_name=(user.nickname or "")[:32],
                          reporter_phone=user.phone or "", order_id=order.id, product_id=product_id,
                          trace_code=tc.code if tc else "", batch_id=batch.id if batch else None,
                          merchant_id=merchant_id, station_id=station_id,
                          live_session_id=order.live_session_id if body.kind == "live_ad" else None,
                          town=await _town_of(merchant_id, station_id or order.station_id))
        await _link_flag(c, tc, conn)
        await audit.record(principal.user_id, "complaint.file", "complaint", c.id,
                           {"channel": "buyer", "kind": body.kind, "order_id": order.id}, conn=conn)
    return _filed(c)


async def file_by_station(principal: Principal, station_id: int, body: StationComplaintIn) -> FiledOut:
    """Station staff file for a villager (by phone); the station must be the caller's."""
    principal.require_station(station_id)
    here = await Station.get_or_none(id=station_id)
    if here is None:
        raise NotFound("station not found")
    check_photo_count(len(body.photos))
    order = None
    if body.order_no:
        order = await Order.get_or_none(order_no=body.order_no, station_id=station_id)
        if order is None:
            raise ValidationFailed.field("order_no", "no order of this station has this number")
    tc = batch = None
    if body.trace_code:
        tc, batch = await _trace_subject(body.trace_code, "trace_code")
    about = None
    if body.about_station_id is not None:
        about = await Station.get_or_none(id=body.about_station_id)
        if about is None:
            raise ValidationFailed.field("about_station_id", "no such station")
    elif body.kind == "station":
        raise ValidationFailed.field("about_station_id", "name the station complained about")
    merchant_id = batch.merchant_id if batch else None
    product_id = batch.product_id if batch else None
    if order is not None and merchant_id is None:
        merchant_ids = set(await OrderLine.filter(order_id=order.id).values_list("merchant_id", flat=True))
        merchant_id = merchant_ids.pop() if len(merchant_ids) == 1 else None
    async with atomic() as conn:
        c = await _create(conn, kind=body.kind, channel="station", text=body.text, photos=body.photos,
                          reporter_name=body.reporter_name, reporter_phone=body.reporter_phone,
                          filed_by_id=principal.user_id, filed_at_station_id=station_id,
                          order_id=order.id if order else None, trace_code=tc.code if tc else "",
                          batch_id=batch.id if batch else None, product_id=product_id, merchant_id=merchant_id,
                          station_id=about.id if about else None,
                          town=await _town_of(merchant_id, about.id if about else None, here.town))
        await _link_flag(c, tc, conn)
        await audit.record(principal.user_id, "complaint.file", "complaint", c.id,
                           {"channel": "station", "kind": body.kind, "station_id": station_id}, conn=conn)
    return _filed(c)


async def check_public_limits(raw_code: str, ip: str) -> None:
    """Anonymous reports: per client network per hour and per trace code per day (429 past either)."""
    s = runtime.settings()
    code = trace_codes.normalize(raw_code) or raw_code[:40]
    await kr.hit_limit("complaint_ip", ip_prefix(ip) or ip or "-", s.complaint_public_per_ip_per_hour, 3600,
                       message="too many reports from this network; try again later")
    await kr.hit_limit("complaint_code", code, s.complaint_public_per_code_per_day, 86400,
                       message="this code has had many reports today; the office is on it")


async def public_code(raw_code: str) -> TraceCode:
    """The trace code a public report is about (404 trace_code_not_found)."""
    code = trace_codes.normalize(raw_code)
    tc = await TraceCode.get_or_none(code=code) if code else None
    if tc is None:
        raise NotFound("no such trace code", code=TraceErrorCode.TRACE_CODE_NOT_FOUND)
    return tc


async def file_public(raw_code: str, body: PublicReportIn, ip: str,
                      uploads: list[tuple[bytes, str]] = ()) -> FiledOut:
    """Anyone reports about a product or batch from its trace page (anonymous; limited). Photos come
    as keys (uploaded first) or, from the page's form, as files stored here."""
    check_photo_count(len(body.photos) + len(uploads))
    tc = await public_code(raw_code)
    await check_public_limits(tc.code, ip)
    keys = list(body.photos)
    for data, filename in uploads:
        keys.append((await store_photo(data, filename)).key)
    batch = await Batch.get(id=tc.batch_id)
    async with atomic() as conn:
        c = await _create(conn, kind=body.kind, channel="public", text=body.text, photos=keys,
                          reporter_phone=body.phone or "", ip_prefix=ip_prefix(ip), trace_code=tc.code,
                          batch_id=batch.id, product_id=batch.product_id, merchant_id=batch.merchant_id,
                          town=await _town_of(batch.merchant_id, None, batch.origin_town))
        await _link_flag(c, tc, conn)
        await audit.record(None, "complaint.file", "complaint", c.id,
                           {"channel": "public", "kind": body.kind, "code": tc.code}, conn=conn)
    return _filed(c)


# ---- reading, by scope ------------------------------------------------------------------------
async def _get(complaint_id: int) -> Complaint:
    c = await Complaint.get_or_none(id=complaint_id)
    if c is None:
        raise ComplaintNotFound("complaint not found")
    return c


def _filtered(qs: Any, query: ComplaintQuery) -> Any:
    if query.status:
        qs = qs.filter(status=query.status)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    if query.town:
        qs = qs.filter(town=query.town)
    if query.breached is not None:
        breached = Q(ack_breached=True) | Q(resolve_breached=True)
        qs = qs.filter(breached) if query.breached else qs.filter(ack_breached=False, resolve_breached=False)
    return qs


async def office_list(query: ComplaintQuery) -> ComplaintsPage:
    """The office's queue, newest first, filtered."""
    rows, cursor = await id_page(_with_order_no(_filtered(Complaint.all(), query)), query.cursor, query.limit,
                                 newest_first=True)
    order_nos = _order_nos(rows)
    return ComplaintsPage(items=[await _full_out(c, order_nos) for c in rows], next_cursor=cursor)


async def office_get(complaint_id: int) -> ComplaintOut:
    """One complaint as the office sees it."""
    return await _full_out(await _get(complaint_id))


async def count_waiting() -> dict[str, int]:
    """For the office's home: open complaints and breached ones not resolved."""
    return {"open": await Complaint.filter(status="open").count(),
            "breached": await Complaint.filter(status__not="resolved").filter(
                Q(ack_breached=True) | Q(resolve_breached=True)).count()}


async def my_complaints(user_id: int, query: ComplaintQuery) -> ComplaintsPage:
    """A reporter's own complaints (the outcome, never the other side's answer or details)."""
    rows, cursor = await id_page(_filtered(Complaint.filter(reporter_id=user_id), query), query.cursor,
                                 query.limit, newest_first=True)
    items = []
    for c in rows:
        out = await _full_out(c)
        items.append(out.model_copy(update={"answer": "", "answered_at": None, "assignee_id": None}))
    return ComplaintsPage(items=items, next_cursor=cursor)


async def my_complaint(user_id: int, complaint_id: int) -> ComplaintOut:
    """One of the reporter's own complaints (404 for anyone else's)."""
    c = await Complaint.get_or_none(id=complaint_id, reporter_id=user_id)
    if c is None:
        raise ComplaintNotFound("complaint not found")
    out = await _full_out(c)
    return out.model_copy(update={"answer": "", "answered_at": None, "assignee_id": None})


async def merchant_list(principal: Principal, query: ComplaintQuery) -> SubjectPage:
    """Complaints about the caller's merchants, without who filed them."""
    qs = _with_order_no(_filtered(Complaint.filter(merchant_id__in=list(principal.merchant_ids)), query))
    rows, cursor = await id_page(qs, query.cursor, query.limit, newest_first=True)
    order_nos = _order_nos(rows)
    return SubjectPage(items=[await _subject_out(c, order_nos) for c in rows], next_cursor=cursor)


async def merchant_counts(principal: Principal) -> dict[str, int]:
    """For the merchant desk's home: complaints about the caller's merchants not yet resolved, and
    those of them still without the merchant's answer."""
    if not principal.merchant_ids:
        return {"open": 0, "unanswered": 0}
    qs = Complaint.filter(merchant_id__in=list(principal.merchant_ids)).exclude(status="resolved")
    return {"open": await qs.count(), "unanswered": await qs.filter(answer="").count()}


async def merchant_get(principal: Principal, complaint_id: int) -> ComplaintSubjectOut:
    c = await Complaint.get_or_none(id=complaint_id, merchant_id__in=list(principal.merchant_ids))
    if c is None:
        raise ComplaintNotFound("complaint not found")
    return await _subject_out(c)


async def station_list(principal: Principal, station_id: int, query: ComplaintQuery,
                       about_cursor: str | None = None) -> dict:
    """A station's complaints, newest first, a page of each: those it filed (with the villager; paged
    by query.cursor) and those about it (without the reporter; paged by about_cursor).
    {"filed": items, "filed_next": cursor, "about": subject items, "about_next": cursor}."""
    principal.require_station(station_id)
    filed, filed_next = await id_page(
        _with_order_no(_filtered(Complaint.filter(filed_at_station_id=station_id), query)),
        query.cursor, query.limit, newest_first=True)
    try:
        about, about_next = await id_page(_with_order_no(_filtered(Complaint.filter(station_id=station_id), query)),
                                          about_cursor, query.limit, newest_first=True)
    except ValidationFailed:
        raise ValidationFailed.field("about_cursor", "malformed cursor") from None
    order_nos = {**_order_nos(filed), **_order_nos(about)}
    return {"filed": [await _full_out(c, order_nos) for c in filed], "filed_next": filed_next,
            "about": [await _subject_out(c, order_nos) for c in about], "about_next": about_next}


async def station_get(principal: Principal, station_id: int, complaint_id: int) -> ComplaintSubjectOut:
    """One complaint the station filed (full) or that is about it (no reporter); 404 otherwise."""
    principal.require_station(station_id)
    c = await _get(complaint_id)
    if c.filed_at_station_id == station_id:
        return await _full_out(c)
    if c.station_id == station_id:
        return await _subject_out(c)
    raise ComplaintNotFound("complaint not found")


# ---- the answer of the side complained about ----------------------------------------------------
async def _answer(c: Complaint, actor_id: int, body: AnswerIn) -> None:
    async with atomic() as conn:
        n = await Complaint.filter(id=c.id).exclude(status="resolved").using_db(conn).update(
            answer=body.text, answered_at=clock.now(), answered_by_id=actor_id)
        if not n:
            raise Conflict("the complaint is resolved", code=ComplaintCode.COMPLAINT_RESOLVED)
        await audit.record(actor_id, "complaint.answer", "complaint", c.id, {"length": len(body.text)}, conn=conn)


async def merchant_answer(principal: Principal, complaint_id: int, body: AnswerIn) -> ComplaintSubjectOut:
    """The merchant complained about answers (until the complaint is resolved)."""
    c = await Complaint.get_or_none(id=complaint_id, merchant_id__in=list(principal.merchant_ids))
    if c is None:
        raise ComplaintNotFound("complaint not found")
    await _answer(c, principal.user_id, body)
    return await _subject_out(await _get(c.id))


async def station_answer(principal: Principal, station_id: int, complaint_id: int,
                         body: AnswerIn) -> ComplaintSubjectOut:
    """The station complained about answers."""
    principal.require_station(station_id)
    c = await Complaint.get_or_none(id=complaint_id, station_id=station_id)
    if c is None:
        raise ComplaintNotFound("complaint not found")
    await _answer(c, principal.user_id, body)
    return await _subject_out(await _get(c.id))


# ---- triage -----------------------------------------------------------------------------------
async def _locked(complaint_id: int, conn: Any) -> Complaint:
    c = await Complaint.filter(id=complaint_id).using_db(conn).select_for_update().first()
    if c is None:
        raise ComplaintNotFound("complaint not found")
    if c.status == "resolved":
        raise Conflict("the complaint is resolved", code=ComplaintCode.COMPLAINT_RESOLVED)
    return c


async def office_staff() -> list[dict]:
    """Who a complaint can be assigned to: the office's admins."""
    ids = await RoleGrant.filter(role="admin").values_list("user_id", flat=True)
    return await User.filter(id__in=list(set(ids)), is_active=True).order_by("id").values("id", "nickname", "phone")


async def assign(admin_id: int, complaint_id: int, body: AssignIn) -> ComplaintOut:
    """Give the complaint to an office member (an admin)."""
    if not await RoleGrant.filter(user_id=body.assignee_id, role="admin").exists():
        raise ValidationFailed.field("assignee_id", "not a member of the county office")
    async with atomic() as conn:
        c = await _locked(complaint_id, conn)
        await Complaint.filter(id=c.id).using_db(conn).update(assignee_id=body.assignee_id)
        await audit.record(admin_id, "complaint.assign", "complaint", c.id,
                           {"assignee_id": body.assignee_id, "before": c.assignee_id}, conn=conn)
    return await office_get(complaint_id)


async def acknowledge(admin_id: int, complaint_id: int) -> ComplaintOut:
    """受理: the office has it (once; the 24-hour clock stops)."""
    async with atomic() as conn:
        c = await _locked(complaint_id, conn)
        if c.status != "open":
            raise Conflict("the complaint is already acknowledged", code=ComplaintCode.COMPLAINT_ALREADY_ACKNOWLEDGED)
        now = clock.now()
        await Complaint.filter(id=c.id).using_db(conn).update(
            status="acknowledged", acknowledged_at=now, assignee_id=c.assignee_id or admin_id,
            ack_breached=c.ack_breached or now > c.ack_due_at)
        await audit.record(admin_id, "complaint.acknowledge", "complaint", c.id,
                           {"late": now > c.ack_due_at}, conn=conn)
    return await office_get(complaint_id)


def _not_applicable(message: str) -> ValidationFailed:
    return ValidationFailed(f"outcome: {message}", code=ComplaintCode.OUTCOME_NOT_APPLICABLE,
                            details=[{"field": "outcome", "message": message}])


async def _carry_out(admin_id: int, c: Complaint, body: ResolveIn, conn: Any) -> str:
    """The outcome's action, through the service that owns it (inside the resolution's transaction:
    if the action is refused, nothing of the resolution is written). Returns what it did."""
    reason = f"投诉 {c.no}：{body.note}"[:200]
    if body.outcome == "takedown":
        if c.product_id is None:
            raise _not_applicable("the complaint names no product")
        await catalog.take_down(admin_id, c.product_id, reason)
        return f"product:{c.product_id}"
    if body.outcome == "suspension":
        if c.merchant_id is None:
            raise _not_applicable("the complaint names no merchant")
        await merchants.suspend(admin_id, c.merchant_id, reason)
        return f"merchant:{c.merchant_id}"
    if body.outcome == "refund":
        if c.order_id is None:
            raise _not_applicable("the complaint names no order")
        refund = await refunds.create_refund(c.order_id, lines=None, reason=reason, requested_by=admin_id,
                                             auto_approve=True)
        return f"refund:{refund.id}"
    if body.outcome == "warning":
        if c.merchant_id is None and c.station_id is None:
            raise _not_applicable("the complaint names no merchant or station to warn")
        target = ("merchant", c.merchant_id) if c.merchant_id else ("station", c.station_id)
        await audit.record(admin_id, "complaint.warning", target[0], target[1],
                           {"complaint_id": c.id, "note": body.note}, conn=conn)
        return f"{target[0]}:{target[1]}"
    if body.outcome == "referral":
        await audit.record(admin_id, "complaint.referral", "complaint", c.id,
                           {"to": "market_supervision", "note": body.note}, conn=conn)
        return "market_supervision"
    return ""


async def resolve(admin_id: int, complaint_id: int, body: ResolveIn) -> ComplaintOut:
    """办结 with an outcome whose action takes effect in the same transaction; the reporter is told
    after commit. An open complaint is acknowledged by its resolution."""
    async with atomic() as conn:
        c = await _locked(complaint_id, conn)
        ref = await _carry_out(admin_id, c, body, conn)
        if c.flag_id is not None:
            await trace_flags.settle_for_report(admin_id, c.flag_id, body.outcome != "no_fault", body.note)
        now = clock.now()
        await Complaint.filter(id=c.id).using_db(conn).update(
            status="resolved", outcome=body.outcome, outcome_note=body.note, action_ref=ref, resolved_at=now,
            resolved_by_id=admin_id, acknowledged_at=c.acknowledged_at or now,
            assignee_id=c.assignee_id or admin_id,
            ack_breached=c.ack_breached or (c.acknowledged_at is None and now > c.ack_due_at),
            resolve_breached=c.resolve_breached or now > c.resolve_due_at, notify_state="pending")
        await audit.record(admin_id, "complaint.resolve", "complaint", c.id,
                           {"outcome": body.outcome, "note": body.note, "action": ref}, conn=conn)
        enqueue("complaints.notify_outcome", c.id, job_id=f"complaints:notify:{c.id}")
    return await office_get(complaint_id)


# ---- deadlines ----------------------------------------------------------------------------------
async def check_deadlines(complaint_id: int | None = None) -> dict:
    """Flag the breaches whose deadline has passed (one complaint, or all: the sweeper); idempotent."""
    now = clock.now()
    base = Complaint.filter(id=complaint_id) if complaint_id is not None else Complaint.all()
    ack = await base.filter(status="open", ack_breached=False, ack_due_at__lt=now).update(ack_breached=True)
    res = await base.filter(status__in=("open", "acknowledged"), resolve_breached=False,
                            resolve_due_at__lt=now).update(resolve_breached=True)
    if ack or res:
        log.warning("complaint deadlines breached", extra={"ack": ack, "resolve": res})
    return {"ack_breached": ack, "resolve_breached": res}


# ---- telling the reporter ---------------------------------------------------------------------
async def notify_outcome(complaint_id: int) -> str:
    """Tell the reporter the outcome once (the job; safe to run twice): a subscribe message to a
    buyer, an SMS to a reporter known by phone; only the number, the kind and the outcome."""
    claimed = await Complaint.filter(id=complaint_id, status="resolved", notify_state__in=("pending", "failed"),
                                     notify_attempts__lt=NOTIFY_MAX_ATTEMPTS).update(
        notify_state="sending", notify_attempts=F("notify_attempts") + 1)
    if not claimed:
        return "skipped"
    c = await _get(complaint_id)
    state, channel = "none", ""
    try:
        state, channel = await _send(c)
    except (UpstreamError, AppError) as exc:
        log.warning("complaint outcome not sent", extra={"complaint_id": c.id, "error": str(exc)[:200]})
        state = "failed"
    await Complaint.filter(id=c.id, notify_state="sending").update(
        notify_state=state, notify_channel=channel,
        notified_at=clock.now() if state == "sent" else None)
    return state


async def _send(c: Complaint) -> tuple[str, str]:
    s = runtime.settings()
    user = await User.get_or_none(id=c.reporter_id) if c.reporter_id else None
    if user is not None and user.openid:
        got = await notify.send("complaint_outcome", user.openid,
                                {"character_string1": c.no, "thing2": KINDS.get(c.kind, c.kind),
                                 "thing3": OUTCOMES.get(c.outcome, c.outcome), "time4": c.resolved_at},
                                page_query=f"id={c.id}")
        if got == "sent" or not (user.phone or c.reporter_phone):
            return got, "wechat"
    phone = c.reporter_phone or (user.phone if user else "")
    if not phone:
        return "none", ""
    await sms.send_notice(phone, s.aliyun_sms_complaint_template_code,
                          {"no": c.no, "outcome": OUTCOMES.get(c.outcome, c.outcome)}, f"complaint-{c.id}")
    return "sent", "sms"


async def sweep() -> dict:
    """The sweeper: breaches whose job was lost, and outcomes not yet told (a lost or failed job)."""
    flagged = await check_deadlines()
    # a send claimed by a worker that died mid-way: tried again (an SMS is deduplicated by its out_id)
    await Complaint.filter(notify_state="sending", resolved_at__lt=clock.now() - timedelta(minutes=10)).update(
        notify_state="failed")
    ids = await Complaint.filter(status="resolved", notify_state__in=("pending", "failed"),
                                 notify_attempts__lt=NOTIFY_MAX_ATTEMPTS).order_by("id").limit(200) \
        .values_list("id", flat=True)
    bucket = clock.now().strftime("%Y%m%d%H%M")
    for cid in ids:
        enqueue("complaints.notify_outcome", cid, job_id=f"complaints:notify:{cid}:{bucket}")
    return {**flagged, "notify": len(ids)}


# ---- figures ----------------------------------------------------------------------------------
def _avg_hours(pairs: list[tuple[datetime, datetime | None]]) -> float | None:
    spans = [(b - a).total_seconds() / 3600 for a, b in pairs if b is not None]
    return round(sum(spans) / len(spans), 1) if spans else None


async def figures(days: int = 30) -> FiguresOut:
    """Complaints filed in the last `days`: by kind, by town, by outcome; breaches; the mean time to
    acknowledge and to resolve (hours)."""
    since = clock.now() - timedelta(days=days)
    rows = await Complaint.filter(created_at__gte=since).values(
        "kind", "town", "status", "outcome", "created_at", "acknowledged_at", "resolved_at", "ack_breached",
        "resolve_breached")
    by_kind: dict[str, int] = {}
    by_town: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
        by_town[r["town"] or "未知"] = by_town.get(r["town"] or "未知", 0) + 1
        if r["outcome"]:
            by_outcome[r["outcome"]] = by_outcome.get(r["outcome"], 0) + 1
    return FiguresOut(
        days=days, total=len(rows), open=sum(1 for r in rows if r["status"] != "resolved"),
        ack_breached=sum(1 for r in rows if r["ack_breached"]),
        resolve_breached=sum(1 for r in rows if r["resolve_breached"]),
        by_kind=[KindCount(kind=k, count=n) for k, n in sorted(by_kind.items(), key=lambda x: -x[1])],
        by_town=[TownCount(town=t, count=n) for t, n in sorted(by_town.items(), key=lambda x: -x[1])],
        by_outcome=[KindCount(kind=k, count=n) for k, n in sorted(by_outcome.items(), key=lambda x: -x[1])],
        avg_ack_hours=_avg_hours([(r["created_at"], r["acknowledged_at"]) for r in rows]),
        avg_resolve_hours=_avg_hours([(r["created_at"], r["resolved_at"]) for r in rows]))


async def figures_csv(days: int = 30) -> bytes:
    """The figures of the last `days` as CSV (UTF-8 with BOM for Excel): one row per figure, grouped
    by section (总计, 类型, 乡镇, 处理结果)."""
    f = await figures(days)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["分组", "项目", "数值"])
    for label, value in (("投诉总数", f.total), ("未办结", f.open), ("超时受理", f.ack_breached),
                         ("超时办结", f.resolve_breached), ("平均受理小时", f.avg_ack_hours),
                         ("平均办结小时", f.avg_resolve_hours)):
        w.writerow(sheets.row([f"近{days}天", label, "" if value is None else value]))
    for k in f.by_kind:
        w.writerow(sheets.row(["类型", KINDS.get(k.kind, k.kind), k.count]))
    for t in f.by_town:
        w.writerow(sheets.row(["乡镇", t.town, t.count]))
    for k in f.by_outcome:
        w.writerow(sheets.row(["处理结果", OUTCOMES.get(k.kind, k.kind), k.count]))
    return ("\ufeff" + buf.getvalue()).encode()


async def screen_figures() -> dict:
    """The big screen's complaint panel (30 days), with Chinese labels."""
    f = await figures(30)
    return {"total": f.total, "open": f.open, "breached": f.ack_breached + f.resolve_breached,
            "avg_ack_hours": f.avg_ack_hours, "avg_resolve_hours": f.avg_resolve_hours,
            "by_kind": [{"label": KINDS.get(k.kind, k.kind), "count": k.count} for k in f.by_kind],
            "by_town": [{"town": t.town, "count": t.count} for t in f.by_town[:8]]}


async def report_target(raw_code: str) -> tuple[str, str]:
    """(code, product name) for the public report page (404 trace_code_not_found); the scan is not
    counted: the trace page counted it."""
    tc = await public_code(raw_code)
    batch = await Batch.get(id=tc.batch_id)
    names = await Product.filter(id=batch.product_id).values_list("name", flat=True)
    return tc.code, names[0] if names else ""


async def nearby_stations(station_id: int) -> list[dict]:
    """The stations a station's staff may name in a complaint: those of its own town (and the town
    centre), by name; any other is still accepted by id."""
    here = await Station.get_or_none(id=station_id)
    if here is None:
        return []
    return await Station.filter(town=here.town).order_by("level", "name").limit(200).values("id", "name", "level")
