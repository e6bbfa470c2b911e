"""Station cash hand-over (现金解缴). A village station takes cash for 代购 orders (the ledger's custody
pair: the station owes it). Station staff record the cash they hand to the county centre (pending);
the office counts it and confirms what it received (the ledger moves by that amount, through
server.ledger.post_cash_handover) or rejects it (nothing arrived: nothing moves). A received amount
that differs from the declared one is flagged and needs a note.

Rules: a hand-over is at most what the station owes less the hand-overs still pending (the station
row is locked while it is checked, so two counters cannot both hand over the same cash); a
confirmation at most what the station owes; a hand-over is decided once (guarded update from
pending)."""
from __future__ import annotations

import asyncio
from datetime import datetime, time

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from server.cash.schemas import (CashSummaryOut, ConfirmIn, HandoverIn, HandoversQuery, HandoverOut, RejectIn,
                                StationOwesOut)
from server.kit import audit, clock
from server.kit.auth import Principal
from server.kit.db import atomic, id_page, lock_rows, name_of
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.money import yuan
from server.kit.schemas import Page
from server.ledger import service as ledger
from server.models.cash import CashHandover, HandoverStatus
from server.models.ledger import LedgerEntry
from server.models.stations import Station
from server.cash.errors import CashCode


async def _pending_fen(station_id: int, conn=None) -> int:
    rows = await (CashHandover.filter(station_id=station_id, status=HandoverStatus.PENDING).using_db(conn)
                  .annotate(s=Sum("declared_fen")).values("s"))
    return int((rows[0]["s"] if rows else 0) or 0)


async def _outs(rows: list[CashHandover]) -> list[HandoverOut]:
    names = dict(await Station.filter(id__in={r.station_id for r in rows}).values_list("id", "name")) \
        if rows else {}
    return [HandoverOut.model_validate(r).model_copy(update={"station_name": names.get(r.station_id, "")})
            for r in rows]


async def summary(principal: Principal, station_id: int) -> CashSummaryOut:
    """What my station owes today: cash taken, pending hand-overs, what can be handed over now."""
    principal.require_station(station_id)
    st = await Station.get_or_none(id=station_id)
    if st is None:
        raise NotFound("station not found")
    midnight = datetime.combine(clock.local_today(), time(0), tzinfo=clock.SHANGHAI)
    today = await (LedgerEntry.filter(account_type="station", account_id=station_id, kind="cash_custody",
                                      created_at__gte=midnight)
                   .annotate(s=Sum("amount_fen"), n=Count("id")).values("s", "n"))
    confirmed = await (CashHandover.filter(station_id=station_id, status=HandoverStatus.CONFIRMED)
                       .annotate(s=Sum("received_fen")).values("s"))
    owed, pending = await ledger.station_cash_owed(station_id), await _pending_fen(station_id)
    return CashSummaryOut(station_id=st.id, station_name=st.name, owed_fen=owed, pending_fen=pending,
                          to_hand_over_fen=max(owed - pending, 0), taken_today_fen=-int(today[0]["s"] or 0),
                          cash_orders_today=int(today[0]["n"] or 0), confirmed_fen=int(confirmed[0]["s"] or 0))


async def stations_owing(limit: int = 200) -> list[StationOwesOut]:
    """For the office: the stations that owe cash (or have hand-overs waiting), the most owed first."""
    # side by side, names in each statement: each sequential read is one more event-loop turn under load
    owed_rows, pending_rows = await asyncio.gather(
        LedgerEntry.filter(account_type="station", kind__in=ledger.CASH_KINDS)
        .annotate(s=Sum("amount_fen"), name=name_of(Station, LedgerEntry, "account_id"))
        .group_by("account_id").values("account_id", "s", "name"),
        CashHandover.filter(status=HandoverStatus.PENDING)
        .annotate(s=Sum("declared_fen"), name=name_of(Station, CashHandover, "station_id"))
        .group_by("station_id").values("station_id", "s", "name"))
    owed = {r["account_id"]: -int(r["s"] or 0) for r in owed_rows}
    pending = {r["station_id"]: int(r["s"] or 0) for r in pending_rows}
    names = {**{r["account_id"]: r["name"] for r in owed_rows}, **{r["station_id"]: r["name"] for r in pending_rows}}
    ids = sorted({k for k, v in owed.items() if v} | set(pending), key=lambda i: (-owed.get(i, 0), i))[:limit]
    return [StationOwesOut(station_id=i, station_name=names.get(i, ""), owed_fen=owed.get(i, 0),
                           pending_fen=pending.get(i, 0)) for i in ids]


