"""Three-level logistics (县 → 乡镇 → 村) as scans: every hop of a parcel is one event with actor,
place and time (完整、真实的转运记录). The parcel's position on its route decides which scan is
possible next; the same scan twice is one event (unique scan_key); an impossible scan is refused
(409) and audited. Returns travel the same route backwards with the same scans.

The order follows its parcels: all handed over at the pickup station -> the stations capability's
receive_at_station (ready_for_pickup, pickup code); out for delivery -> out_for_delivery; every parcel
delivered with the buyer's proof-of-delivery code -> delivered, then completed. A courier order is
completed by its buyer's confirmation or automatically later (server/orders/receipt.py)."""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from server.fulfillment import routing, sla
from server.fulfillment.schemas import (PromiseOut, ScanEventOut, ScanResultOut, TimelineOut, TrackingOut,
                                        TrackingParcelOut)
from server.fulfillment.parcels import parcel_out, transition_order
from server.kit import audit, clock, jobs
from server.kit import redis as kr
from server.kit.auth import Principal, Role
from server.kit.db import atomic, lock_rows
from server.kit.errors import AppError, Conflict, NotFound, ValidationFailed
from server.inventory import service as inventory
from server.models.fulfillment import (DeliveryPromise, FulfillmentTask, Parcel, ParcelLine, ParcelStatus,
                                       ScanEvent, TaskStatus, UnpickItem)
from server.models.inventory import StockReason
from server.models.orders import Order, OrderStatus
from server.models.stations import Station
from server.orders import receipt
from server.orders import service as orders_service
from server.notify import outbox as notify_outbox
from server.fulfillment.errors import FulfillmentCode
from server.models.pickup import Pickup, PickupStatus
from server.stations import service as stations_service
from server.models.pickup import PickupReturn

log = logging.getLogger("kazuo.logistics")
LABEL_RE = re.compile(r"^[A-Z0-9]{1,24}$")
S = ParcelStatus
_county_cache: dict[str, Any] = {}


class _Stale(Exception):
    """The parcel moved between reading and writing: read again."""


async def county_id() -> int:
    """The county warehouse's station id (cached for a minute: it does not move)."""
    hit = _county_cache.get("id")
    if hit and hit[1] > time.monotonic():
        return hit[0]
    sid = (await routing.county_station()).id
    _county_cache["id"] = (sid, time.monotonic() + 60)
    return sid


async def _refuse(actor_id: int | None, label: str, kind: str, station_id: int | None, exc: AppError) -> None:
    """Audit a refused scan (after the refusal: nothing else was written)."""
    try:
        await audit.record(actor_id, "parcel.scan_refused", "parcel", label,
                           {"kind": kind, "station_id": station_id, "code": exc.code, "reason": exc.message})
    except Exception:  # noqa: BLE001 - the refusal stands even if its audit entry cannot be written
        log.exception("could not audit a refused scan")


async def scan_place(principal: Principal, station_id: int | None, label: str, kind: str) -> int:
    """Where the caller may scan: warehouse operators at the county warehouse, station staff at
    their own stations (any other station is 404, and audited)."""
    county = await county_id()
    if principal.has(Role.warehouse) and station_id in (None, county):
        return county
    if station_id is None:
        raise ValidationFailed.field("station_id", "say at which of your stations you scan")
    if station_id in principal.station_ids:
        return station_id
    exc = NotFound("station not found")
    await _refuse(principal.user_id, label, kind, station_id, exc)
    raise exc


