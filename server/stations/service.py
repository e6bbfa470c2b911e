"""Pickup at village stations (自提): receiving a parcel (到站), issuing the pickup code (提货码),
verifying it at the counter (核销) with anti-guessing locks, the buyer's view and the staff workspace.

Contract for the warehouse: receive_at_station(order_id, station_id, *, actor_id) -> PickupOut."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import orjson
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from server.kit import audit, clock, jobs, metrics, runtime
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, dialect, id_page, lock_rows
from server.kit.errors import AppError, Conflict, NotFound, RateLimited
from server.kit.schemas import Page
from server.models.orders import Order, OrderStatus
from server.models.pickup import Pickup, PickupStatus, StationAlert
from server.models.stations import Station
from server.stations import codes
from server.stations.codes import jid
from server.stations.network import public_station, station_out
from server.stations.schemas import (AlertOut, AlertQuery, BuyerPickupOut, PickupListQuery, PickupOut, VerifyIn,
                                     VerifyOut, WorkspaceOut)
from server.stations.errors import StationCode
from server.orders import service as orders_service
from server.stations.schemas import PublicStationOut
from server.models.fulfillment import Parcel
from server.models.ledger import LedgerEntry

log = logging.getLogger("kazuo.stations")

# Orders a parcel can arrive for: in_fulfilment (the warehouse sent it); paid while staff scan
# orders in by number before the warehouse flow exists.
RECEIVABLE = (OrderStatus.IN_FULFILMENT, OrderStatus.PAID)
# Failures that look like guessing and count towards the locks.
GUESSES = ("pickup_code_wrong", "qr_invalid")
RL_STAFF, RL_STATION = "pickup_staff", "pickup_station"


class StationLocked(AppError):
    status, code = 423, StationCode.STATION_LOCKED


# ---- orders contract -------------------------------------------------------------------------
async def _transition(order_id: int, expected: str, new: str, *, conn: Any, actor_id: int | None,
                      **fields: Any) -> None:
    """Move an order through the orders service's guarded transition."""
    await orders_service.transition(order_id, expected, new, conn=conn, actor_id=actor_id, **fields)


# ---- output ----------------------------------------------------------------------------------
def pickup_out(p: Pickup) -> PickupOut:
    return PickupOut(id=p.id, order_id=p.order_id, order_no=p.order_no, station_id=p.station_id,
                     status=p.status, received_at=p.received_at, deadline_at=p.deadline_at,
                     picked_up_at=p.picked_up_at, verified_by=p.verified_by_id, verify_method=p.verify_method)


# ---- receiving (到站) -------------------------------------------------------------------------
async def _free_code(station_id: int, conn: Any) -> str:
    for _ in range(10):
        code = codes.new_code()
        if not await Pickup.filter(station_id=station_id, open_code=code).using_db(conn).exists():
            return code
    raise Conflict("could not find a free pickup code", code=StationCode.PICKUP_CODE_EXHAUSTED)


async def _receive(order_id: int, station_id: int, actor_id: int | None) -> PickupOut:
    s = runtime.settings()
    async with atomic() as conn:
        rows = await lock_rows(Order, [order_id], conn)
        order = rows[0] if rows else None
        # Another station's order is as good as absent (404, not 403).
        if order is None or order.fulfilment != "pickup" or order.station_id != station_id:
            raise NotFound("order not found")
        existing = await Pickup.get_or_none(order_id=order_id, using_db=conn)
        if existing is not None:
            return pickup_out(existing)  # idempotent: the same parcel scanned twice
        if order.status not in RECEIVABLE:
            raise Conflict(f"the order is {order.status}, not on its way to the station",
                           code=StationCode.ORDER_NOT_RECEIVABLE, details={"status": order.status})
        now = clock.now()
        code = await _free_code(station_id, conn)
        p = await Pickup.create(
            order_id=order.id, order_no=order.order_no, station_id=station_id, buyer_id=order.buyer_id,
            code=code, open_code=code, received_at=now, received_by_id=actor_id,
            deadline_at=now + timedelta(days=s.pickup_return_days), using_db=conn)
        await _transition(order.id, order.status, OrderStatus.READY_FOR_PICKUP, conn=conn, actor_id=actor_id)
        await audit.record(actor_id, "pickup.receive", "order", order.id,
                           {"pickup_id": p.id, "station_id": station_id}, conn=conn)
        jobs.enqueue("stations.notify_ready", p.id, job_id=jid(f"pickup-ready:{p.id}"))
        for n, hours in enumerate(sorted(s.pickup_reminder_hours), 1):
            jobs.enqueue("stations.remind", p.id, n, job_id=jid(f"pickup-remind:{p.id}:{n}"),
                         defer=timedelta(hours=hours))
        jobs.enqueue("stations.return_uncollected", p.id, job_id=jid(f"pickup-return:{p.id}"),
                     defer=p.deadline_at - now + timedelta(minutes=1))
    return pickup_out(p)


