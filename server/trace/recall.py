"""Where a batch went (去向可查询) and recalls (召回).

Where it went: the warehouse records the batch number of every pick (PickRecord.batch, free text as on
the inbound note); a batch's picks are those with its number on a task line of one of its SKUs (the
SKUs belong to the batch's merchant, so two merchants' equal numbers never mix). From the task line:
the order, its buyer, its parcels and the destination station.

Recall: in one transaction the batch's SKUs go off sale (a product whose every SKU is in the batch is
taken down), live tie-ins of those SKUs are withdrawn (unsold quota back to the shelf), the batch is
locked as recalled and one report row per order that received it is written. After the commit: the
catalogue caches are invalidated, and jobs notify each buyer (the subscribe message; an SMS only
when it cannot reach them) and stop each parcel not yet delivered; a sweeper re-finds rows whose job was lost, and retries parcels that
were on the road (a moving parcel is stopped at its next station). Once an order's parcels are all
stopped (or delivered), what the stopped ones held is refunded to the buyer, approved at once."""
from __future__ import annotations

import logging
from typing import Any

from tortoise.expressions import F, Q

from server.kit import audit, clock, jobs, runtime
from server.kit import redis as kr
from server.kit.db import atomic, lock_rows, on_commit
from server.kit.errors import AppError, Conflict, NotFound, UpstreamError
from server.models.accounts import User
from server.models.catalog import Product, Sku
from server.models.fulfillment import Parcel, ParcelLine, ParcelStatus, PickRecord, TaskLine
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Refund, RefundStatus
from server.models.trace import Batch, BatchStatus, Recall, RecallContact, RecallStatus
from server.notify import outbox as notify_outbox
from server.orders import refunds
from server.trace import hooks as trace_hooks
from server.trace.schemas import (DestinationOut, DestinationParcel, DestinationsOut, RecallContactOut, RecallOut,
                                  SoldThrough)
from server.trace.service import batch_sku_ids, invalidate_after_commit
from server.trace.errors import TraceErrorCode
from server.models.stations import Station
from server.catalog import service as catalog
from server.catalog.cache import invalidate_product
from server.fulfillment import scans
from server.models.fulfillment import FulfillmentTask, TaskStatus
from server.accounts import sms

log = logging.getLogger("kazuo.trace")
# Orders that never got (or gave back) the goods are not contacted.
NOT_RECEIVED = (OrderStatus.CANCELLED, OrderStatus.PENDING_PAYMENT)
# Paid orders that may still wait for units of a recalled SKU (not picked yet).
WAITING = (OrderStatus.PAID, OrderStatus.IN_FULFILMENT)
DONE_PARCEL = (ParcelStatus.DELIVERED, ParcelStatus.RETURNED)


async def destination_rows(b: Batch, conn: Any = None) -> list[dict]:
    """One row per (order, task line) that picked units of the batch, with the places it went."""
    skus = await batch_sku_ids(b, conn)
    if not skus:
        return []
    picks = await PickRecord.filter(batch=b.code, line__sku_id__in=skus).using_db(conn).order_by("id").values(
        "line_id", "quantity", "created_at", "line__task_id", "line__task__order_id",
        "line__task__destination_station_id", "line__task__route")
    rows: dict[int, dict] = {}
    for p in picks:
        r = rows.setdefault(p["line_id"], {
            "line_id": p["line_id"], "task_id": p["line__task_id"], "order_id": p["line__task__order_id"],
            "station_id": p["line__task__destination_station_id"],
            "county_id": (p["line__task__route"] or [None])[0], "units": 0, "picked_at": p["created_at"]})
        r["units"] += p["quantity"]
    return list(rows.values())