def _plan(p: Parcel, fulfilment: str, mode: str, kind: str, station_id: int) -> dict:
    """The parcel's new fields if `kind` at `station_id` is possible now; Conflict otherwise."""
    route = list(p.route or [])
    last = len(route) - 1
    pos = p.position
    here = route[pos] if 0 <= pos <= last else None

    def no(why: str) -> Conflict:
        return Conflict(f"impossible scan: {why}", code=FulfillmentCode.IMPOSSIBLE_SCAN,
                        details={"status": p.status, "direction": p.direction, "kind": kind})

    if p.status in (S.DELIVERED, S.RETURNED, S.WITH_COURIER):
        raise no(f"the parcel is {p.status}")
    if p.direction == "forward":
        if mode == "courier":
            raise no("this parcel leaves through a third-party courier")
        if kind == "dispatched":
            if p.moving:
                raise no("it is already in transit")
            if p.status not in (S.PACKED, S.AT_STATION) or station_id != here:
                raise no("it is not at this station")
            if pos >= last:
                raise no("this is its destination station")
            return {"moving": True, "status": S.IN_TRANSIT}
        if kind == "arrived":
            if not p.moving:
                raise no("it was not dispatched towards this station")
            if pos + 1 > last or route[pos + 1] != station_id:
                raise no("this station is not its next stop")
            return {"moving": False, "position": pos + 1, "status": S.AT_STATION}
        if kind in ("handed_over", "out_for_delivery"):
            want = "pickup" if kind == "handed_over" else "delivery"
            if fulfilment != want:
                raise no(f"the order is for {fulfilment}")
            if p.moving or pos != last or station_id != here or p.status not in (S.AT_STATION, S.PACKED):
                raise no("it has not arrived at its destination station")
            return {"status": S.READY_FOR_PICKUP if kind == "handed_over" else S.OUT_FOR_DELIVERY}
        raise no("unknown scan")
    # return (退回): the same route backwards, county last
    if kind == "dispatched":
        if p.moving or p.status != S.AT_STATION or station_id != here:
            raise no("it is not at this station")
        if pos == 0:
            raise no("it is back at the county warehouse")
        return {"moving": True, "status": S.IN_TRANSIT}
    if kind == "arrived":
        if not p.moving or pos == 0 or route[pos - 1] != station_id:
            raise no("this station is not its next stop back")
        if pos - 1 == 0:
            return {"moving": False, "position": 0, "status": S.RETURNED, "finished_at": clock.now()}
        return {"moving": False, "position": pos - 1, "status": S.AT_STATION}
    raise no("a returning parcel is only dispatched and arrives")


def event_out(ev: ScanEvent, names: dict[int, str] | None = None) -> ScanEventOut:
    return ScanEventOut(id=ev.id, kind=ev.kind, direction=ev.direction, station_id=ev.station_id,
                        station_name=(names or {}).get(ev.station_id, "") if ev.station_id else "",
                        actor_id=ev.actor_id, source=ev.source, at=ev.at, data=ev.data or {})


async def _parcel_moves(p: Parcel, conn: Any) -> list[inventory.Move]:
    lines = await ParcelLine.filter(parcel_id=p.id).using_db(conn).values("sku_id", "quantity")
    return [inventory.Move(ln["sku_id"], ln["quantity"], "parcel", p.id) for ln in lines]


async def _leave_warehouse(p: Parcel, conn: Any, now) -> None:
    """Goods physically leave the county warehouse: their reservation is consumed (on hand drops)."""
    if await UnpickItem.filter(parcel_id=p.id, status="pending").using_db(conn).exists():
        raise Conflict("refunded units are in this parcel: take them out first (un-pack list)",
                       code=FulfillmentCode.UNPACK_PENDING)
    await inventory.ship(conn, await _parcel_moves(p, conn))
    await Parcel.filter(id=p.id).using_db(conn).update(dispatched_at=now)
    await notify_outbox.order_dispatched(p.order_id, conn)  # the buyer hears once per order
    await ship_if_done(p.task_id, conn, now)


async def ship_if_done(task_id: int, conn: Any, now) -> None:
    """The task is shipped once it is fully packed and no parcel of it waits in the warehouse."""
    if not await Parcel.filter(task_id=task_id, status=S.PACKED).using_db(conn).exists():
        n = await FulfillmentTask.filter(id=task_id, status=TaskStatus.PACKED).using_db(conn).update(
            status=TaskStatus.SHIPPED, shipped_at=now)
        if n:
            jobs.enqueue("fulfillment.upload_shipping", task_id, job_id=kr.key("job", "ship-upload", task_id))


async def _returned(p: Parcel, conn: Any, actor_id: int | None = None) -> None:
    """A returned parcel is received at the warehouse: its goods are sellable again."""
    await inventory.restock(conn, await _parcel_moves(p, conn), StockReason.RETURN, actor_id=actor_id)


