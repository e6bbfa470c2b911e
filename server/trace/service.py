"""Production batches (生产批次): created and edited by their merchant while open; locked once goods
from them are sold (a warehouse pick of the batch number), after which every change is an appended
correction with who and why (更正记录) — the original values stay. Trace codes are issued here."""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from server.kit import audit, clock
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, id_page, lock_rows, on_commit
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.schemas import Page
from server.models.catalog import Product, Sku
from server.models.fulfillment import PickRecord
from server.models.trace import (Batch, BatchCorrection, BatchInspection, BatchStatus, BatchStep, TraceCode)
from server.trace import codes
from server.trace.schemas import (BatchBrief, BatchIn, BatchOut, BatchPatch, BatchQuery, CodeOut, CodesQuery,
                                  CorrectionIn, CorrectionOut, InspectionIn, InspectionOut, ItemCodesOut,
                                  StepIn, StepOut)
from server.trace.errors import TraceErrorCode
from server.catalog import service as catalog
from server.models.merchants import Merchant
from server.kit import runtime

log = logging.getLogger("kazuo.trace")
TRACE_NS = "trace"


def batch_ns(batch_id: int) -> str:
    return f"tb:{batch_id}"


def invalidate_after_commit(batch_id: int) -> None:
    """Forget the cached public view of a batch once the change commits."""
    on_commit(lambda: kr.bump_namespace(batch_ns(batch_id)))


# ---- scope --------------------------------------------------------------------------------------
async def _merchant_scope(principal: Principal, merchant_id: int) -> None:
    await catalog.merchant_in_scope(principal, merchant_id)


async def batch_in_scope(principal: Principal | None, batch_id: int, conn: Any = None, *,
                         lock: bool = False) -> Batch:
    """The batch if the caller manages its merchant (None: the county office); 404 otherwise."""
    if lock:
        rows = await lock_rows(Batch, [batch_id], conn)
        b = rows[0] if rows else None
    else:
        b = await Batch.filter(id=batch_id).using_db(conn).first()
    if b is None:
        raise NotFound("batch not found")
    if principal is not None:
        m = await Merchant.filter(id=b.merchant_id).using_db(conn).first()
        if m is None or not catalog.can_manage(principal, m):
            raise NotFound("batch not found")
    return b


# ---- sold = locked ------------------------------------------------------------------------------
async def batch_sku_ids(b: Batch, conn: Any = None) -> list[int]:
    """The SKUs whose goods come from the batch (all the product's SKUs when none are named)."""
    if b.sku_ids:
        return [int(i) for i in b.sku_ids]
    return list(await Sku.filter(product_id=b.product_id).using_db(conn).values_list("id", flat=True))


async def sold(b: Batch, conn: Any = None) -> bool:
    """Goods from the batch were sold: the warehouse picked its number for an order."""
    skus = await batch_sku_ids(b, conn)
    return bool(skus) and await PickRecord.filter(batch=b.code, line__sku_id__in=skus).using_db(conn).exists()


async def refresh_lock(batch_id: int) -> None:
    """Lock the batch now if goods from it were sold since (its own statement, so that the refusal
    that follows does not roll the lock back)."""
    b = await Batch.get_or_none(id=batch_id)
    if b is not None and b.locked_at is None and await sold(b):
        await Batch.filter(id=b.id, locked_at=None).update(locked_at=clock.now())


def _require_open(b: Batch) -> None:
    """Refuse an overwrite of a locked batch: nothing changes, a correction is the way."""
    if b.locked_at is not None or b.status != BatchStatus.OPEN:
        raise Conflict("the batch is locked (goods from it were sold): append a correction with a reason",
                       code=TraceErrorCode.BATCH_LOCKED)