async def record(principal: Principal, station_id: int, body: HandoverIn) -> HandoverOut:
    """Record cash handed to the county centre (pending until the centre confirms it)."""
    principal.require_station(station_id)
    async with atomic() as conn:
        if not await lock_rows(Station, [station_id], conn):
            raise NotFound("station not found")
        room = await ledger.station_cash_owed(station_id, conn) - await _pending_fen(station_id, conn)
        if body.amount_fen > room:
            raise ValidationFailed.field("amount_fen", f"more than the station owes less the hand-overs waiting "
                                                       f"for the centre (at most ¥{yuan(max(room, 0))})")
        h = await CashHandover.create(station_id=station_id, declared_fen=body.amount_fen, note=body.note,
                                      handed_by=principal.user_id, using_db=conn)
        await audit.record(principal.user_id, "cash.handover", "station", station_id,
                           {"handover_id": h.id, "declared_fen": body.amount_fen}, conn=conn)
    return (await _outs([h]))[0]


def _filtered(qs, q: HandoversQuery):
    if q.status:
        qs = qs.filter(status=q.status)
    if q.flagged is not None:
        qs = qs.filter(flagged=q.flagged)
    return qs


async def station_handovers(principal: Principal, station_id: int, q: HandoversQuery) -> Page[HandoverOut]:
    """My station's hand-overs, newest first."""
    principal.require_station(station_id)
    rows, nxt = await id_page(_filtered(CashHandover.filter(station_id=station_id), q), q.cursor, q.limit,
                              newest_first=True)
    return Page[HandoverOut](items=await _outs(rows), next_cursor=nxt)


async def all_handovers(q: HandoversQuery) -> Page[HandoverOut]:
    """Every station's hand-overs for the office (pending first when asked with status=pending)."""
    qs = _filtered(CashHandover.annotate(station_name=name_of(Station, CashHandover, "station_id")), q)
    if q.station_id is not None:
        qs = qs.filter(station_id=q.station_id)
    rows, nxt = await id_page(qs, q.cursor, q.limit, newest_first=True)
    return Page[HandoverOut](items=[HandoverOut.model_validate(r) for r in rows], next_cursor=nxt)


async def get_handover(principal: Principal, handover_id: int) -> HandoverOut:
    """One hand-over: the office any, station staff their stations' (else 404)."""
    cond = Q(id=handover_id) if principal.is_admin else Q(id=handover_id, station_id__in=list(principal.station_ids))
    h = await CashHandover.filter(cond).first()
    if h is None:
        raise NotFound("hand-over not found")
    return (await _outs([h]))[0]


async def _pending_locked(handover_id: int, conn) -> CashHandover:
    rows = await lock_rows(CashHandover, [handover_id], conn)
    if not rows:
        raise NotFound("hand-over not found")
    if rows[0].status != HandoverStatus.PENDING:
        raise Conflict(f"the hand-over was already {rows[0].status}", code=CashCode.HANDOVER_DECIDED)
    return rows[0]


async def _decide(h: CashHandover, conn, **values) -> None:
    n = await CashHandover.filter(id=h.id, status=HandoverStatus.PENDING).using_db(conn).update(
        decided_at=clock.now(), **values)
    if not n:  # SQLite ignores the lock: the guarded update is what decides once
        raise Conflict("the hand-over was already decided", code=CashCode.HANDOVER_DECIDED)


async def confirm(handover_id: int, body: ConfirmIn, *, actor_id: int) -> HandoverOut:
    """The centre counted the cash: the station's debt falls by received_fen (ledger), a difference
    from the declared amount is flagged (and needs a note)."""
    async with atomic() as conn:
        h = await _pending_locked(handover_id, conn)
        await lock_rows(Station, [h.station_id], conn)
        owed = await ledger.station_cash_owed(h.station_id, conn)
        if body.received_fen > owed:
            raise ValidationFailed.field("received_fen", f"more than the station owes (¥{yuan(owed)}); count again")
        diff = body.received_fen - h.declared_fen
        if diff and not body.note:
            raise ValidationFailed.field("note", "the received amount differs from the declared one: say why")
        await _decide(h, conn, status=HandoverStatus.CONFIRMED, received_fen=body.received_fen,
                      difference_fen=diff, flagged=diff != 0, decided_by=actor_id, decision_note=body.note)
        await ledger.post_cash_handover(h.id, h.station_id, body.received_fen, conn)
        await audit.record(actor_id, "cash.confirm", "station", h.station_id,
                           {"handover_id": h.id, "declared_fen": h.declared_fen, "received_fen": body.received_fen,
                            "difference_fen": diff}, conn=conn)
    return (await _outs([await CashHandover.get(id=h.id)]))[0]


async def reject(handover_id: int, body: RejectIn, *, actor_id: int) -> HandoverOut:
    """Nothing arrived: the hand-over is closed and the ledger never moves."""
    async with atomic() as conn:
        h = await _pending_locked(handover_id, conn)
        await _decide(h, conn, status=HandoverStatus.REJECTED, decided_by=actor_id, decision_note=body.note)
        await audit.record(actor_id, "cash.reject", "station", h.station_id,
                           {"handover_id": h.id, "declared_fen": h.declared_fen}, conn=conn)
    return (await _outs([await CashHandover.get(id=h.id)]))[0]