async def destinations(batch_id: int) -> DestinationsOut:
    """Every order, parcel, station and buyer that received goods of the batch (the office's view)."""
    b = await Batch.get_or_none(id=batch_id)
    if b is None:
        raise NotFound("batch not found")
    rows = await destination_rows(b)
    order_ids = sorted({r["order_id"] for r in rows})
    orders = {o.id: o for o in await Order.filter(id__in=order_ids)} if order_ids else {}
    buyers = {u["id"]: u for u in await User.filter(id__in={o.buyer_id for o in orders.values()}).values(
        "id", "nickname", "phone")} if orders else {}
    line_ids = [r["line_id"] for r in rows]
    parcel_ids_by_line: dict[int, set[int]] = {}
    for pl in await ParcelLine.filter(task_line_id__in=line_ids).values("task_line_id", "parcel_id") if line_ids else []:
        parcel_ids_by_line.setdefault(pl["task_line_id"], set()).add(pl["parcel_id"])
    all_parcels = {p.id: p for p in await Parcel.filter(
        id__in={i for s in parcel_ids_by_line.values() for i in s})} if parcel_ids_by_line else {}
    station_ids = {r["station_id"] for r in rows if r["station_id"]} | {o.station_id for o in orders.values()
                                                                       if o.station_id}
    names = dict(await Station.filter(id__in=list(station_ids)).values_list("id", "name")) if station_ids else {}
    per_order: dict[int, DestinationOut] = {}
    for r in rows:
        o = orders.get(r["order_id"])
        if o is None:
            continue
        sid = r["station_id"] or o.station_id
        d = per_order.get(o.id)
        if d is None:
            u = buyers.get(o.buyer_id, {})
            d = per_order[o.id] = DestinationOut(
                order_id=o.id, order_no=o.order_no, order_status=o.status, fulfilment=o.fulfilment, units=0,
                buyer_id=o.buyer_id, buyer_name=u.get("nickname") or (o.address or {}).get("name", ""),
                buyer_phone=u.get("phone") or (o.address or {}).get("phone", "") or "",
                station_id=sid, station_name=names.get(sid, "") if sid else "", parcels=[],
                picked_at=r["picked_at"])
        d.units += r["units"]
        for pid in sorted(parcel_ids_by_line.get(r["line_id"], ())):
            p = all_parcels[pid]
            if all(x.id != pid for x in d.parcels):
                d.parcels.append(DestinationParcel(id=p.id, label=p.label, status=p.status, direction=p.direction))
    items = sorted(per_order.values(), key=lambda d: d.order_id)
    per_station: dict[str, SoldThrough] = {}
    for d in items:
        if d.station_id:
            st = per_station.setdefault(d.station_name, SoldThrough(name=d.station_name, level="", orders=0))
            st.orders += 1
    return DestinationsOut(batch_id=b.id, code=b.code, units=sum(d.units for d in items), orders=len(items),
                           stations=sorted(per_station.values(), key=lambda s: -s.orders), items=items)


# ---- recall -------------------------------------------------------------------------------------
async def _unpicked(skus: list[int], conn: Any) -> dict[int, int]:
    """{order_id: units} of paid orders (handed to the warehouse or not yet) still waiting for units of
    these SKUs that nobody picked: per line, what is neither picked nor refunded (or being refunded)."""
    lines = await OrderLine.filter(sku_id__in=skus, order__status__in=WAITING).using_db(conn).values(
        "id", "order_id", "quantity", "refunded_qty")
    if not lines:
        return {}
    picked: dict[int, int] = {}
    for line_id, n in await TaskLine.filter(order_line_id__in=[x["id"] for x in lines]).using_db(conn).values_list(
            "order_line_id", "picked_qty"):
        picked[line_id] = picked.get(line_id, 0) + n
    out: dict[int, int] = {}
    pending_by_order: dict[int, dict[int, int]] = {}
    for x in lines:
        oid = x["order_id"]
        if oid not in pending_by_order:
            pending_by_order[oid] = await refunds.open_refund_qty(oid, conn)
        n = min(x["quantity"] - picked.get(x["id"], 0),
                x["quantity"] - x["refunded_qty"] - pending_by_order[oid].get(x["id"], 0))
        if n > 0:
            out[oid] = out.get(oid, 0) + n
    return out