async def _unreserve(p: Parcel, conn: Any, actor_id: int | None = None) -> None:
    """A packed parcel taken apart at the warehouse: its reserved units are sellable again."""
    await inventory.release(conn, await _parcel_moves(p, conn), StockReason.UNPACK, actor_id=actor_id)


async def _forward_parcels(task_id: int, conn: Any) -> list[dict]:
    return await Parcel.filter(task_id=task_id).using_db(conn).values("id", "status", "direction")


async def _effects(p: Parcel, task: FulfillmentTask, kind: str, station_id: int, actor_id: int | None,
                   conn: Any, now) -> dict:
    """What follows from a recorded scan (stock, promises, the order); returns after-commit work."""
    after: dict = {}
    route = list(p.route or [])
    if p.direction == "forward":
        if p.status == S.PACKED and kind in ("dispatched", "handed_over", "out_for_delivery"):
            await _leave_warehouse(p, conn, now)
        if kind == "arrived":
            reached = p.position + 1
            if reached == 1 and len(route) >= 2:
                await sla.mark_met(p.id, (routing.LEG_COUNTY_TOWN,), now, conn)
                if len(route) >= 3:
                    await sla.add_promise(p.id, routing.LEG_TOWN_VILLAGE, routing.town_village_due(now),
                                          route[1], conn)
            elif reached == 2:
                await sla.mark_met(p.id, (routing.LEG_TOWN_VILLAGE, routing.LEG_COUNTY_VILLAGE), now, conn)
        if kind == "handed_over":
            await lock_rows(FulfillmentTask, [task.id], conn)  # one decision per order
            ps = await _forward_parcels(task.id, conn)
            fresh = await FulfillmentTask.get(id=task.id, using_db=conn)
            if fresh.status == TaskStatus.SHIPPED and all(x["status"] == S.READY_FOR_PICKUP for x in ps):
                after["receive"] = (task.order_id, station_id)
        if kind == "out_for_delivery":
            await transition_order(task.order_id, OrderStatus.IN_FULFILMENT, OrderStatus.OUT_FOR_DELIVERY,
                                   conn=conn, actor_id=actor_id)
    elif p.direction == "return" and kind == "arrived" and p.position == 1:
        await _returned(p, conn, actor_id)
    return after


async def _after(after: dict, actor_id: int | None) -> None:
    if "receive" in after:
        order_id, station_id = after["receive"]
        try:
            await stations_service.receive_at_station(order_id, station_id, actor_id=actor_id)
        except Exception:  # the sweeper (jobs/fulfillment.py) retries: the handover itself stands
            log.exception("receive_at_station failed for order %s", order_id)


async def record_scan(label: str, kind: str, station_id: int, *, actor_id: int | None,
                      source: str = "api", data: dict | None = None) -> ScanResultOut:
    """Record one scan of a parcel at a station (idempotent; impossible scans are 409 and audited)."""
    for _ in range(5):
        p = await Parcel.get_or_none(label=label).select_related("task")
        if p is None:
            exc = NotFound("parcel not found", code=FulfillmentCode.PARCEL_NOT_FOUND)
            await _refuse(actor_id, label, kind, station_id, exc)
            raise exc
        key = f"{p.id}:{p.direction}:{kind}:{station_id}"
        task = p.task
        try:
            new = _plan(p, task.fulfilment, task.mode, kind, station_id)
        except Conflict as exc:
            # A parcel passes each station once per direction, so a scan already recorded is never
            # possible again: look for the duplicate only when the plan refuses (saves a query per scan).
            ev = await ScanEvent.get_or_none(scan_key=key)
            if ev is not None:
                return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(p))
            await _refuse(actor_id, label, kind, station_id, exc)
            raise
        now = clock.now()
        try:
            async with atomic() as conn:
                n = await Parcel.filter(id=p.id, version=p.version).using_db(conn).update(
                    version=F("version") + 1, **new)
                if not n:
                    raise _Stale()
                ev = await ScanEvent.create(parcel_id=p.id, kind=kind, direction=p.direction,
                                            station_id=station_id, actor_id=actor_id, source=source,
                                            scan_key=key, at=now, data=data or {}, using_db=conn)
                after = await _effects(p, task, kind, station_id, actor_id, conn, now)
                # the answer is the row as written (the effects set more than `new`: dispatched_at)
                written = await Parcel.get(id=p.id, using_db=conn)
        except (_Stale, IntegrityError):
            continue  # someone scanned this parcel at the same moment: look again
        await _after(after, actor_id)
        return ScanResultOut(duplicate=False, event=event_out(ev), parcel=parcel_out(written))
    raise Conflict("the parcel is being scanned by someone else; scan again", code=FulfillmentCode.SCAN_BUSY)