async def is_recalled(sku_id: int, code: str) -> bool:
    """Is `code` a recalled batch of this SKU (its merchant's batch number covering the SKU)?"""
    row = await Sku.filter(id=sku_id).values("product_id", "product__merchant_id")
    if not row:
        return False
    b = await Batch.filter(merchant_id=row[0]["product__merchant_id"], code=code,
                           status=BatchStatus.RECALLED).first()
    return b is not None and b.product_id == row[0]["product_id"] and (not b.sku_ids or sku_id in b.sku_ids)


async def lock_sold_batches(limit: int = 500) -> int:
    """Lock open batches whose goods were picked for orders (the sweeper; edits check it as well)."""
    n = 0
    for b in await Batch.filter(locked_at=None, status=BatchStatus.OPEN).order_by("id").limit(limit):
        if await sold(b):
            n += await Batch.filter(id=b.id, locked_at=None).update(locked_at=clock.now())
    return n


# ---- output -------------------------------------------------------------------------------------
def _brief(b: Batch) -> BatchBrief:
    return BatchBrief(id=b.id, merchant_id=b.merchant_id, product_id=b.product_id, code=b.code, status=b.status,
                      trace_code=b.trace_code, item_serials=b.item_serials, locked=b.locked_at is not None,
                      produced_on=b.produced_on, created_at=b.created_at)


async def batch_out(b: Batch, conn: Any = None) -> BatchOut:
    steps = await BatchStep.filter(batch_id=b.id).using_db(conn).order_by("at", "id")
    insp = await BatchInspection.filter(batch_id=b.id).using_db(conn).order_by("tested_on", "id")
    corr = await BatchCorrection.filter(batch_id=b.id).using_db(conn).order_by("id")
    return BatchOut(
        id=b.id, merchant_id=b.merchant_id, product_id=b.product_id, code=b.code, sku_ids=list(b.sku_ids or []),
        producer_kind=b.producer_kind, producer_name=b.producer_name, origin_town=b.origin_town,
        origin_village=b.origin_village, origin_plot=b.origin_plot, produced_on=b.produced_on,
        quantity=b.quantity, responsible_name=b.responsible_name, responsible_phone=b.responsible_phone,
        note=b.note, status=b.status, trace_code=b.trace_code, trace_url=codes.url(b.trace_code),
        item_serials=b.item_serials, locked=b.locked_at is not None, locked_at=b.locked_at,
        created_at=b.created_at, steps=[StepOut.model_validate(s) for s in steps],
        inspections=[InspectionOut.model_validate(i) for i in insp],
        corrections=[_correction_out(c) for c in corr])


def _correction_out(c: BatchCorrection) -> CorrectionOut:
    def unwrap(v: Any) -> Any:
        return v.get("v") if isinstance(v, dict) else v

    return CorrectionOut(id=c.id, field=c.field, old_value=unwrap(c.old_value), new_value=unwrap(c.new_value),
                         reason=c.reason, actor_id=c.actor_id, created_at=c.created_at)


# ---- create and edit ----------------------------------------------------------------------------
async def _check_skus(product_id: int, sku_ids: list[int], conn: Any) -> list[int]:
    ids = sorted(set(sku_ids))
    if ids:
        found = set(await Sku.filter(id__in=ids, product_id=product_id).using_db(conn).values_list("id", flat=True))
        for i, sid in enumerate(sku_ids):
            if sid not in found:
                raise ValidationFailed.field(f"sku_ids[{i}]", "not a SKU of this product")
    return ids


async def _add_step(batch_id: int, s: StepIn, conn: Any, correction_id: int | None = None) -> None:
    await BatchStep.create(batch_id=batch_id, at=s.at, actor=s.actor, description=s.description,
                           photos=list(s.photos), correction_id=correction_id, using_db=conn)


async def _add_inspection(batch_id: int, i: InspectionIn, conn: Any, correction_id: int | None = None) -> None:
    await BatchInspection.create(batch_id=batch_id, lab=i.lab, tested_on=i.tested_on, result=i.result,
                                 summary=i.summary, file=i.file or "", correction_id=correction_id, using_db=conn)