async def receive_at_station(order_id: int, station_id: int, *, actor_id: int | None) -> PickupOut:
    """A pickup order's parcel arrived at its station: ready for pickup, code issued, buyer notified."""
    for attempt in range(3):
        try:
            return await _receive(order_id, station_id, actor_id)
        except IntegrityError:
            # Two scans at once (unique order) or a code drawn twice (unique open code): the
            # loser retries and then sees the winner's pickup.
            if attempt == 2:
                raise Conflict("the parcel is being received right now; retry",
                               code=StationCode.RECEIVE_CONFLICT) from None
    raise AssertionError("unreachable")


async def receive_by_order_no(principal: Principal, station_id: int, order_no: str) -> PickupOut:
    """Staff scan a parcel in by its order number (until parcels come from the warehouse flow)."""
    principal.require_station(station_id)
    order_id = await Order.filter(order_no=order_no, station_id=station_id).values_list("id", flat=True)
    if not order_id:
        raise NotFound("order not found")
    if await _tracked_by_parcels(order_id[0]):
        # The warehouse flow records every transfer (完整、真实): its parcels are received by scanning
        # their labels at the station, which then calls receive_at_station itself.
        raise Conflict("this order travels as parcels: scan the parcel labels instead",
                       code=StationCode.PARCEL_TRACKED)
    return await receive_at_station(order_id[0], station_id, actor_id=principal.user_id)


async def _tracked_by_parcels(order_id: int) -> bool:
    return await Parcel.filter(order_id=order_id, direction="forward").exists()


# ---- verification (核销) ----------------------------------------------------------------------
def _window_keys(station_id: int, staff_ident: str) -> list[str]:
    return [kr.key("rl", RL_STAFF, staff_ident), kr.key("rl", RL_STATION, station_id)]