async def scan(principal: Principal, label: str, kind: str, station_id: int | None) -> ScanResultOut:
    """A scan by a warehouse operator or station staff, limited to their own stations."""
    place = await scan_place(principal, station_id, label, kind)
    return await record_scan(label, kind, place, actor_id=principal.user_id)


async def dispatch(principal: Principal, parcel_id: int) -> ScanResultOut:
    """Dispatch a packed parcel from the county warehouse onto its route."""
    p = await Parcel.get_or_none(id=parcel_id)
    if p is None:
        raise NotFound("parcel not found")
    county = await county_id()
    if p.status != S.PACKED:
        # The console's dispatch is a command, not a scan replay: a second one is an operator error.
        exc = Conflict(f"the parcel was already dispatched ({p.status})",
                       code=FulfillmentCode.ALREADY_DISPATCHED,
                       details={"status": p.status})
        await _refuse(principal.user_id, p.label, "dispatched", county, exc)
        raise exc
    return await record_scan(p.label, "dispatched", county, actor_id=principal.user_id)


async def ship_by_courier(parcel_id: int, company: str, tracking_no: str, *, actor_id: int) -> ScanResultOut:
    """Hand a parcel to a third-party courier (outside the county): company and tracking number."""
    p = await Parcel.get_or_none(id=parcel_id).select_related("task")
    if p is None:
        raise NotFound("parcel not found")
    county = await county_id()
    key = f"{p.id}:forward:courier:{county}"
    ev = await ScanEvent.get_or_none(scan_key=key)
    if ev is not None:
        if (ev.data or {}).get("tracking_no") != tracking_no:
            raise Conflict("this parcel already left with another tracking number",
                           code=FulfillmentCode.ALREADY_SHIPPED)
        return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(p))
    if p.task.mode != "courier" or p.status != S.PACKED:
        exc = Conflict("impossible scan: only a packed parcel of a courier order leaves by courier",
                       code=FulfillmentCode.IMPOSSIBLE_SCAN, details={"status": p.status})
        await _refuse(actor_id, p.label, "courier", county, exc)
        raise exc
    now = clock.now()
    try:
        async with atomic() as conn:
            n = await Parcel.filter(id=p.id, version=p.version, status=S.PACKED).using_db(conn).update(
                version=F("version") + 1, status=S.WITH_COURIER, courier_company=company,
                tracking_no=tracking_no)
            if not n:
                raise Conflict("the parcel changed; look again", code=FulfillmentCode.SCAN_BUSY)
            ev = await ScanEvent.create(parcel_id=p.id, kind="courier", direction="forward", station_id=county,
                                        actor_id=actor_id, scan_key=key, at=now,
                                        data={"company": company, "tracking_no": tracking_no}, using_db=conn)
            await _leave_warehouse(p, conn, now)
            await transition_order(p.order_id, OrderStatus.IN_FULFILMENT, OrderStatus.OUT_FOR_DELIVERY,
                                   conn=conn, actor_id=actor_id)
            if await FulfillmentTask.filter(id=p.task_id, status=TaskStatus.SHIPPED).using_db(conn).exists():
                receipt.schedule_auto_confirm(p.order_id)  # its last parcel left: 自动确认收货 is due later
    except IntegrityError:
        return await ship_by_courier(parcel_id, company, tracking_no, actor_id=actor_id)
    p = await Parcel.get(id=p.id)
    return ScanResultOut(duplicate=False, event=event_out(ev), parcel=parcel_out(p))