async def recall(admin_id: int, batch_id: int, reason: str, *, unpicked: str = "refund") -> RecallOut:
    """Recall a batch: off sale at once, buyers notified and parcels stopped by jobs, report kept.
    unpicked: what becomes of paid orders' units of the SKUs not picked yet: refund (approved at
    once, by the contact's job) or wait (for a new batch); either way the report lists them."""
    if unpicked not in ("refund", "wait"):
        raise ValueError(f"unknown unpicked choice {unpicked!r}")
    async with atomic() as conn:
        rows = await lock_rows(Batch, [batch_id], conn)
        if not rows:
            raise NotFound("batch not found")
        b = rows[0]
        if b.status == BatchStatus.RECALLED:
            raise Conflict("the batch is already recalled", code=TraceErrorCode.ALREADY_RECALLED)
        now = clock.now()
        await Batch.filter(id=b.id).using_db(conn).update(status=BatchStatus.RECALLED,
                                                          locked_at=b.locked_at or now)
        skus = await batch_sku_ids(b, conn)
        await lock_rows(Sku, skus, conn)
        await Sku.filter(id__in=skus).using_db(conn).update(is_active=False)
        still_on = await Sku.filter(product_id=b.product_id, is_active=True).using_db(conn).exists()
        product_down = False
        if not still_on:
            # 监管下架 with the recall as the reason the merchant sees; the order of locks is the
            # catalogue's own (product row), inside this transaction.
            p = await Product.filter(id=b.product_id).using_db(conn).select_for_update().first()
            await Product.filter(id=p.id).using_db(conn).update(
                status="off_shelf", visible=False, takedown_reason=f"批次{b.code}召回：{reason}"[:500],
                taken_down_at=now, pending_revision=False)
            product_down = True
        await catalog.refresh_derived(b.product_id, conn)
        tieins = await trace_hooks.withdraw_live(skus, conn, batch_id=b.id, actor_id=admin_id)
        rec = await Recall.create(batch_id=b.id, reason=reason, created_by_id=admin_id, using_db=conn,
                                  unpicked=unpicked, withdrawn={"sku_ids": skus, "product_taken_down": product_down,
                                             "live_tiein_ids": tieins})
        contacts = {}
        for r in await destination_rows(b, conn):
            contacts.setdefault(r["order_id"], 0)
            contacts[r["order_id"]] += r["units"]
        waiting = await _unpicked(skus, conn)
        for oid in waiting:
            contacts.setdefault(oid, 0)
        orders = {o["id"]: o for o in await Order.filter(id__in=list(contacts)).using_db(conn).values(
            "id", "buyer_id", "status")} if contacts else {}
        state = "pending" if unpicked == "refund" else "waiting"
        rows_ = [RecallContact(recall_id=rec.id, order_id=oid, buyer_id=orders[oid]["buyer_id"], units=units,
                               unpicked_units=waiting.get(oid, 0), unpicked=state if waiting.get(oid) else "")
                 for oid, units in sorted(contacts.items())
                 if oid in orders and orders[oid]["status"] not in NOT_RECEIVED]
        if rows_:
            await RecallContact.bulk_create(rows_, using_db=conn)
        await audit.record(admin_id, "batch.recall", "batch", b.id,
                           {"reason": reason, "recall_id": rec.id, "orders": len(rows_), "sku_ids": skus,
                            "live_tieins": tieins, "unpicked": unpicked, "unpicked_orders": len(waiting)},
                           conn=conn)
        for c in await RecallContact.filter(recall_id=rec.id).using_db(conn).values_list("id", flat=True):
            jobs.enqueue("trace.recall_contact", c, job_id=kr.key("job", "recall-contact", c))
        if tieins:
            jobs.enqueue("trace.live_withdrawn", tieins, job_id=kr.key("job", "recall-live", rec.id))
        invalidate_after_commit(b.id)
        pid = b.product_id
        on_commit(lambda: invalidate_product(pid))
    return await report(rec.id)


def _advice(c: RecallContact) -> str:
    """What the buyer is told to do (≤20 characters, the template's thing4)."""
    if c.units:
        return "请停止食用/使用，联系客服退换"
    if c.unpicked == "waiting":
        return "订单将改发新批次，请留意"
    return "未发出的商品已为您退款"


# What send_subscribed answered, as the recall report's wechat column (8 characters) records it.
_WECHAT_STATE = {"sent": "sent", "refused": "refused", "unsubscribed": "declined", "no_openid": "none"}