async def _take_attempt(station_id: int, staff_ident: str) -> None:
    """Take a slot in both wrong-code windows before checking (so parallel guesses cannot pass the
    limit together); 423 when the station is locked, 429 when this account must wait."""
    s = runtime.settings()
    res = await kr.script_batched("pickup_attempt", _window_keys(station_id, staff_ident),
                          [s.pickup_staff_wrong_limit, s.pickup_staff_wrong_window_seconds * 1000,
                           s.pickup_station_wrong_limit, s.pickup_station_wrong_window_seconds * 1000])
    verdict, ttl_ms = int(res[0]), int(res[1])
    if verdict == 2:
        raise StationLocked("too many wrong pickup codes at this station; an admin has been alerted",
                            details={"retry_after": max(1, (max(ttl_ms, 0) + 999) // 1000)})
    if verdict == 1:
        raise RateLimited("too many wrong pickup codes; wait before trying again",
                          retry_after=(max(ttl_ms, 0) + 999) // 1000,
code=StationCode.PICKUP_ATTEMPTS_EXCEEDED)


async def _release_attempt(station_id: int, staff_ident: str) -> None:
    await kr.script_batched("pickup_attempt_release", _window_keys(station_id, staff_ident), [])


async def _count_guess(station_id: int, staff_ident: str, actor_id: int) -> dict:
    """A wrong code keeps its slot; the guess that fills the station's window locks the station."""
    s = runtime.settings()
    pipe = kr.redis().pipeline(transaction=False)
    for k in _window_keys(station_id, staff_ident):
        pipe.get(k)
    pipe.pttl(kr.key("rl", RL_STATION, station_id))
    staff_n, station_n, ttl_ms = await pipe.execute()
    staff_n, station_n, ttl_ms = int(staff_n or 0), int(station_n or 0), max(int(ttl_ms), 1000)
    if station_n >= s.pickup_station_wrong_limit and await kr.redis().set(
            kr.key("pickup_lock_alert", station_id), 1, nx=True, px=ttl_ms):
        # Once per window: lock the station and tell the county office.
        until = clock.now() + timedelta(milliseconds=ttl_ms)
        async with atomic() as conn:
            await Station.filter(id=station_id).using_db(conn).update(pickup_locked_until=until)
            await StationAlert.create(
                station_id=station_id, kind="pickup_code_guessing",
                message=f"{station_n} wrong pickup codes within the hour; pickups locked",
                data={"wrong_codes": station_n, "last_staff_id": actor_id,
                      "locked_until": until.isoformat()}, using_db=conn)
            await audit.record(actor_id, "station.pickup_locked", "station", station_id,
                               {"until": until.isoformat()}, conn=conn)
        metrics.PICKUP_LOCKOUTS.inc()
        log.warning("station pickups locked after repeated wrong codes",
                    extra={"station_id": station_id, "until": until.isoformat()})
    return {"staff_wrong": staff_n, "station_wrong": station_n}


@dataclass(frozen=True, slots=True)
class Handover:
    """A pickup just handed over (核销), as the claim answers it."""
    id: int
    order_id: int
    order_no: str
    station_id: int
    buyer_id: int
    received_at: datetime
    deadline_at: datetime
    picked_up_at: datetime
    verified_by_id: int
    verify_method: str
    status: str = PickupStatus.PICKED_UP


VERIFY_ACTION = "pickup.verify"  # the audit entry of a hand-over


# The hand-over (核销), a hot write: close the open pickup, complete its order (the orders service's
# guarded transition, with its event) and audit it, all or nothing. None when there is no open pickup
# (wrong code, used, closed, another station's); 409 order_not_ready when the order was refunded or
# closed while the parcel waited (nothing changes). One interface, a PostgreSQL and an ORM
# implementation side by side (CLAIMS); one behaviour table (tests/inventory/test_hot_writes.py) runs both.
#
# PostgreSQL: one statement, which is its own transaction (no BEGIN and COMMIT round trips). `p` locks
# the open pickup first (a second verification of the same code waits, then finds it picked up; the
# pickup cannot change under the order's move), orders.pg_transition moves its order with the guard and
# event transition() has, and the pickup is closed and audited only when the order moved. $1 station,
# $2 code or pickup id, $3 now, $4 staff, $5 method, $6 the event's data, $7-$9 audit.origin().
_CLAIM_SQL = f"""
WITH p AS MATERIALIZED (
  SELECT k."id", k."order_id" FROM "pickups" k
  WHERE k."station_id" = $1 AND {{where}} AND k."status" = '{PickupStatus.READY}'
  FOR NO KEY UPDATE OF k
),
moving AS (
  SELECT p."order_id", $4::bigint AS actor_id, $3::timestamptz AS at, $6::jsonb AS data FROM p
),
{orders_service.pg_transition(OrderStatus.READY_FOR_PICKUP, OrderStatus.COMPLETED, stamped=("completed_at",)).strip()},
claimed AS (
  UPDATE "pickups" k SET "status" = '{PickupStatus.PICKED_UP}', "open_code" = NULL, "picked_up_at" = $3::timestamptz,
    "verified_by_id" = $4::bigint, "verify_method" = $5::text
  FROM p JOIN moved mv ON mv."id" = p."order_id"
  WHERE k."id" = p."id"
  RETURNING k."id", k."order_id", k."order_no", k."station_id", k."buyer_id", k."received_at", k."deadline_at"
),
audited AS (
  INSERT INTO "audit_log" ("actor_id", "action", "object_type", "object_id", "data", "request_id", "ip",
    "user_agent", "created_at")
  SELECT $4::bigint, '{VERIFY_ACTION}', 'order', c."order_id"::text,
    jsonb_build_object('pickup_id', c."id", 'station_id', c."station_id", 'method', $5::text),
    $7::text, $8::text, $9::text, $3::timestamptz
  FROM claimed c
)
SELECT p."order_id" AS ready_order_id, c."id", c."order_id", c."order_no", c."station_id", c."buyer_id",
  c."received_at", c."deadline_at"
FROM p LEFT JOIN claimed c ON c."id" = p."id"
"""
_CLAIM_BY = {"code": _CLAIM_SQL.replace("{where}", 'k."open_code" = $2::text'),
             "id": _CLAIM_SQL.replace("{where}", 'k."id" = $2::bigint')}


def _not_ready(details: Any) -> Conflict:
    return Conflict("the order is not ready for pickup", code=StationCode.ORDER_NOT_READY, details=details)


async def _claim_pg(conn: Any, station_id: int, *, code: str | None, pickup_id: int | None, now: datetime,
                    actor_id: int, method: str) -> Handover | None:
    """_CLAIM_SQL: one round trip for the whole hand-over."""
    rid, ip, ua = audit.origin()
    data = orjson.dumps(orders_service.event_data({"completed_at": now})).decode()
    sql, key = (_CLAIM_BY["code"], code) if code is not None else (_CLAIM_BY["id"], pickup_id)
    # execute_query_dict fetches (execute_query drops the rows of an UPDATE).
    rows = await conn.execute_query_dict(sql, [station_id, key, now, actor_id, method, data, rid, ip, ua])
    if not rows:
        return None
    r = rows[0]
    if r["id"] is None:  # the order was not ready_for_pickup: nothing was written
        exc = await orders_service.refusal(r["ready_order_id"], OrderStatus.READY_FOR_PICKUP,
                                           OrderStatus.COMPLETED, conn)
        raise _not_ready(exc.details)
    return Handover(id=r["id"], order_id=r["order_id"], order_no=r["order_no"], station_id=r["station_id"],
                    buyer_id=r["buyer_id"], received_at=r["received_at"], deadline_at=r["deadline_at"],
                    picked_up_at=now, verified_by_id=actor_id, verify_method=method)


async def _claim_orm(conn: Any, station_id: int, *, code: str | None, pickup_id: int | None, now: datetime,
                     actor_id: int, method: str) -> Handover | None:
    """A read, then a guarded update from ready (a concurrent claim of the same pickup changes nothing),
    the order's transition and the audit entry, in the caller's transaction (which a refusal rolls back)."""
    flt = {"open_code": code} if code is not None else {"id": pickup_id}
    p = await Pickup.filter(station_id=station_id, status=PickupStatus.READY, **flt).using_db(conn).first()
    if p is None:
        return None
    n = await Pickup.filter(id=p.id, status=PickupStatus.READY).using_db(conn).update(
        status=PickupStatus.PICKED_UP, open_code=None, picked_up_at=now, verified_by_id=actor_id,
        verify_method=method)
    if n != 1:
        return None
    try:
        await _transition(p.order_id, OrderStatus.READY_FOR_PICKUP, OrderStatus.COMPLETED, conn=conn,
                          actor_id=actor_id, completed_at=now)
    except Conflict as exc:  # refunded or closed meanwhile: nothing is handed over (rollback)
        raise _not_ready(exc.details) from None
    await audit.record(actor_id, VERIFY_ACTION, "order", p.order_id,
                       {"pickup_id": p.id, "station_id": station_id, "method": method}, conn=conn)
    return Handover(id=p.id, order_id=p.order_id, order_no=p.order_no, station_id=p.station_id,
                    buyer_id=p.buyer_id, received_at=p.received_at, deadline_at=p.deadline_at,
                    picked_up_at=now, verified_by_id=actor_id, verify_method=method)


CLAIMS = {"postgres": _claim_pg, "orm": _claim_orm}


async def _claim(station_id: int, **kw: Any) -> Handover | None:
    if dialect() == "postgres":  # one statement, its own transaction
        return await _claim_pg(Tortoise.get_connection("default"), station_id, **kw)
    async with atomic() as conn:
        return await _claim_orm(conn, station_id, **kw)


async def _explain_miss(station_id: int, code: str | None, pickup_id: int | None, now: datetime) -> AppError:
    """Why nothing was claimed: already picked up, closed, or a wrong code (a guess)."""
    if pickup_id is not None:
        p = await Pickup.get_or_none(id=pickup_id, station_id=station_id)
        if p is None:
            return NotFound("no such pickup at this station", code=StationCode.PICKUP_NOT_FOUND)
    else:
        p = await (Pickup.filter(station_id=station_id, code=code, status=PickupStatus.PICKED_UP,
                                 picked_up_at__gte=now - timedelta(days=30)).order_by("-id").first())
        if p is None:
            return NotFound("no open pickup with this code at this station",
                            code=StationCode.PICKUP_CODE_WRONG,
                            details=[{"field": "code", "message": "wrong code"}])
    if p.status == PickupStatus.PICKED_UP:
        return Conflict("already picked up", code=StationCode.ALREADY_PICKED_UP,
                        details={"picked_up_at": p.picked_up_at.isoformat() if p.picked_up_at else None,
                                 "verified_by": p.verified_by_id})
    return Conflict(f"this pickup is {p.status}",
                    code=StationCode.PICKUP_NOT_READY, details={"status": p.status})


async def _verify(principal: Principal, station_id: int, body: VerifyIn) -> Handover:
    now = clock.now()
    pickup_id = None
    if body.qr is not None:
        claim = codes.read_qr(body.qr)
        if claim.station_id != station_id:  # signed for another station: not here
            raise NotFound("no such pickup at this station", code=StationCode.PICKUP_NOT_FOUND)
        pickup_id = claim.pickup_id
    method = "qr" if body.qr is not None else "code"
    p = await _claim(station_id, code=body.code, pickup_id=pickup_id, now=now, actor_id=principal.user_id,
                     method=method)
    if p is None:
        raise await _explain_miss(station_id, body.code, pickup_id, now)
    return p


async def verify(principal: Principal, station_id: int, body: VerifyIn) -> VerifyOut:
    """Hand a parcel over on the buyer's code or QR: picked up once; wrong codes are rate-limited,
    every attempt audited."""
    principal.require_station(station_id)
    staff_ident = f"{principal.user_id}:{station_id}"
    attempt = {"station_id": station_id, "method": "qr" if body.qr is not None else "code",
               "code": body.code}
    try:
        await _take_attempt(station_id, staff_ident)
    except AppError as exc:
        attempt["error"] = exc.code
        metrics.PICKUP_VERIFICATIONS.labels(exc.code).inc()
        await audit.record(principal.user_id, "pickup.verify_failed", "station", station_id, attempt)
        raise
    guessed = False
    try:
        p = await _verify(principal, station_id, body)
    except AppError as exc:
        guessed = exc.code in GUESSES
        if guessed:
            attempt.update(await _count_guess(station_id, staff_ident, principal.user_id))
        attempt["error"] = exc.code
        metrics.PICKUP_VERIFICATIONS.labels(exc.code).inc()
        await audit.record(principal.user_id, "pickup.verify_failed", "station", station_id, attempt)
        raise
    finally:
        if not guessed:
            await _release_attempt(station_id, staff_ident)
    metrics.PICKUP_VERIFICATIONS.labels("picked_up").inc()
    # Built from the claim's own values (the database's and ours): nothing to validate again.
    return VerifyOut.model_construct(pickup=PickupOut.model_construct(
        id=p.id, order_id=p.order_id, order_no=p.order_no, station_id=p.station_id, status=p.status,
        received_at=p.received_at, deadline_at=p.deadline_at, picked_up_at=p.picked_up_at,
        verified_by=p.verified_by_id, verify_method=p.verify_method), result="picked_up")


# ---- buyer and staff views -------------------------------------------------------------------
async def buyer_pickup(principal: Principal, order_id: int) -> BuyerPickupOut:
    """The buyer's pickup card: station, code and QR while it waits, deadline."""
    p = await Pickup.get_or_none(order_id=order_id, buyer_id=principal.user_id)
    if p is None:
        raise NotFound("pickup not found")
    open_ = p.status == PickupStatus.READY
    return BuyerPickupOut(order_id=p.order_id, status=p.status, code=p.code if open_ else None,
                          qr_payload=codes.sign_qr(p.id, p.station_id, p.deadline_at) if open_ else None,
                          deadline_at=p.deadline_at, picked_up_at=p.picked_up_at,
                          station=await _station_card(p.station_id))


async def _station_card(station_id: int):
    try:
        return await public_station(station_id)
    except NotFound:  # suspended after the parcel arrived: the buyer still needs the address
        st = await Station.get(id=station_id)
        return PublicStationOut.model_validate(st)


def _local_midnight(now: datetime) -> datetime:
    local = now.astimezone(clock.SHANGHAI)
    return datetime.combine(local.date(), time(0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC)


def _overdue_before(now: datetime) -> datetime:
    hours = runtime.settings().pickup_reminder_hours
    return now - timedelta(hours=max(hours) if hours else 48)


async def list_pickups(principal: Principal, station_id: int, q: PickupListQuery) -> Page[PickupOut]:
    """The station's pickups by state, newest first."""
    principal.require_station(station_id)
    now = clock.now()
    qs = Pickup.filter(station_id=station_id)
    if q.state == "ready":
        qs = qs.filter(status=PickupStatus.READY)
    elif q.state == "overdue":
        qs = qs.filter(status=PickupStatus.READY, received_at__lte=_overdue_before(now))
    elif q.state == "arrived_today":
        qs = qs.filter(received_at__gte=_local_midnight(now))
    else:
        qs = qs.filter(status=q.state)
    rows, next_cursor = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return Page[PickupOut](items=[pickup_out(r) for r in rows], next_cursor=next_cursor)


async def get_pickup(principal: Principal, station_id: int, pickup_id: int) -> PickupOut:
    principal.require_station(station_id)
    p = await Pickup.get_or_none(id=pickup_id, station_id=station_id)
    if p is None:
        raise NotFound("pickup not found")
    return pickup_out(p)


async def workspace(principal: Principal, station_id: int) -> WorkspaceOut:
    """Today at the station: arrivals, waiting and overdue parcels, verifications, cash, fees."""
    principal.require_station(station_id)
    st = await Station.get_or_none(id=station_id)
    if st is None:
        raise NotFound("station not found")
    now = clock.now()
    midnight = _local_midnight(now)
    base = Pickup.filter(station_id=station_id)
    arrivals = await base.filter(received_at__gte=midnight).count()
    ready = await base.filter(status=PickupStatus.READY).count()
    overdue = await base.filter(status=PickupStatus.READY, received_at__lte=_overdue_before(now)).count()
    verified_today = await base.filter(status=PickupStatus.PICKED_UP, picked_up_at__gte=midnight).count()
    recent = await base.filter(status=PickupStatus.PICKED_UP).order_by("-picked_up_at").limit(10)
    alerts = await StationAlert.filter(station_id=station_id, acknowledged_at=None).count()
    cash, fees = await _ledger_figures(station_id)
    return WorkspaceOut(station=station_out(st), today=now.astimezone(clock.SHANGHAI).date().isoformat(),
                        arrivals_today=arrivals, ready=ready, overdue=overdue, verified_today=verified_today,
                        recent_verifications=[pickup_out(p) for p in recent], open_alerts=alerts,
                        cash_to_hand_over_fen=cash, fee_earnings_fen=fees)


async def _ledger_figures(station_id: int) -> tuple[int | None, int | None]:
    """Cash the station holds for the platform (代收现金) and its service-fee earnings, from the
    station's ledger account."""
    from tortoise.functions import Sum

    rows = await (LedgerEntry.filter(account_type="station", account_id=station_id)
                  .annotate(total=Sum("amount_fen")).group_by("kind").values("kind", "total"))
    by_kind = {r["kind"]: int(r["total"] or 0) for r in rows}
    fees = by_kind.get("station_fee", 0) + by_kind.get("station_fee_reversal", 0)
    # Custody entries are negative on the station's account: what it owes the platform.
    cash = -(by_kind.get("cash_custody", 0) + by_kind.get("cash_custody_reversal", 0)
             + by_kind.get("cash_handover", 0))  # less the hand-overs the centre confirmed (server/cash)
    return cash, fees


# ---- admin: alerts and locks ----------------------------------------------------------------
async def list_alerts(q: AlertQuery) -> Page[AlertOut]:
    """Alerts for the county office, newest first."""
    qs = StationAlert.all()
    if q.open:
        qs = qs.filter(acknowledged_at=None)
    rows, next_cursor = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return Page[AlertOut](items=[AlertOut.model_validate(r) for r in rows], next_cursor=next_cursor)


async def count_open_alerts() -> int:
    """Alerts (locked stations and the like) nobody has acknowledged yet."""
    return await StationAlert.filter(acknowledged_at=None).count()


async def acknowledge_alert(alert_id: int, *, actor_id: int) -> AlertOut:
    async with atomic() as conn:
        n = await StationAlert.filter(id=alert_id, acknowledged_at=None).using_db(conn).update(
            acknowledged_at=clock.now(), acknowledged_by_id=actor_id)
        alert = await StationAlert.get_or_none(id=alert_id, using_db=conn)
        if alert is None:
            raise NotFound("alert not found")
        if n:
            await audit.record(actor_id, "station.alert_ack", "station", alert.station_id,
                               {"alert_id": alert_id}, conn=conn)
    return AlertOut.model_validate(alert)


async def unlock_pickups(station_id: int, *, actor_id: int):
    """Lift a station's pickup lock (after the county office checked what happened)."""
    async with atomic() as conn:
        n = await Station.filter(id=station_id).using_db(conn).update(pickup_locked_until=None)
        if not n:
            raise NotFound("station not found")
        await audit.record(actor_id, "station.pickup_unlocked", "station", station_id, conn=conn)
    await kr.reset_limit(RL_STATION, str(station_id))
    await kr.redis().delete(kr.key("pickup_lock_alert", station_id))
    return station_out(await Station.get(id=station_id))