async def deliver(principal: Principal, label: str, station_id: int, code: str) -> ScanResultOut:
    """Home delivery ends with the buyer's proof-of-delivery code (签收码)."""
    place = await scan_place(principal, station_id, label, "delivered")
    p = await Parcel.get_or_none(label=label).select_related("task")
    if p is None:
        exc = NotFound("parcel not found", code=FulfillmentCode.PARCEL_NOT_FOUND)
        await _refuse(principal.user_id, label, "delivered", place, exc)
        raise exc
    key = f"{p.id}:forward:delivered:{place}"
    ev = await ScanEvent.get_or_none(scan_key=key)
    if ev is not None:
        return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(p))
    route = list(p.route or [])
    if p.status != S.OUT_FOR_DELIVERY or p.direction != "forward" or not route or route[-1] != place:
        exc = Conflict("impossible scan: the parcel is not out for delivery from this station",
                       code=FulfillmentCode.IMPOSSIBLE_SCAN, details={"status": p.status})
        await _refuse(principal.user_id, label, "delivered", place, exc)
        raise exc
    # 5 wrong codes per parcel per 10 minutes: a code cannot be guessed at the door.
    await kr.check_limit("pod", str(p.id), 5, message="too many wrong delivery codes; wait")
    if code != p.pod_code:
        await kr.hit_limit("pod", str(p.id), 5, 600, message="too many wrong delivery codes; wait")
        exc = ValidationFailed.field("code", "wrong proof-of-delivery code")
        await _refuse(principal.user_id, label, "delivered", place, exc)
        raise exc
    now = clock.now()
    try:
        async with atomic() as conn:
            n = await Parcel.filter(id=p.id, version=p.version).using_db(conn).update(
                version=F("version") + 1, status=S.DELIVERED, finished_at=now)
            if not n:
                raise Conflict("the parcel changed; scan again", code=FulfillmentCode.SCAN_BUSY)
            ev = await ScanEvent.create(parcel_id=p.id, kind="delivered", direction="forward", station_id=place,
                                        actor_id=principal.user_id, scan_key=key, at=now, using_db=conn)
            await lock_rows(FulfillmentTask, [p.task_id], conn)
            ps = await _forward_parcels(p.task_id, conn)
            task = await FulfillmentTask.get(id=p.task_id, using_db=conn)
            if task.status == TaskStatus.SHIPPED and all(x["status"] == S.DELIVERED for x in ps):
                # the proof of delivery completes a station delivery (delivered, then completed)
                if await transition_order(p.order_id, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED,
                                          conn=conn, actor_id=principal.user_id):
                    await orders_service.transition(p.order_id, OrderStatus.DELIVERED, OrderStatus.COMPLETED,
                                                    conn=conn, actor_id=principal.user_id, completed_at=now)
    except IntegrityError:
        ev = await ScanEvent.get(scan_key=key)
        return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(await Parcel.get(id=p.id)))
    p = await Parcel.get(id=p.id)
    return ScanResultOut(duplicate=False, event=event_out(ev), parcel=parcel_out(p))


RETURNABLE = (S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY, S.AT_STATION, S.PACKED, S.WITH_COURIER)