async def _notify(c: RecallContact, rec: Recall, b: Batch) -> dict:
    """Reach one contact (#29's rule): the subscribe message unless the buyer declined the template;
    an SMS only when no WeChat message reached them (declined, refused, no openid, or WeChat failing:
    a recall cannot wait for WeChat to recover). Each channel once; a buyer reached by SMS is not
    messaged again when WeChat comes back."""
    s = runtime.settings()
    order = await Order.get(id=c.order_id)
    buyer = await User.get_or_none(id=c.buyer_id)
    product = await Product.get(id=b.product_id)
    out: dict = {}
    wechat = c.wechat
    if wechat in ("pending", "failed") and c.sms != "sent":
        if buyer is None:
            wechat = "none"
        else:
            try:
                wechat = _WECHAT_STATE[await notify_outbox.send_subscribed(
                    "recall", buyer.id, buyer.openid,
                    {"thing1": product.name, "character_string2": b.code[:32], "thing3": rec.reason,
                     "thing4": _advice(c)}, page_query=f"id={order.id}")]
            except UpstreamError as exc:
                wechat = "failed"
                out["error"] = exc.message[:200]
        out["wechat"] = wechat
    if c.sms in ("pending", "failed"):
        phone = (buyer.phone if buyer else None) or (order.address or {}).get("phone")
        if wechat == "sent":
            out["sms"] = "skipped"  # the subscribe message reached them
        elif not phone:
            out["sms"] = "none"
        else:
            try:
                await sms.send_notice(phone, s.aliyun_sms_recall_template_code,
                                      {"product": product.name[:20], "batch": b.code[:20],
                                       "order": order.order_no[-8:]}, f"recall-{c.id}")
                out["sms"] = "sent"
            except AppError as exc:
                out["sms"] = "failed"
                out["error"] = exc.message[:200]
    return out


async def stop_parcels(order_id: int, reason: str) -> str:
    """Stop the order's forward parcels that are not delivered: 'stopped', 'pending' (one is on the
    road; tried again later) or 'none' (nothing left to stop)."""
    state = "none"
    for p in await Parcel.filter(order_id=order_id, direction="forward").exclude(status__in=DONE_PARCEL):
        got = await scans.stop_for_recall(p.label, reason, actor_id=None)
        if got == "moving":
            state = "pending"
        elif got == "stopped" and state in ("none", "courier"):
            state = "stopped"
        elif got == "courier" and state == "none":
            state = "courier"  # with a third-party courier: the buyer's notice is what reaches it
    if state == "none" and await Parcel.filter(order_id=order_id, direction="return",
                                               return_reason__startswith="recall").exists():
        state = "stopped"
    if await FulfillmentTask.filter(order_id=order_id, status__in=(TaskStatus.PENDING, TaskStatus.PICKING)).exists():
        # Units picked from the batch but not packed yet: the parcel they go into is stopped by a
        # later sweep, before it can leave the warehouse.
        state = "pending"
    return state


# A refund the buyer asked for on these lines is waiting for its decision: the recall's refund
# waits for it too (the sweeper comes back), or the two would count the same units.
AWAITING_REQUEST = "awaiting_request"