async def _new_trace_code(batch_id: int, conn: Any) -> str:
    for _ in range(5):
        code = codes.new_code()
        try:
            async with atomic() as inner:  # a savepoint: a (60-bit) collision retries, nothing else lost
                await TraceCode.create(code=code, batch_id=batch_id, kind="batch", serial=0, using_db=inner)
            return code
        except IntegrityError:
            continue
    raise Conflict("could not allocate a trace code; try again", code=TraceErrorCode.CODE_BUSY)


async def create_batch(principal: Principal, merchant_id: int, body: BatchIn) -> BatchOut:
    """Record a production batch of one of the merchant's products, with its batch trace code."""
    await _merchant_scope(principal, merchant_id)
    async with atomic() as conn:
        p = await Product.filter(id=body.product_id, merchant_id=merchant_id).using_db(conn).first()
        if p is None:
            raise ValidationFailed.field("product_id", "not a product of this merchant")
        sku_ids = await _check_skus(p.id, body.sku_ids, conn)
        if await Batch.filter(merchant_id=merchant_id, code=body.code).using_db(conn).exists():
            raise Conflict("this merchant already has a batch with this number",
                           code=TraceErrorCode.BATCH_EXISTS,
                           details=[{"field": "code", "message": "already used"}])
        m = await Merchant.get(id=merchant_id, using_db=conn)
        try:
            async with atomic() as inner:
                b = await Batch.create(
                    merchant_id=merchant_id, product_id=p.id, code=body.code, sku_ids=sku_ids,
                    producer_kind=body.producer_kind, producer_name=body.producer_name or m.name,
                    origin_town=body.origin_town or p.origin_town or m.town,
                    origin_village=body.origin_village or p.origin_village or m.village,
                    origin_plot=body.origin_plot, produced_on=body.produced_on, quantity=body.quantity,
                    responsible_name=body.responsible_name or m.contact_name,
                    responsible_phone=body.responsible_phone or m.contact_phone or "", note=body.note,
                    trace_code="pending-" + codes.new_code()[:8], created_by_id=principal.user_id, using_db=inner)
        except IntegrityError:
            raise Conflict("this merchant already has a batch with this number",
                           code=TraceErrorCode.BATCH_EXISTS,
                           details=[{"field": "code", "message": "already used"}]) from None
        b.trace_code = await _new_trace_code(b.id, conn)
        await Batch.filter(id=b.id).using_db(conn).update(trace_code=b.trace_code)
        for s in body.steps:
            await _add_step(b.id, s, conn)
        for i in body.inspections:
            await _add_inspection(b.id, i, conn)
        await audit.record(principal.user_id, "batch.create", "batch", b.id,
                           {"merchant_id": merchant_id, "product_id": p.id, "code": body.code}, conn=conn)
        b = await Batch.get(id=b.id, using_db=conn)
        return await batch_out(b, conn)


async def get_batch(principal: Principal | None, batch_id: int) -> BatchOut:
    """One batch with its steps, inspections and corrections."""
    return await batch_out(await batch_in_scope(principal, batch_id))


async def list_batches(principal: Principal | None, query: BatchQuery, merchant_id: int | None = None) -> Page[BatchBrief]:
    """Batches, newest first (a merchant's own, or any for the county office)."""
    if principal is not None:
        await _merchant_scope(principal, merchant_id)
    q = Batch.all()
    if merchant_id or query.merchant_id:
        q = q.filter(merchant_id=merchant_id or query.merchant_id)
    if query.status:
        q = q.filter(status=query.status)
    if query.product_id:
        q = q.filter(product_id=query.product_id)
    rows, next_cursor = await id_page(q, query.cursor, query.limit, newest_first=True)
    return Page[BatchBrief](items=[_brief(b) for b in rows], next_cursor=next_cursor)