async def start_return(label: str, station_id: int, reason: str, *, actor_id: int | None) -> ScanResultOut:
    """Send a parcel back (退回: uncollected, refused, damaged) from where it is now; a parcel at the
    county warehouse (county pickup, courier return) is received at once and its stock restored."""
    p = await Parcel.get_or_none(label=label)
    if p is None:
        exc = NotFound("parcel not found", code=FulfillmentCode.PARCEL_NOT_FOUND)
        await _refuse(actor_id, label, "return", station_id, exc)
        raise exc
    key = f"{p.id}:return:return_started:{station_id}"
    ev = await ScanEvent.get_or_none(scan_key=key)
    if ev is not None:
        return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(p))
    route = list(p.route or [])
    here = route[p.position] if route else None
    ok = (p.direction == "forward" and not p.moving and p.status in RETURNABLE and here == station_id
          and (p.status != S.PACKED or p.position == 0))
    if not ok:
        exc = Conflict("impossible scan: the parcel cannot be sent back from here",
                       code=FulfillmentCode.IMPOSSIBLE_SCAN,
                       details={"status": p.status, "direction": p.direction})
        await _refuse(actor_id, label, "return", station_id, exc)
        raise exc
    now = clock.now()
    at_county = p.position == 0
    new = {"direction": "return", "status": S.AT_STATION, "return_reason": reason}
    if at_county:
        new.update(status=S.RETURNED, finished_at=now)
    try:
        async with atomic() as conn:
            n = await Parcel.filter(id=p.id, version=p.version).using_db(conn).update(
                version=F("version") + 1, **new)
            if not n:
                raise Conflict("the parcel changed; scan again", code=FulfillmentCode.SCAN_BUSY)
            ev = await ScanEvent.create(parcel_id=p.id, kind="return_started", direction="return",
                                        station_id=station_id, actor_id=actor_id, scan_key=key, at=now,
                                        data={"reason": reason}, using_db=conn)
            if at_county:
                if p.status == S.PACKED:
                    await _unreserve(p, conn, actor_id)  # never left the warehouse: reservation released
                else:
                    await _returned(p, conn, actor_id)
            await audit.record(actor_id, "parcel.return", "parcel", p.label,
                               {"reason": reason, "station_id": station_id}, conn=conn)
    except IntegrityError:
        ev = await ScanEvent.get(scan_key=key)
        return ScanResultOut(duplicate=True, event=event_out(ev), parcel=parcel_out(await Parcel.get(id=p.id)))
    p = await Parcel.get(id=p.id)
    return ScanResultOut(duplicate=False, event=event_out(ev), parcel=parcel_out(p))


async def stop_for_recall(label: str, reason: str, *, actor_id: int | None) -> str:
    """Stop a forward parcel that has not reached its buyer (召回): it is sent back from where it stands
    (at the county warehouse: unpacked at once); an open pickup at the station is closed so it cannot
    be handed over. Returns 'stopped', 'moving' (on the road: call again once it arrived somewhere),
    'courier' (outside the county network) or 'done' (delivered, picked up or already going back)."""
    p = await Parcel.get_or_none(label=label)
    if p is None:
        raise NotFound("parcel not found", code=FulfillmentCode.PARCEL_NOT_FOUND)
    if p.direction != "forward" or p.status in (S.DELIVERED, S.RETURNED):
        return "done"
    if p.status == S.WITH_COURIER:
        return "courier"
    if p.moving:
        return "moving"
    if p.status == S.READY_FOR_PICKUP:
        if await Pickup.filter(order_id=p.order_id, status=PickupStatus.PICKED_UP).exists():
            return "done"  # the buyer has it (the parcel keeps its last scan status)
        # Close the pickup first: a buyer at the counter must not receive recalled goods. The guard
        # (still ready) loses cleanly to a verification that got there first.
        closed = await Pickup.filter(order_id=p.order_id, status=PickupStatus.READY).update(
            status=PickupStatus.RETURNED, open_code=None, returned_at=clock.now(), closed_reason="recall")
        if not closed and await Pickup.filter(order_id=p.order_id, status=PickupStatus.PICKED_UP).exists():
            return "done"
    route = list(p.route or [])
    here = route[p.position] if route else None
    try:
        await start_return(label, here, ("recall: " + reason)[:64], actor_id=actor_id)
    except Conflict:
        fresh = await Parcel.get(id=p.id)
        if fresh.direction == "return" or fresh.status in (S.DELIVERED, S.RETURNED):
            return "done"
        return "moving" if fresh.moving else "done"
    return "stopped"


async def request_return(principal: Principal, label: str, station_id: int | None, reason: str) -> ScanResultOut:
    """A return started by station staff (or the warehouse, at the county)."""
    place = await scan_place(principal, station_id, label, "return")
    return await start_return(label, place, reason, actor_id=principal.user_id)


