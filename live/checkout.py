"""Selling on air: the orders source hook for {"kind": "live", "session_id": N}.

While the session is live, a tied-in SKU sells at its live price out of the session's quota: the Lua
gate admits the buyer (quota and per-buyer limit, atomically, before the order is written), then the
database takes the quota with conditional updates (the truth). The checkout then reserves stock the
usual way, so the resolver moves the units from the quota onto the shelf inside the same transaction:
net, quota -1 and reserved +1, stock unchanged. After the session, within the attribution window, an
order is attributed to the session and its livestreamer (commission) at the shelf price."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import orjson
from tortoise.expressions import F

from live import events, figures, gate
from server.inventory import service as inventory
from server.kit import clock, runtime
from server.kit import redis as kr
from server.kit.auth import load_principal
from server.kit.db import lock_rows, on_commit
from server.kit.errors import AppError, Conflict, KitCode, NotFound, Unauthorized, ValidationFailed
from server.kit.jobs import enqueue, job_record
from server.models.catalog import Sku
from server.models.live import LivePurchase, LiveSession, LiveTieIn, SessionStatus
from server.models.orders import OrderLine
from server.orders import hooks
from server.orders import service as orders
from server.orders.schemas import CheckoutIn
from live.errors import LiveCode

log = logging.getLogger("kazuo.live.checkout")
FIELD = "source.session_id"


def _sold_out(tiein_id: int, sku_id: int) -> Conflict:
    return Conflict("sold out in this live session", code=LiveCode.LIVE_SOLD_OUT,
                    details={"tiein_id": tiein_id, "sku_id": sku_id})


# The crowd's answer once the quota is gone, rendered once per tie-in and SKU: thousands of identical
# 409s a second are not each an exception raised, caught and rendered.
_SOLD_OUT_BODIES_MAX = 10_000
_sold_out_bodies: dict[tuple[int, int], bytes] = {}


def _sold_out_body(tiein_id: int, sku_id: int) -> bytes:
    key = (tiein_id, sku_id)
    body = _sold_out_bodies.get(key)
    if body is None:
        if len(_sold_out_bodies) >= _SOLD_OUT_BODIES_MAX:
            _sold_out_bodies.clear()
        body = _sold_out_bodies[key] = orjson.dumps(_sold_out(tiein_id, sku_id).body())
    return body


def _over_limit(tiein_id: int, sku_id: int, limit: int) -> Conflict:
    return Conflict(f"at most {limit} per buyer in this live session", code=LiveCode.LIVE_BUYER_LIMIT,
                    details={"tiein_id": tiein_id, "sku_id": sku_id, "per_buyer_limit": limit})


@dataclass(frozen=True)
class _Session:
    id: int
    status: str
    livestreamer_id: int
    commission_bp: int


@dataclass(frozen=True)
class _TieIn:
    id: int
    sku_id: int
    live_price: int
    per_buyer_limit: int
    commission_bp: int | None
    is_active: bool

    def rate(self, s: _Session) -> int:
        return s.commission_bp if self.commission_bp is None else self.commission_bp


_SESSION_SQL = ('SELECT s."status", s."livestreamer_id", s."commission_bp" AS "session_bp", t."id", '
                't."sku_id", t."live_price", t."per_buyer_limit", t."commission_bp", t."is_active" '
                'FROM "live_sessions" s LEFT JOIN "live_tieins" t ON t."session_id" = s."id" '
                'AND t."sku_id" {skus} WHERE s."id" = {sid}')


async def _session_and_tieins(conn, sid: int, skus: list[int]) -> tuple[_Session | None, list[_TieIn]]:
    """The session and its tie-ins (active or not) of these SKUs, in id order: one plain query (the
    worker writes a flash sale's orders while the buy button answers the crowd on the same cores)."""
    if conn.capabilities.dialect == "postgres":
        sql, args = _SESSION_SQL.format(skus="= ANY($1::bigint[])", sid="$2"), [skus, sid]
    else:
        sql, args = _SESSION_SQL.format(skus=f"IN ({','.join('?' * len(skus))})", sid="?"), [*skus, sid]
    rows = await conn.execute_query_dict(sql, args)
    if not rows:
        return None, []
    r = rows[0]
    s = _Session(id=sid, status=r["status"], livestreamer_id=r["livestreamer_id"],
                 commission_bp=r["session_bp"])
    ties = [_TieIn(id=r["id"], sku_id=r["sku_id"], live_price=r["live_price"],
                   per_buyer_limit=r["per_buyer_limit"], commission_bp=r["commission_bp"],
                   is_active=bool(r["is_active"]))
            for r in rows if r["id"] is not None]
    return s, sorted(ties, key=lambda t: t.id)


async def resolve(ctx: hooks.SourceContext) -> hooks.SourceResult:
    """Validate the live source, take the live quota, and price and attribute the order."""
    sid = ctx.source.get("session_id")
    if not isinstance(sid, int):
        raise ValidationFailed.field(FIELD, "a live source names its session")
    s, ties = await _session_and_tieins(ctx.conn, sid, sorted({ln.sku_id for ln in ctx.lines}))
    if s is None or s.status == SessionStatus.CANCELLED:
        raise ValidationFailed.field(FIELD, "no such live session")
    if s.status == SessionStatus.SCHEDULED:
        raise ValidationFailed.field(FIELD, "the live session has not started")
    if s.status == SessionStatus.ENDED:
        if ctx.holds:
            # Admitted on air at the live price; the session ended before the worker wrote the
            # order: not at the shelf price behind the buyer's back.
            raise Conflict("the live session ended before the order was written",
                           code=LiveCode.LIVE_SESSION_CLOSED)
        window = timedelta(hours=runtime.settings().live_attribution_window_hours)
        ended_at = (await LiveSession.filter(id=sid).using_db(ctx.conn).values_list("ended_at", flat=True))[0]
        if ended_at is None or clock.now() > ended_at + window:
            raise ValidationFailed.field(FIELD, "the live session's attribution window has closed")
        return hooks.SourceResult(live_session_id=s.id, livestreamer_id=s.livestreamer_id,
                                  commission_bp_by_sku={t.sku_id: t.rate(s) for t in ties})
    return await _take_quota(ctx, s, ties)


async def _take_quota(ctx: hooks.SourceContext, s: _Session, ties: list[_TieIn]) -> hooks.SourceResult:
    conn, buyer = ctx.conn, ctx.buyer_id
    qty: dict[int, int] = {}
    list_price: dict[int, int] = {}
    for ln in ctx.lines:
        qty[ln.sku_id] = qty.get(ln.sku_id, 0) + ln.quantity
        list_price[ln.sku_id] = ln.unit_price
    result = hooks.SourceResult(live_session_id=s.id, livestreamer_id=s.livestreamer_id)
    tieins = [t for t in ties if t.is_active]
    if not tieins:
        return result
    result.commission_bp_by_sku = {t.sku_id: t.rate(s) for t in ties}
    # 1. The gate, for every tied line, before the database is touched (the buy button may have
    # taken it already, before the checkout began).
    pre = ctx.holds
    holds: list[tuple[_TieIn, str]] = []
    for t in tieins:
        n = qty[t.sku_id]
        taken = pre.get(t.id)
        if taken is not None and taken[1] == n and taken[2] == buyer:
            holds.append((t, taken[0]))
            ctx.on_rollback.append(lambda t=t, h=taken[0], n=n: gate.give_back(t.id, buyer, n, h))
            continue
        r, hold = await _take(t.id, buyer, n, t.per_buyer_limit)
        if r == gate.OVER_LIMIT:
            raise _over_limit(t.id, t.sku_id, t.per_buyer_limit)
        if r != gate.TAKEN:
            gate.repair_soon(t.id)
            raise _sold_out(t.id, t.sku_id)
        holds.append((t, hold))
        # If the checkout fails after this point, the hold goes back (once: the script checks it).
        ctx.on_rollback.append(lambda t=t, h=hold, n=n: gate.give_back(t.id, buyer, n, h))
    # 2. The database, the truth: lock the order's SKU rows in id order first (the checkout's own
    # reservation locks them in the same order, so a mixed live + shelf order cannot deadlock with
    # another), then the tie-ins in id order.
    skus = sorted(qty)
    if len(skus) > 1:
        await lock_rows(Sku, skus, conn)
    for t, hold in holds:
        n = qty[t.sku_id]
        refused = await _take_in_db(conn, t, buyer, n)
        if refused is not None:
            # The gate was ahead of the database: give the hold back, then reload the gate.
            await gate.give_back(t.id, buyer, n, hold)
            await gate.load(t.id)
            raise refused
        result.unit_prices[t.sku_id] = t.live_price

    sold = [(t.id, qty[t.sku_id], min(t.live_price, list_price[t.sku_id]) * qty[t.sku_id]) for t, _ in holds]

    _after_commit(s.id, [(t.id, hold) for t, hold in holds], [(buyer, sold)])
    return result


def _after_commit(session_id: int, holds: list[tuple[int, str]],
                  sold: list[tuple[int, list[tuple[int, int, int]]]]) -> None:
    """Once the order(s) commit: their gate holds are done (one step), then the session's figures
    and the viewers' stock counts, best effort (an error must not turn placed orders into an error
    answer). sold: (buyer, [(tiein_id, units, amount)]) per order."""
    async def _committed() -> None:
        left = await gate.confirm_many(holds) if holds else {}
        try:
            pipe = kr.redis().pipeline(transaction=False)
            figures.record_orders(pipe, session_id, sold)
            for tid, remaining in left.items():
                pipe.publish(*events.message(session_id, "stock", {"tiein_id": tid, "remaining": remaining}))
            await pipe.execute()
        except Exception:  # noqa: BLE001
            log.warning("live figures/stock event after placed orders failed", exc_info=True)

    on_commit(_committed)


async def _take_in_db(conn, t: _TieIn, buyer: int, n: int) -> Conflict | None:
    """Count n units to the buyer (within the per-buyer limit) and take them from the tie-in's quota
    onto the shelf (the inventory's live take), for the checkout's reservation to take at once (net:
    quota -> reserved). None when done, else why not (the caller's transaction rolls back)."""
    within, taken = await inventory.live_take(conn, t.id, buyer, n, t.per_buyer_limit)
    if not within:
        return _over_limit(t.id, t.sku_id, t.per_buyer_limit)
    return None if taken else _sold_out(t.id, t.sku_id)


async def resolve_many(ctxs: list[hooks.SourceContext], conn) -> list[hooks.SourceResult]:
    """The live source for a batch of queued winners (orders.create_orders_together, called by the
    drain): every tied line must come with the gate hold its buyer was admitted with, and the quota of
    the whole batch is taken in one step (the inventory's live_take_many). Anything else refuses the
    batch: the drain then writes each order alone through resolve, which says exactly why."""
    sid = ctxs[0].source.get("session_id")
    s, ties = await _session_and_tieins(conn, sid, sorted({ln.sku_id for c in ctxs for ln in c.lines}))
    if s is None or s.status != SessionStatus.LIVE:
        raise orders.BatchRefused("the session is not live")
    active = {t.sku_id: t for t in ties if t.is_active}
    rates = {t.sku_id: t.rate(s) for t in ties}
    items: list[inventory.LiveTakeItem] = []
    holds: list[tuple[int, str]] = []
    sold: list[tuple[int, list[tuple[int, int, int]]]] = []
    results: list[hooks.SourceResult] = []
    for c in ctxs:
        r = hooks.SourceResult(live_session_id=s.id, livestreamer_id=s.livestreamer_id,
                               commission_bp_by_sku=dict(rates) if active else {})
        mine = []
        for ln in c.lines:
            t = active.get(ln.sku_id)
            if t is None:
                continue
            held = c.holds.get(t.id)
            if held is None or held[1] != ln.quantity or held[2] != c.buyer_id:
                raise orders.BatchRefused("a tied line without its gate hold")
            items.append(inventory.LiveTakeItem(t.id, c.buyer_id, ln.quantity, t.per_buyer_limit))
            holds.append((t.id, held[0]))
            r.unit_prices[t.sku_id] = t.live_price
            mine.append((t.id, ln.quantity, min(t.live_price, ln.unit_price) * ln.quantity))
        sold.append((c.buyer_id, mine))
        results.append(r)
    if items and await inventory.live_take_many(conn, items) != (True, True):
        raise orders.BatchRefused("the database refused part of the batch's quota")

    _after_commit(s.id, holds, sold)
    return results


async def release(order: hooks.ReleasedOrder, conn) -> None:
    """An unpaid order was cancelled (its units are back on the shelf): while the session is live
    they return to the session's quota; after it, they stay on the shelf."""
    if not order.live_session_id:
        return
    # Locked: a concurrent end of the session waits, so units never land in an ended session's quota.
    s = await LiveSession.filter(id=order.live_session_id).using_db(conn).select_for_update().first()
    if s is None:
        return
    qty: dict[int, int] = {}
    for sku_id, n in order.lines:
        qty[sku_id] = qty.get(sku_id, 0) + n
    live = s.status == SessionStatus.LIVE
    amounts: dict[int, int] = {}
    for sku_id, amount in await OrderLine.filter(order_id=order.order_id).using_db(conn).values_list(
            "sku_id", "amount"):
        amounts[sku_id] = amounts.get(sku_id, 0) + int(amount)
    given: list[tuple[int, int, int]] = []
    cancelled: list[tuple[int, int, int]] = []
    for t in sorted(await LiveTieIn.filter(session_id=s.id, sku_id__in=list(qty), is_active=True)
                    .using_db(conn), key=lambda t: t.id):
        n = qty[t.sku_id]
        if not live:
            continue
        # Only an order placed on air took quota (a scheduled session refuses the source, an ended
        # one takes none), so while the session is live every tied line of the order did.
        await LivePurchase.filter(tiein_id=t.id, buyer_id=order.buyer_id, quantity__gte=n).using_db(conn).update(
            quantity=F("quantity") - n)
        # Back into the quota, unless the shelf sold them meanwhile (the quota then stays smaller).
        back = await inventory.live_give_back(conn, t.id, t.sku_id, n, actor_id=order.buyer_id)
        given.append((t.id, n, n if back else 0))
        cancelled.append((t.id, n, amounts.get(t.sku_id, n * t.live_price)))

    async def _committed() -> None:
        for tid, n, to_quota in given:
            await gate.give_back(tid, order.buyer_id, n, to_quota=to_quota)
            await events.publish(s.id, "stock", {"tiein_id": tid, "remaining": await gate.remaining(tid)})
        for tid, n, amount in cancelled:
            await figures.record_cancel(s.id, tid, n, amount)

    if given:
        on_commit(_committed)


def register() -> None:
    hooks.register_source("live", resolve, on_release=release, resolve_many=resolve_many)


# ---- 立即抢购: the live room's buy button, and its queue (排队下单) -------------------------------------
# The checkout above decides; the buy button in front of it answers a crowd from Redis alone once the
# quota is gone or the buyer is at the limit, so a flash sale does not queue on the database. A buyer
# it admits holds a unit of the quota and gets a ticket at once (202); the order is written by the
# worker (`live.place_order`), and the ticket then shows it (or why it failed, the hold given back).
# The crowd's answers thus never wait behind the winners' transactions, which queue on the same rows.
_MAP_TTL = 1.0
_maps: dict[int, tuple[float, dict[int, tuple[int, int]] | None]] = {}
_loading: dict[int, asyncio.Future] = {}
_refreshing: set[int] = set()
TICKET_TTL_S = 24 * 3600
# A ticket the worker has not started within this is given up (its hold goes back): well inside the
# gate's hold TTL, after which the sweeper would give the hold back anyway.
QUEUE_WAIT_S = 20


async def _tiein_map(session_id: int) -> dict[int, tuple[int, int]] | None:
    """{sku_id: (tiein_id, per_buyer_limit)} of a live session (None if not live), cached for a
    second. An expired entry is served while one refresh runs in the background: when the pool is
    busy with checkouts the crowd must not queue behind a refresh (stale-while-revalidate)."""
    hit = _maps.get(session_id)
    now = time.monotonic()
    if hit is not None:
        if hit[0] <= now and session_id not in _refreshing:
            _refreshing.add(session_id)
            asyncio.ensure_future(_refresh(session_id))
        return hit[1]
    # The first load: one query for the whole crowd, which waits on one future and wakes at once
    # (waiters on a lock would wake one per turn of the event loop: hundreds of turns).
    loading = _loading.get(session_id)
    if loading is None:
        loading = _loading[session_id] = asyncio.ensure_future(load_map(session_id, now))
        loading.add_done_callback(lambda _: _loading.pop(session_id, None))
    return await asyncio.shield(loading)


def forget_session(session_id: int) -> None:
    """The session went live or ended here: this process reads its tie-ins afresh (others within
    _MAP_TTL; until then their buy buttons send buyers to the checkout, which gates them itself)."""
    _maps.pop(session_id, None)


async def _refresh(session_id: int) -> None:
    try:
        await load_map(session_id)
    except Exception:  # noqa: BLE001 - the stale entry stays; the next request tries again
        log.warning("live tie-in map refresh failed", exc_info=True)
    finally:
        _refreshing.discard(session_id)


async def load_map(session_id: int, now: float | None = None) -> dict[int, tuple[int, int]] | None:
    """Read a session's buy-button map afresh into this process's cache."""
    now = time.monotonic() if now is None else now
    s = await LiveSession.filter(id=session_id).only("id", "status").first()
    m = None
    if s is not None and s.status == SessionStatus.LIVE:
        rows = await LiveTieIn.filter(session_id=session_id, is_active=True).values_list(
            "sku_id", "id", "per_buyer_limit")
        m = {sku: (tid, lim) for sku, tid, lim in rows}
    if len(_maps) > 1000:
        _maps.clear()
    held = _maps.get(session_id)
    if held is None or held[0] <= now + _MAP_TTL:  # not over a map read after this one began
        _maps[session_id] = (now + _MAP_TTL, m)
    return m


def _checkout_body(session_id: int, data) -> dict:
    body = {"lines": [{"sku_id": data.sku_id, "quantity": data.quantity}], "fulfilment": data.fulfilment,
            "station_id": data.station_id, "note": data.note,
            "source": {"kind": "live", "session_id": session_id}}
    if data.address is not None:
        body["address"] = data.address.model_dump()
    return body


def _ticket_key(ticket: str) -> str:
    return kr.key("live", "ticket", ticket)


def _ticket_out(ticket: str, rec: dict, order=None) -> dict:
    return {"ticket": ticket, "status": rec["status"], "session_id": rec["session_id"],
            "sku_id": rec["sku_id"], "quantity": rec["qty"], "order": order, "error": rec.get("error")}


async def buy_now(buyer_id: int, token_version: int, session_id: int, data, idempotency_key: str | None, *,
                  verify) -> tuple[int, dict | bytes]:
    """The buy button: (202, queued ticket) for a buyer the gate admits, else (201, placed ticket
    with its order) when no quota is involved (the session is over, within its attribution window),
    or (409, the sold-out error body, rendered) while this process knows the quota is gone.
    An admitted buyer's account is checked in full by the worker before the order is written (a
    disabled account's ticket fails and its unit goes back); verify, the caller's full identity
    check, is run here only for an order placed at once."""
    orders.check_destination(data)  # before the buyer is admitted: no unit is held for a request
    m = await _tiein_map(session_id)  # that cannot become an order
    if m is None or data.sku_id not in m:
        # Nothing to queue for: the checkout decides at once (a session not live is a 422 there,
        # an ended one within its window attributes at the shelf price).
        principal = await verify()
        if principal.user_id != buyer_id:
            raise Unauthorized("invalid token", code=KitCode.INVALID_TOKEN)
        order = await orders.create_order(buyer_id, CheckoutIn.model_validate(_checkout_body(session_id, data)),
                                          idempotency_key=idempotency_key)
        rec = {"status": "placed", "session_id": session_id, "sku_id": data.sku_id, "qty": data.quantity}
        return 201, _ticket_out("", rec, order.model_dump(mode="json"))
    tiein_id, limit = m[data.sku_id]
    idem = kr.key("live", "ticket-key", buyer_id, idempotency_key) if idempotency_key else None
    # A repeated key is the same ticket, also while the quota is gone (the key is looked up first)
    mine = gate.ticket_for_key(idem)
    if mine is not None:
        return 202, await ticket_view(buyer_id, mine)
    if gate.sold_out_here(tiein_id):  # the crowd after the quota is gone: from memory
        return 409, _sold_out_body(tiein_id, data.sku_id)
    if idem is not None:
        prior = await kr.redis().get(idem)
        if prior is not None:
            return 202, await _keyed_ticket(buyer_id, idem, prior.decode())
    hold = gate.new_hold()
    rec = {"status": "queued", "buyer": buyer_id, "tv": token_version, "session_id": session_id,
           "tiein_id": tiein_id, "sku_id": data.sku_id, "qty": data.quantity, "at": gate.now_ms(),
           "key": idempotency_key or f"live-ticket-{hold}", "checkout": _checkout_body(session_id, data)}
    _checkout_in(rec["checkout"])  # the worker must be able to read it back: checked before anyone is admitted
    # The take, the ticket and its place in the order queue (with the queue's drain job, when none is
    # running) in one atomic step, and one round trip batched with the crowd's other takes: an
    # admitted buyer's answer waits for nothing else.
    job_keys, job_args = job_record("live.drain_orders", job_id=f"live.drain:{hold}")
    keys = [_ticket_key(hold), *_queue_keys(), *job_keys] + ([idem] if idem is not None else [])
    args = [orjson.dumps(rec), TICKET_TTL_S, *job_args, DRAIN_FLAG_MS]
    r, hold = await _take(tiein_id, buyer_id, data.quantity, limit, hold=hold, queue=(keys, args))
    if r == gate.KEY_TAKEN:  # the same request raced this one and won: its ticket
        return 202, await _keyed_ticket(buyer_id, idem, (await kr.redis().get(idem)).decode())
    if r == gate.OVER_LIMIT:
        raise _over_limit(tiein_id, data.sku_id, limit)
    if r != gate.TAKEN:
        gate.repair_soon(tiein_id)
        raise _sold_out(tiein_id, data.sku_id)
    if idem is not None:
        gate.remember_ticket(idem, hold, TICKET_TTL_S)
    return 202, _ticket_out(hold, rec)


async def _keyed_ticket(buyer_id: int, idem: str, ticket: str) -> dict:
    """The ticket an Idempotency-Key already has, remembered in this process from now on."""
    gate.remember_ticket(idem, ticket, TICKET_TTL_S)
    return await ticket_view(buyer_id, ticket)


async def _take(tiein_id: int, buyer_id: int, qty: int, limit: int, **kw) -> tuple[int, str]:
    """gate.take, loading a cold gate from the database once."""
    r, hold = await gate.take(tiein_id, buyer_id, qty, limit, **kw)
    if r == gate.COLD:
        await gate.load(tiein_id)
        r, hold = await gate.take(tiein_id, buyer_id, qty, limit, **kw)
    return r, hold


async def _save(ticket: str, rec: dict) -> None:
    await kr.redis().set(_ticket_key(ticket), orjson.dumps(rec), ex=TICKET_TTL_S)


# ---- the order queue's drain: the worker writes the queued tickets' orders, a batch at a time ----------
# A flash sale admits hundreds of winners in its first tenth of a second. One job per ticket cost the
# worker ~2.4 ms of CPU an order (arq's own round trips per job included) and wrote 70-124 orders/s;
# the tickets now wait in one queue (a zset, oldest first) and one drain job at a time writes them in
# batches of up to DRAIN_BATCH: one transaction per live session, its quota taken in one statement
# and its orders written in one (orders.create_orders_together: the same guarded writes, through the
# inventory owner, as one order). A batch that cannot be written whole is written order by order
# (place_order, the exact path that says why one fails). The drain flag says a drain is running or
# due; the take that finds it unset enqueues one (live_take.lua), and the drain clears it only when
# the queue is empty, in one step (live_drain.lua), so no ticket waits without a drain coming.
DRAIN_BATCH = 200
# The flag lives this long unless the drain that set it is running: a running drain renews it (every
# third of it), so a drain that died (its worker killed) is replaced this long after, by the watch
# (ensure_drain, every few seconds: live/jobs.py), well inside QUEUE_WAIT_S.
DRAIN_FLAG_MS = 5_000
DRAIN_SLICE_S = 20.0     # a drain hands over to a fresh job after this (well inside arq's job timeout)
# A drain's renewer stops on its own after this, whatever became of its drain: arq ends a job at its
# timeout (60 s, jobs/worker.py), so a flag renewed past that would only keep out the drain that
# replaces a lost one (a renewer left running once kept a flag alive with no drain behind it).
DRAIN_RENEW_S = 50.0
_CHECKOUTS_MAX = 1024
_checkouts: dict[bytes, CheckoutIn] = {}


def _queue_keys() -> list[str]:
    return [kr.key("live", "orderq"), kr.key("live", "orderq", "drain")]


def _checkout_in(body: dict) -> CheckoutIn:
    """A ticket's checkout, validated once per distinct body (a crowd pressing one button sends one):
    by the buy button before it admits anyone, by the worker when it writes the order."""
    key = orjson.dumps(body)
    hit = _checkouts.get(key)
    if hit is None:
        hit = CheckoutIn.model_validate(body)
        if len(_checkouts) >= _CHECKOUTS_MAX:
            _checkouts.clear()
        _checkouts[key] = hit
    return hit


async def drain_orders() -> dict:
    """Write the order queue's tickets until it is empty (or DRAIN_SLICE_S has passed: then a fresh
    drain job goes on). Returns counts by the tickets' new status."""
    q = _queue_keys()
    started = time.monotonic()
    counts: dict[str, int] = {}
    renewing = asyncio.ensure_future(_keep_flag(q[1]))
    try:
        while True:
            tickets = [t.decode() for t in await kr.redis().zrange(q[0], 0, DRAIN_BATCH - 1)]
            for status in await place_orders(tickets) if tickets else ():
                counts[status] = counts.get(status, 0) + 1
            if not int(await kr.script("live_drain", q, [DRAIN_FLAG_MS, *tickets])):
                return counts
            if time.monotonic() - started > DRAIN_SLICE_S:
                enqueue("live.drain_orders", job_id=f"live.drain:{gate.new_hold()}")  # the flag stays set
                return counts
    finally:
        renewing.cancel()


async def _keep_flag(flag: str) -> None:
    """While a drain runs (a batch held up in the database included), its flag stays set; for
    DRAIN_RENEW_S at most."""
    until = time.monotonic() + DRAIN_RENEW_S
    while time.monotonic() < until:
        await asyncio.sleep(DRAIN_FLAG_MS / 3000)
        try:
            await kr.redis().pexpire(flag, DRAIN_FLAG_MS)
        except Exception:  # noqa: BLE001 - Redis gone: the drain itself fails and runs again
            log.warning("could not renew the order queue's drain flag", exc_info=True)


async def ensure_drain() -> bool:
    """The watch's part: tickets wait and no drain is running or due (one died, its flag ran
    out): enqueue one. Returns whether it did."""
    q, flag = _queue_keys()
    if await kr.redis().zcard(q) and await kr.redis().set(flag, "sweep", nx=True, px=DRAIN_FLAG_MS):
        enqueue("live.drain_orders", job_id=f"live.drain:{gate.new_hold()}")
        return True
    return False


async def place_orders(tickets: list[str]) -> list[str]:
    """Write queued tickets' orders: together, one batch per live session, where they can be; alone
    (place_order) where not — a ticket queued too long, a buyer's second ticket of the same tie-in in
    the batch, an account that is disabled or signed out, a batch the database refused. Run twice,
    it finds the same orders. Returns each ticket's new status."""
    raws = await kr.redis().mget([_ticket_key(t) for t in tickets])
    status: dict[str, str] = {}
    queued: list[tuple[str, dict]] = []
    alone: list[str] = []
    pairs: set[tuple[int, int]] = set()
    now = gate.now_ms()
    for t, raw in zip(tickets, raws):
        rec = orjson.loads(raw) if raw else None
        if rec is None or rec["status"] != "queued":
            status[t] = rec["status"] if rec else "missing"
        elif now - rec["at"] > QUEUE_WAIT_S * 1000 or (rec["tiein_id"], rec["buyer"]) in pairs:
            alone.append(t)
        else:
            pairs.add((rec["tiein_id"], rec["buyer"]))
            queued.append((t, rec))
    # The buyers' accounts, checked as place_order checks one (a refusal there tells the buyer why).
    checks = await asyncio.gather(*[load_principal(rec["buyer"], rec["tv"]) for _, rec in queued],
                                  return_exceptions=True)
    sessions: dict[int, list[tuple[str, dict]]] = {}
    for (t, rec), check in zip(queued, checks):
        if isinstance(check, BaseException):
            alone.append(t)
        else:
            sessions.setdefault(rec["session_id"], []).append((t, rec))
    for group in sessions.values():
        try:
            ids = await orders.create_orders_together([orders.QueuedCheckout(
                buyer_id=rec["buyer"], data=_checkout_in(rec["checkout"]), key=rec["key"],
                holds={rec["tiein_id"]: (t, rec["qty"], rec["buyer"])}) for t, rec in group])
        except Exception as exc:  # noqa: BLE001 - nothing was written: each alone says why
            if not isinstance(exc, (orders.BatchRefused, AppError)):
                log.warning("a batch of queued live orders went order by order", exc_info=True)
            alone += [t for t, _ in group]
            continue
        pipe = kr.redis().pipeline(transaction=False)
        placed_at = gate.now_ms()
        for (t, rec), order_id in zip(group, ids):
            rec.update(status="placed", order_id=order_id, placed_at=placed_at)
            pipe.set(_ticket_key(t), orjson.dumps(rec), ex=TICKET_TTL_S)
            status[t] = "placed"
        await pipe.execute()
    for t in alone:
        status[t] = await place_order(t)
    return [status[t] for t in tickets]


async def place_order(ticket: str) -> str:
    """The worker writes a queued ticket's order with the hold the buy button took (run twice, it
    finds the same order by the ticket's idempotency key). Returns the ticket's new status."""
    raw = await kr.redis().get(_ticket_key(ticket))
    rec = orjson.loads(raw) if raw else None
    if rec is None or rec["status"] != "queued":
        return rec["status"] if rec else "missing"
    tiein_id, buyer, qty = rec["tiein_id"], rec["buyer"], rec["qty"]
    if gate.now_ms() - rec["at"] > QUEUE_WAIT_S * 1000:
        await gate.give_back(tiein_id, buyer, qty, ticket)
        rec.update(status="failed", error={"status": 409, "code": "live_queue_timeout",
                                           "message": "the order could not be written in time; try again",
                                           "details": None})
        await _save(ticket, rec)
        return "failed"
    try:
        await load_principal(buyer, rec["tv"])  # revoked or disabled since the token was issued: 401
        order = await orders.create_order(buyer, _checkout_in(rec["checkout"]),
                                          idempotency_key=rec["key"], holds={tiein_id: (ticket, qty, buyer)})
    except Exception as exc:  # noqa: BLE001 - the buyer is told why; the hold goes back (once)
        if not isinstance(exc, AppError):
            log.exception("queued live order failed", extra={"ticket": ticket})
            exc = AppError("the order could not be written; try again",
                           code=KitCode.INTERNAL_ERROR, status=500)
        await gate.give_back(tiein_id, buyer, qty, ticket)
        rec.update(status="failed", error={"status": exc.status, **exc.body()["error"]})
    else:
        rec.update(status="placed", order_id=order.id, placed_at=gate.now_ms())
    await _save(ticket, rec)
    return rec["status"]


async def ticket_view(buyer_id: int, ticket: str) -> dict:
    """The buyer's own ticket (another's is a 404), with the order once it is placed."""
    raw = await kr.redis().get(_ticket_key(ticket)) if ticket.isalnum() and len(ticket) <= 32 else None
    rec = orjson.loads(raw) if raw else None
    if rec is None or rec["buyer"] != buyer_id:
        raise NotFound("ticket not found")
    if rec["status"] == "placed":
        return _ticket_out(ticket, rec, (await orders.my_order(buyer_id, rec["order_id"])).model_dump(mode="json"))
    if rec["status"] == "queued" and gate.now_ms() - rec["at"] > gate.HOLD_TTL_MS:
        rec["status"] = "expired"  # the job was lost: the sweeper gives the hold back
    return _ticket_out(ticket, rec)