async def update_batch(principal: Principal, batch_id: int, body: BatchPatch) -> BatchOut:
    """Edit an open batch; a locked one is refused (409 batch_locked) and nothing changes."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed.field("body", "nothing to change")
    for k, v in changes.items():
        if v is None and k not in ("produced_on", "quantity"):
            raise ValidationFailed.field(k, "must not be null")
    await refresh_lock(batch_id)
    async with atomic() as conn:
        b = await batch_in_scope(principal, batch_id, conn, lock=True)
        _require_open(b)
        if "sku_ids" in changes:
            changes["sku_ids"] = await _check_skus(b.product_id, changes["sku_ids"], conn)
        await Batch.filter(id=b.id).using_db(conn).update(**changes)
        await audit.record(principal.user_id, "batch.update", "batch", b.id, {"fields": sorted(changes)}, conn=conn)
        invalidate_after_commit(b.id)
        return await batch_out(await Batch.get(id=b.id, using_db=conn), conn)


async def add_step(principal: Principal, batch_id: int, body: StepIn) -> BatchOut:
    """Add a process step to an open batch (a locked one takes it as a correction)."""
    return await _add_to_open_batch(principal, batch_id, _add_step, body)


async def add_inspection(principal: Principal, batch_id: int, body: InspectionIn) -> BatchOut:
    """Add an inspection report to an open batch (a locked one takes it as a correction)."""
    return await _add_to_open_batch(principal, batch_id, _add_inspection, body)


async def _add_to_open_batch(principal: Principal, batch_id: int, add, body) -> BatchOut:
    await refresh_lock(batch_id)
    async with atomic() as conn:
        b = await batch_in_scope(principal, batch_id, conn, lock=True)
        _require_open(b)
        await add(b.id, body, conn)
        invalidate_after_commit(b.id)
        return await batch_out(b, conn)


def _json_value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


async def correct(principal: Principal | None, actor_id: int, batch_id: int, body: CorrectionIn) -> BatchOut:
    """Append a correction (who, why, old and new value); the batch shows the corrected value, the
    record keeps both. The only way to change a locked batch."""
    value: Any = None
    if body.field == "step":
        if body.step is None:
            raise ValidationFailed.field("step", "the step to append is required")
    elif body.field == "inspection":
        if body.inspection is None:
            raise ValidationFailed.field("inspection", "the inspection to append is required")
    else:
        try:
            # The same rules as an edit of an open batch (BatchPatch), reported against `value`.
            value = getattr(BatchPatch.model_validate({body.field: body.value}), body.field)
        except ValidationError as exc:
            raise ValidationFailed.field("value", exc.errors()[0]["msg"]) from None
        if value is None and body.field not in ("produced_on", "quantity"):
            raise ValidationFailed.field("value", "a new value is required")
    async with atomic() as conn:
        b = await batch_in_scope(principal, batch_id, conn, lock=True)
        if b.locked_at is None and await sold(b, conn):
            await Batch.filter(id=b.id, locked_at=None).using_db(conn).update(locked_at=clock.now())
        if body.field in ("step", "inspection"):
            c = await BatchCorrection.create(batch_id=b.id, field=body.field, old_value={"v": None},
                                             new_value={"v": (body.step or body.inspection).model_dump(mode="json")},
                                             reason=body.reason, actor_id=actor_id, using_db=conn)
            if body.step:
                await _add_step(b.id, body.step, conn, c.id)
            else:
                await _add_inspection(b.id, body.inspection, conn, c.id)
        else:
            old = _json_value(getattr(b, body.field))
            # Wrapped: Tortoise reads a bare string in a JSON field as JSON text.
            await BatchCorrection.create(batch_id=b.id, field=body.field, old_value={"v": old},
                                         new_value={"v": _json_value(value)}, reason=body.reason, actor_id=actor_id,
                                         using_db=conn)
            # The batch row carries the value in force; the correction rows keep every earlier one.
            await Batch.filter(id=b.id).using_db(conn).update(**{body.field: value})
        await audit.record(actor_id, "batch.correct", "batch", b.id,
                           {"field": body.field, "reason": body.reason}, conn=conn)
        invalidate_after_commit(b.id)
        return await batch_out(await Batch.get(id=b.id, using_db=conn), conn)


# ---- item codes (一物一码) ------------------------------------------------------------------------
def _code_out(c: TraceCode) -> CodeOut:
    return CodeOut(code=c.code, kind=c.kind, serial=c.serial, url=codes.url(c.code), scan_count=c.scan_count,
                   flagged=c.flagged)


async def issue_item_codes(principal: Principal, batch_id: int, count: int) -> ItemCodesOut:
    """Issue `count` more item codes (serials continue from the last); allowed on locked batches too —
    codes add labels, they change no recorded fact."""
    cap = runtime.settings().trace_item_codes_per_request
    if count > cap:
        raise ValidationFailed.field("count", f"at most {cap} per request")
    for _ in range(3):
        try:
            async with atomic() as conn:
                b = await batch_in_scope(principal, batch_id, conn, lock=True)
                if b.status != BatchStatus.OPEN:
                    raise Conflict("the batch was recalled", code=TraceErrorCode.BATCH_RECALLED)
                first = b.item_serials + 1
                n = await Batch.filter(id=b.id, item_serials=b.item_serials).using_db(conn).update(
                    item_serials=b.item_serials + count)
                if not n:
                    raise IntegrityError("serials moved")
                rows = [TraceCode(code=codes.new_code(), batch_id=b.id, kind="item", serial=first + i)
                        for i in range(count)]
                for i in range(0, len(rows), 500):
                    await TraceCode.bulk_create(rows[i:i + 500], using_db=conn)
                await audit.record(principal.user_id, "batch.item_codes", "batch", b.id,
                                   {"first": first, "count": count}, conn=conn)
        except IntegrityError:
            continue  # a code collision or a concurrent issue: take fresh serials and codes
        out = await TraceCode.filter(batch_id=batch_id, serial__gte=first).order_by("serial").limit(1000)
        return ItemCodesOut(batch_id=batch_id, first_serial=first, last_serial=first + count - 1,
                            codes=[_code_out(c) for c in out])
    raise Conflict("could not issue the codes; try again", code=TraceErrorCode.CODE_BUSY)


async def list_codes(principal: Principal | None, batch_id: int, query: CodesQuery) -> list[CodeOut]:
    """The batch's codes by serial (0 is the batch code)."""
    await batch_in_scope(principal, batch_id)
    rows = await TraceCode.filter(batch_id=batch_id, serial__gte=query.after_serial).order_by("serial") \
        .limit(query.limit)
    return [_code_out(c) for c in rows]


async def label_sheet(principal: Principal | None, batch_id: int, first: int, count: int) -> str:
    """A printable HTML sheet of labels (QR + short URL + serial) for serials first..first+count-1."""
    b = await batch_in_scope(principal, batch_id)
    rows = await TraceCode.filter(batch_id=b.id, serial__gte=first, serial__lt=first + count).order_by("serial")
    if not rows:
        raise NotFound("no codes in this range")
    p = await Product.get(id=b.product_id)
    labels = [(c.code, p.name[:16], f"批次 {b.code}" + (f" · No.{c.serial:06d}" if c.serial else ""))
              for c in rows]
    return await codes.label_sheet(f"{p.name} 批次 {b.code} 溯源标签", labels)


async def code_image(raw: str, fmt: str) -> bytes:
    """The QR image (png | svg) of an existing code; unknown codes are 404."""
    code = codes.normalize(raw)
    if code is None or not await TraceCode.filter(code=code).exists():
        raise NotFound("trace code not found", code=TraceErrorCode.TRACE_CODE_NOT_FOUND)
    return await (codes.png(code) if fmt == "png" else codes.svg(code))