async def return_uncollected_orders(limit: int = 200) -> int:
    """Start the trip back for parcels whose pickup the stations capability closed as uncollected."""
    rets = await PickupReturn.filter(created_at__lte=clock.now()).order_by("id").limit(limit * 5).values(
        "order_id", "station_id", "reason")
    started = 0
    by_order = {r["order_id"]: r for r in rets}
    parcels = await Parcel.filter(order_id__in=list(by_order), direction="forward",
                                  status=S.READY_FOR_PICKUP).limit(limit).values("label", "order_id")
    for row in parcels:
        r = by_order[row["order_id"]]
        try:
            await start_return(row["label"], r["station_id"], (r["reason"] or "uncollected")[:16], actor_id=None)
            started += 1
        except AppError as exc:
            log.warning("could not start the return of %s: %s", row["label"], exc.code)
    return started


# ---- timelines -----------------------------------------------------------------------------------
async def _names(station_ids) -> dict[int, str]:
    ids = [i for i in set(station_ids) if i]
    return dict(await Station.filter(id__in=ids).values_list("id", "name")) if ids else {}


def _promise_out(pr: DeliveryPromise) -> PromiseOut:
    return PromiseOut(leg=pr.leg, due_at=pr.due_at, met_at=pr.met_at, breached=pr.breached_at is not None)


async def timeline(principal: Principal, label: str) -> TimelineOut:
    """A parcel's full transfer record, first scan to last (warehouse, admins, or staff on its route)."""
    if not LABEL_RE.match(label):
        raise NotFound("parcel not found")
    p = await Parcel.get_or_none(label=label)
    if p is None:
        raise NotFound("parcel not found")
    if not (principal.has(Role.warehouse) or principal.is_admin
            or principal.station_ids.intersection(p.route or [])):
        raise NotFound("parcel not found")
    events = await ScanEvent.filter(parcel_id=p.id).order_by("id")
    promises = await DeliveryPromise.filter(parcel_id=p.id).order_by("id")
    names = await _names([e.station_id for e in events])
    return TimelineOut(parcel=parcel_out(p), events=[event_out(e, names) for e in events],
                       promises=[_promise_out(pr) for pr in promises])


async def tracking(buyer_id: int, order_id: int) -> TrackingOut:
    """The buyer's own order: its parcels, their promises and every scan (404 for anyone else)."""
    order = await Order.get_or_none(id=order_id, buyer_id=buyer_id)
    if order is None:
        raise NotFound("order not found")
    task = await FulfillmentTask.get_or_none(order_id=order_id)
    parcels = await Parcel.filter(order_id=order_id).order_by("id") if task else []
    pids = [p.id for p in parcels]
    events = await ScanEvent.filter(parcel_id__in=pids).order_by("id") if pids else []
    promises = await DeliveryPromise.filter(parcel_id__in=pids).order_by("id") if pids else []
    names = await _names([e.station_id for e in events])
    out = []
    for p in parcels:
        out.append(TrackingParcelOut(
            label=p.label, status=p.status, direction=p.direction, courier_company=p.courier_company,
            tracking_no=p.tracking_no,
            pod_code=p.pod_code if p.status == S.OUT_FOR_DELIVERY and p.pod_code else None,
            promises=[_promise_out(x) for x in promises if x.parcel_id == p.id],
            events=[event_out(e, names) for e in events if e.parcel_id == p.id]))
    return TrackingOut(order_id=order.id, order_status=order.status, fulfilment=order.fulfilment,
                       task_status=task.status if task else None, parcels=out)


async def pickup_handovers_pending(limit: int = 200) -> list[tuple[int, int]]:
    """(order, station) pairs whose parcels are all handed over but the order is not ready yet."""
    tasks = await FulfillmentTask.filter(fulfilment="pickup", status=TaskStatus.SHIPPED,
                                         order__status=OrderStatus.IN_FULFILMENT).order_by("id") \
        .limit(limit).values("id", "order_id", "destination_station_id")
    out = []
    for t in tasks:
        sts = await Parcel.filter(task_id=t["id"]).values_list("status", flat=True)
        if sts and all(s == S.READY_FOR_PICKUP for s in sts):
            out.append((t["order_id"], t["destination_station_id"]))
    return out


async def retry_receive(order_id: int, station_id: int) -> None:
    await _after({"receive": (order_id, station_id)}, None)