async def refund_stopped(contact_id: int) -> int | None:
    """The goods in the order's parcels turned back by a recall never reach the buyer: refund them
    (every unit those parcels held, at the price paid), approved at once, once per contact, when no
    parcel of the order is still on its way to being stopped. Returns the refund's id."""
    async with atomic() as conn:
        rows = await lock_rows(RecallContact, [contact_id], conn)
        if not rows or rows[0].refund_id is not None or rows[0].refund_error not in ("", AWAITING_REQUEST):
            return None
        c = rows[0]
        await lock_rows(Order, [c.order_id], conn)  # as create_refund does: the refunds below stay as read
        lines: dict[int, int] = {}
        for line_id, qty in await ParcelLine.filter(
                parcel__order_id=c.order_id, parcel__direction="return",
                parcel__return_reason__startswith="recall").using_db(conn).values_list(
                "task_line__order_line_id", "quantity"):
            lines[line_id] = lines.get(line_id, 0) + qty
        # What the buyer (or the recall of another batch) has had refunded, or approved, is not
        # refunded twice: at most what is left of each line.
        pending = await refunds.open_refund_qty(c.order_id, conn)
        left = {lid: q - done - pending.get(lid, 0) for lid, q, done in
                await OrderLine.filter(order_id=c.order_id).using_db(conn).values_list("id", "quantity", "refunded_qty")}
        asked = bool(lines.keys() & await refunds.open_refund_qty(c.order_id, conn, (RefundStatus.REQUESTED,)))
        wanted = {lid: min(q, left.get(lid, 0)) for lid, q in lines.items()}
        wanted = {lid: q for lid, q in wanted.items() if q > 0}
        refund_id, error = None, ""
        if asked:
            error = AWAITING_REQUEST
        elif not wanted:
            error = "nothing_to_refund"
        else:
            try:
                refund_id = (await refunds.create_refund(c.order_id, lines=wanted, reason="批次召回退款 (recall)",
                                                         requested_by=None, auto_approve=True)).id
            except AppError as exc:  # e.g. the order is no longer refundable
                error = exc.code[:64]
        await RecallContact.filter(id=c.id).using_db(conn).update(refund_id=refund_id, refund_error=error)
        if error == AWAITING_REQUEST:
            return None
        await audit.record(None, "recall.refund", "order", c.order_id,
                           {"contact_id": c.id, "refund_id": refund_id, "error": error,
                            "lines": [{"line_id": lid, "qty": q} for lid, q in sorted(wanted.items())]}, conn=conn)
    return refund_id


async def refund_unpicked(contact_id: int) -> int | None:
    """The recall's refund of what the order still waited for (units of the recalled SKUs nobody
    picked), approved at once, once per contact however many jobs run it: the contact row is locked
    and its state moves from pending once. Units picked meanwhile are not refunded here (they are
    stopped with their parcel and refunded by refund_stopped). Returns the refund's id."""
    async with atomic() as conn:
        rows = await lock_rows(RecallContact, [contact_id], conn)
        if not rows or rows[0].unpicked != "pending":
            return None
        c = rows[0]
        await lock_rows(Order, [c.order_id], conn)  # as create_refund does: the refunds below stay as read
        rec = await Recall.get(id=c.recall_id, using_db=conn)
        skus = (rec.withdrawn or {}).get("sku_ids") or []
        lines = await OrderLine.filter(order_id=c.order_id, sku_id__in=skus).using_db(conn).values(
            "id", "quantity", "refunded_qty")
        picked: dict[int, int] = {}
        for line_id, n in await TaskLine.filter(order_line_id__in=[x["id"] for x in lines]).using_db(
                conn).values_list("order_line_id", "picked_qty"):
            picked[line_id] = picked.get(line_id, 0) + n
        pending = await refunds.open_refund_qty(c.order_id, conn)
        wanted = {x["id"]: min(x["quantity"] - picked.get(x["id"], 0),
                               x["quantity"] - x["refunded_qty"] - pending.get(x["id"], 0)) for x in lines}
        wanted = {lid: q for lid, q in wanted.items() if q > 0}
        refund_id, state = None, "nothing_to_refund"
        if wanted:
            try:
                refund_id = (await refunds.create_refund(c.order_id, lines=wanted, reason="批次召回：未拣货部分退款",
                                                         requested_by=None, auto_approve=True)).id
                state = "refunded"
            except AppError as exc:  # e.g. the order is no longer refundable
                state = exc.code[:24]
        await RecallContact.filter(id=c.id).using_db(conn).update(unpicked=state, unpicked_refund_id=refund_id)
        await audit.record(None, "recall.refund_unpicked", "order", c.order_id,
                           {"contact_id": c.id, "refund_id": refund_id, "state": state,
                            "lines": [{"line_id": lid, "qty": q} for lid, q in sorted(wanted.items())]}, conn=conn)
    return refund_id


async def process_contact(contact_id: int) -> dict:
    """Notify one buyer and stop their parcels (the job; safe to run twice)."""
    c = await RecallContact.get_or_none(id=contact_id)
    if c is None:
        return {}
    rec = await Recall.get(id=c.recall_id)
    b = await Batch.get(id=rec.batch_id)
    if c.unpicked == "pending":
        await refund_unpicked(c.id)
        c = await RecallContact.get(id=contact_id)
    out = await _notify(c, rec, b)
    # an order that received nothing of the batch has no parcel of it to stop
    parcels = await stop_parcels(c.order_id, "recall") if c.units else "none"
    if parcels == "stopped":
        await refund_stopped(c.id)
    upd: dict = {"attempts": F("attempts") + 1, "parcels": parcels}
    for ch in ("wechat", "sms"):
        if ch in out:
            upd[ch] = out[ch]
    if out.get("error"):
        upd["last_error"] = out["error"]
    reached = out.get("wechat") == "sent" or out.get("sms") == "sent"
    if reached:
        upd["reached_at"] = clock.now()
    await RecallContact.filter(id=c.id).update(**upd)
    if reached:
        await RecallContact.filter(id=c.id, reached_at=None).update(reached_at=clock.now())
    await maybe_complete(rec.id)
    return out


def _open_work(recall_id: int):
    """Contacts with a channel still to try (below MAX_ATTEMPTS), a parcel still on the road, or a
    refund waiting for the buyer's own request to be decided."""
    return RecallContact.filter(recall_id=recall_id).filter(
        Q(wechat__in=("pending", "failed"), attempts__lt=MAX_ATTEMPTS) & ~Q(sms="sent")
        | Q(sms__in=("pending", "failed"), attempts__lt=MAX_ATTEMPTS) | Q(parcels="pending")
        | Q(refund_error=AWAITING_REQUEST) | Q(unpicked="pending"))


async def maybe_complete(recall_id: int) -> bool:
    """Close the recall once no contact has work left (a channel that failed MAX_ATTEMPTS times stays
    'failed' in the report)."""
    if await _open_work(recall_id).exists():
        return False
    return bool(await Recall.filter(id=recall_id, status=RecallStatus.ACTIVE).update(
        status=RecallStatus.COMPLETED, completed_at=clock.now()))


MAX_ATTEMPTS = 10


async def sweep(limit: int = 500) -> int:
    """Re-run the contacts of active recalls that still have work (a lost job, a failed send, a
    parcel that was on the road and may have arrived since); returns how many were queued."""
    n = 0
    bucket = clock.now().strftime("%Y%m%d%H%M")
    for rid in await Recall.filter(status=RecallStatus.ACTIVE).order_by("id").limit(50).values_list("id", flat=True):
        ids = await _open_work(rid).order_by("id").limit(limit).values_list("id", flat=True)
        if not ids:
            await maybe_complete(rid)
        for cid in ids:
            jobs.enqueue("trace.recall_contact", cid, job_id=kr.key("job", "recall-contact", cid, bucket))
            n += 1
    return n


async def report(recall_id: int, *, items: bool = True) -> RecallOut:
    """The recall report: who was reached by which channel, which parcels were stopped."""
    rec = await Recall.get_or_none(id=recall_id)
    if rec is None:
        raise NotFound("recall not found")
    contacts = await RecallContact.filter(recall_id=rec.id).order_by("id")
    return RecallOut(
        id=rec.id, batch_id=rec.batch_id, reason=rec.reason, status=rec.status, created_by_id=rec.created_by_id,
        created_at=rec.created_at, completed_at=rec.completed_at, withdrawn=rec.withdrawn or {},
        contacts=len(contacts), reached=sum(1 for c in contacts if c.reached_at is not None),
        parcels_stopped=sum(1 for c in contacts if c.parcels == "stopped"),
        parcels_pending=sum(1 for c in contacts if c.parcels == "pending"),
        refunded=await Refund.filter(id__in=[c.refund_id for c in contacts if c.refund_id is not None],
                                     status__not_in=(RefundStatus.FAILED, RefundStatus.REJECTED)).count(),
        unpicked=rec.unpicked, unpicked_orders=sum(1 for c in contacts if c.unpicked_units),
        items=[RecallContactOut.model_validate(c) for c in contacts] if items else [])


async def recall_of_batch(batch_id: int) -> RecallOut:
    rec = await Recall.get_or_none(batch_id=batch_id)
    if rec is None:
        raise NotFound("this batch was not recalled")
    return await report(rec.id)
