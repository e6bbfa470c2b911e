"""Livestream commerce services: livestreamer profiles, rooms, sessions and their stream URLs, product
tie-ins with live price and quota, the on-air product (讲解中), the session lifecycle driven by Aliyun
callbacks and the reconcile job, real-time and stored figures."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.functions import Count, Sum

from live import events, figures, gate, signing
from live.schemas import (CommissionEntry, FiguresOut, PlayOut, ProductFigures, ProfileIn, ProfileOut,
                          ProfileSession, PushOut, RoomIn, RoomOut, SessionIn, SessionOut, SessionPatch,
                          SessionsQuery, SessionView, TieInIn, TieInOut, TieInPatch, TraineeLinkIn)
from server.inventory import service as inventory
from server.inventory.errors import StockRefused
from server.consent import service as consent
from server.kit import audit, clock, runtime
from server.kit.auth import Principal, Role
from server.kit.db import atomic, lock_rows, on_commit
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.kit.schemas import Page, decode_cursor, encode_cursor
from server.models.catalog import Product, Sku
from server.models.live import (LiveRoom, LiveSession, LiveSessionFigures, LiveStreamEvent, LiveTieIn,
                                LivestreamerProfile, SessionStatus)
from server.models.merchants import Merchant
from server.trace import hooks as trace_hooks
from live.errors import LiveCode
from server.models.orders import Order, OrderStatus
from live.checkout import forget_session, load_map
from server.models.ledger import LedgerEntry
from server.models.training import Trainee

log = logging.getLogger("kazuo.live")
OPEN = (SessionStatus.SCHEDULED, SessionStatus.LIVE)


# ---- scope --------------------------------------------------------------------------------------
def _is_streamer(p: Principal) -> bool:
    return p.has(Role.livestreamer) or p.is_admin


async def _session_for_host(session_id: int, p: Principal, conn=None) -> LiveSession:
    """The session if the caller runs it (its livestreamer) or is an admin; else 404."""
    s = await LiveSession.get_or_none(id=session_id).using_db(conn) if conn else \
        await LiveSession.get_or_none(id=session_id)
    if s is None or not (p.is_admin or s.livestreamer_id == p.user_id):
        raise NotFound("session not found")
    return s


def _can_manage_tieins(s: LiveSession, p: Principal) -> bool:
    """The livestreamer, an admin, or a member of the merchant the room sells for."""
    return p.is_admin or s.livestreamer_id == p.user_id or (
        s.merchant_id is not None and s.merchant_id in p.merchant_ids)


# ---- profile ------------------------------------------------------------------------------------
async def upsert_profile(p: Principal, body: ProfileIn) -> ProfileOut:
    """Create or update the caller's livestreamer profile (主播资料)."""
    async with atomic() as conn:
        prof = await LivestreamerProfile.filter(user_id=p.user_id).using_db(conn).select_for_update().first()
        if prof is None:
            prof = await LivestreamerProfile.create(user_id=p.user_id, display_name=body.display_name,
                                                    avatar=body.avatar, bio=body.bio, using_db=conn)
        else:
            prof.display_name, prof.avatar, prof.bio = body.display_name, body.avatar, body.bio
            await prof.save(using_db=conn, update_fields=["display_name", "avatar", "bio", "updated_at"])
    return await profile(p.user_id, p)


async def link_trainee(user_id: int, body: TraineeLinkIn, actor: Principal) -> ProfileOut:
    """Admin: link a livestreamer to their trainee record (学员档案) / the incubation base."""
    async with atomic() as conn:
        prof = await LivestreamerProfile.filter(user_id=user_id).using_db(conn).select_for_update().first()
        if prof is None:
            raise NotFound("livestreamer not found")
        if body.trainee_id is not None:
            if not await Trainee.filter(id=body.trainee_id).using_db(conn).exists():
                raise ValidationFailed.field("trainee_id", "no such trainee")
        prof.trainee_id, prof.incubation_base = body.trainee_id, body.incubation_base
        await prof.save(using_db=conn, update_fields=["trainee_id", "incubation_base", "updated_at"])
        await audit.record(actor.user_id, "live.trainee_link", "livestreamer", user_id,
                           {"trainee_id": body.trainee_id, "incubation_base": body.incubation_base}, conn=conn)
    return await profile(user_id, actor)


async def profile(user_id: int, viewer: Principal | None) -> ProfileOut:
    """A livestreamer's profile: sessions and GMV for all; commission history for self and admins."""
    prof = await LivestreamerProfile.get_or_none(user_id=user_id)
    if prof is None:
        raise NotFound("livestreamer not found")
    sessions = await LiveSession.filter(livestreamer_id=user_id).exclude(
        status=SessionStatus.CANCELLED).order_by("-scheduled_at", "-id").limit(20)
    counted = (OrderStatus.PAID, OrderStatus.IN_FULFILMENT, OrderStatus.READY_FOR_PICKUP,
               OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    per_session = {r["live_session_id"]: r for r in await Order.filter(
        livestreamer_id=user_id, status__in=counted).group_by("live_session_id").annotate(
        n=Count("id"), gmv=Sum("paid_fen")).values("live_session_id", "n", "gmv")}
    total = await Order.filter(livestreamer_id=user_id, status__in=counted).annotate(
        gmv=Sum("paid_fen"), ref=Sum("refunded_fen")).first().values("gmv", "ref")
    gmv = int(total["gmv"] or 0) - int(total["ref"] or 0)
    full = viewer is not None and (viewer.is_admin or viewer.user_id == user_id)
    commission_fen = None
    commissions = None
    if full:
        # The settlement ledger is the truth of what the livestreamer earned: commission posted on
        # sale, reversed on refund (server/ledger).
        entries = await LedgerEntry.filter(account_type="livestreamer", account_id=user_id).values_list(
            "order_id", "amount_fen")
        by_order: dict[int, int] = {}
        for oid, amount in entries:
            by_order[oid] = by_order.get(oid, 0) + int(amount)
        commission_fen = sum(by_order.values())
        orders = await Order.filter(id__in=list(by_order)).order_by("-paid_at", "-id").limit(50).values(
            "id", "order_no", "live_session_id", "status", "completed_at")
        commissions = [CommissionEntry(order_id=o["id"], order_no=o["order_no"],
                                       session_id=o["live_session_id"], status=o["status"],
                                       commission_fen=by_order[o["id"]], completed_at=o["completed_at"])
                       for o in orders]
    return ProfileOut(
        user_id=user_id, display_name=prof.display_name, avatar=prof.avatar, bio=prof.bio,
        trainee_id=prof.trainee_id if full else None, incubation_base=prof.incubation_base,
        sessions=await LiveSession.filter(livestreamer_id=user_id, status=SessionStatus.ENDED).count(),
        gmv_fen=gmv, commission_fen=commission_fen, commissions=commissions,
        recent_sessions=[ProfileSession(id=s.id, title=s.title, status=s.status, scheduled_at=s.scheduled_at,
                                        started_at=s.started_at, ended_at=s.ended_at,
                                        gmv_fen=int((per_session.get(s.id) or {}).get("gmv") or 0),
                                        orders=int((per_session.get(s.id) or {}).get("n") or 0))
                         for s in sessions])


# ---- rooms and sessions -------------------------------------------------------------------------
async def create_room(p: Principal, body: RoomIn) -> RoomOut:
    """Open a room (直播间) for the calling livestreamer."""
    if body.on_behalf == "merchant":
        if body.merchant_id is None:
            raise ValidationFailed.field("merchant_id", "a room on behalf of a merchant names it")
        if not await Merchant.filter(id=body.merchant_id, status="active").exists():
            raise ValidationFailed.field("merchant_id", "no such active merchant")
    elif body.merchant_id is not None:
        raise ValidationFailed.field("merchant_id", "only a room on behalf of a merchant names one")
    if not await LivestreamerProfile.filter(user_id=p.user_id).exists():
        raise Conflict("set up your livestreamer profile first", code=LiveCode.LIVE_PROFILE_MISSING)
    async with atomic() as conn:
        room = await LiveRoom.create(owner_id=p.user_id, title=body.title, on_behalf=body.on_behalf,
                                     merchant_id=body.merchant_id,
                                     default_commission_bp=body.default_commission_bp, using_db=conn)
        await audit.record(p.user_id, "live.room_create", "live_room", room.id, conn=conn)
    return RoomOut.model_validate(room)


async def my_rooms(p: Principal) -> list[RoomOut]:
    return [RoomOut.model_validate(r) for r in await LiveRoom.filter(owner_id=p.user_id).order_by("id")]


async def create_session(p: Principal, room_id: int, body: SessionIn) -> SessionOut:
    """Schedule a session (直播预告) in one of the caller's rooms."""
    room = await LiveRoom.get_or_none(id=room_id)
    if room is None or not (room.owner_id == p.user_id or p.is_admin) or not room.is_active:
        raise NotFound("room not found")
    if body.scheduled_at < clock.now() - timedelta(hours=1):
        raise ValidationFailed.field("scheduled_at", "the start time is in the past")
    async with atomic() as conn:
        s = await LiveSession.create(
            room_id=room.id, livestreamer_id=room.owner_id, merchant_id=room.merchant_id, title=body.title,
            cover=body.cover, scheduled_at=body.scheduled_at,
            stream_name=f"s{secrets.token_hex(10)}",
            commission_bp=room.default_commission_bp if body.commission_bp is None else body.commission_bp,
            using_db=conn)
        await audit.record(p.user_id, "live.session_create", "live_session", s.id, conn=conn)
    return await session_out(s)


async def update_session(p: Principal, session_id: int, body: SessionPatch) -> SessionOut:
    """Change a scheduled or live session's title, cover, time or commission rate."""
    async with atomic() as conn:
        s = await _session_for_host(session_id, p, conn)
        if s.status not in OPEN:
            raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
        fields = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        if "scheduled_at" in fields and s.status != SessionStatus.SCHEDULED:
            raise ValidationFailed.field("scheduled_at", "the session has started")
        if fields:
            n = await LiveSession.filter(id=s.id, status__in=OPEN).using_db(conn).update(
                version=F("version") + 1, **fields)
            if not n:
                raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
    await _changed(session_id, "session")
    return await session_out(await LiveSession.get(id=session_id))


async def _names(user_ids: list[int]) -> dict[int, str]:
    rows = await LivestreamerProfile.filter(user_id__in=user_ids).values_list("user_id", "display_name")
    return dict(rows)


async def session_out(s: LiveSession, names: dict[int, str] | None = None) -> SessionOut:
    names = names if names is not None else await _names([s.livestreamer_id])
    return SessionOut(id=s.id, room_id=s.room_id, livestreamer_id=s.livestreamer_id,
                      livestreamer_name=names.get(s.livestreamer_id, ""), merchant_id=s.merchant_id,
                      title=s.title, cover=s.cover, scheduled_at=s.scheduled_at, status=s.status,
                      started_at=s.started_at, ended_at=s.ended_at, commission_bp=s.commission_bp,
                      on_air_tiein_id=s.on_air_tiein_id, version=s.version)


async def list_sessions(p: Principal | None, q: SessionsQuery) -> Page[SessionOut]:
    """Sessions newest first: public ones (scheduled/live/ended), or the caller's own with mine=true."""
    qs = LiveSession.all()
    if q.mine:
        if p is None:
            raise ValidationFailed.field("mine", "log in to list your own sessions")
        qs = qs.filter(livestreamer_id=p.user_id)
    else:
        qs = qs.exclude(status=SessionStatus.CANCELLED)
    if q.status:
        qs = qs.filter(status=q.status)
    cur = decode_cursor(q.cursor, 2)
    if cur:
        if not isinstance(cur[0], str) or not isinstance(cur[1], int):
            raise ValidationFailed.field("cursor", "malformed cursor")
        try:
            at = datetime.fromisoformat(cur[0])
        except ValueError:
            raise ValidationFailed.field("cursor", "malformed cursor") from None
        from tortoise.expressions import Q

        qs = qs.filter(Q(scheduled_at__lt=at) | Q(scheduled_at=at, id__lt=cur[1]))
    rows = await qs.order_by("-scheduled_at", "-id").limit(q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    names = await _names(list({r.livestreamer_id for r in rows}))
    items = [await session_out(r, names) for r in rows]
    nxt = encode_cursor([rows[-1].scheduled_at.isoformat(), rows[-1].id]) if more else None
    return Page[SessionOut](items=items, next_cursor=nxt)


def _epoch() -> int:
    return int(clock.now().timestamp())


async def push_url(p: Principal, session_id: int) -> PushOut:
    """The signed RTMP push URL (推流地址), for the session's livestreamer only."""
    s = await _session_for_host(session_id, p)
    if s.status not in OPEN:
        raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
    url, exp = signing.push_url(runtime.settings(), s.stream_name, _epoch())
    return PushOut(push_url=url, expires_at=exp, stream_name=s.stream_name)


async def play_urls(session_id: int, p: Principal | None) -> PlayOut:
    """Signed play URLs (FLV/HLS/RTMP) of a public session."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or s.status == SessionStatus.CANCELLED:
        raise NotFound("session not found")
    if s.status != SessionStatus.LIVE:
        raise Conflict("the session is not live", code=LiveCode.LIVE_NOT_LIVE)
    return PlayOut(**signing.play_urls(runtime.settings(), s.stream_name, _epoch(),
                                       p.user_id if p is not None else 0))


# ---- tie-ins ------------------------------------------------------------------------------------
async def _tiein_out(rows: list[LiveTieIn]) -> list[TieInOut]:
    skus = {s.id: s for s in await Sku.filter(id__in=[t.sku_id for t in rows])}
    products = {p.id: p for p in await Product.filter(id__in=[t.product_id for t in rows])}
    out = []
    for t in rows:
        sku, prod = skus[t.sku_id], products[t.product_id]
        out.append(TieInOut(id=t.id, sku_id=t.sku_id, product_id=t.product_id, merchant_id=t.merchant_id,
                            product_name=prod.name, sku_spec=sku.spec,
                            image=(prod.images[0] if prod.images else "") if isinstance(prod.images, list) else "",
                            list_price=sku.list_price, live_price=t.live_price, quota=t.quota,
                            remaining=t.remaining, sold=t.sold, per_buyer_limit=t.per_buyer_limit,
                            commission_bp=t.commission_bp, sort=t.sort))
    return out


async def attach(p: Principal, session_id: int, body: TieInIn) -> TieInOut:
    """Tie a SKU to a session at a live price, taking its quota out of sellable stock."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or not _can_manage_tieins(s, p):
        raise NotFound("session not found")
    sku = await Sku.get_or_none(id=body.sku_id).prefetch_related("product")
    if sku is None or not sku.is_active:
        raise ValidationFailed.field("sku_id", "no such SKU")
    prod = sku.product
    if prod.status != "on_sale" or not await Merchant.filter(id=prod.merchant_id, status="active").exists():
        raise ValidationFailed.field("sku_id", "the product is not on sale")
    if not (p.is_admin or s.livestreamer_id == p.user_id) and prod.merchant_id not in p.merchant_ids:
        # a merchant member ties in their own goods only
        raise ValidationFailed.field("sku_id", "no such SKU")
    if body.live_price > sku.list_price:
        raise ValidationFailed.field("live_price", f"the live price must not exceed the list price ({sku.list_price})")
    # Another merchant's goods only with its consent (a proposal it accepted, or the 选品池).
    await consent.check(s, p, sku, prod.merchant_id, live_price=body.live_price, quota=body.quota,
                        commission_bp=s.commission_bp if body.commission_bp is None else body.commission_bp)
    limit = body.per_buyer_limit or runtime.settings().live_default_per_buyer_limit
    async with atomic() as conn:
        if await LiveSession.filter(id=s.id, status__in=OPEN).using_db(conn).count() == 0:
            raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
        if await LiveTieIn.filter(session_id=s.id, sku_id=sku.id).using_db(conn).exists():
            raise Conflict("this SKU is already tied to the session", code=LiveCode.LIVE_TIEIN_EXISTS)
        t = await LiveTieIn.create(session_id=s.id, sku_id=sku.id, product_id=prod.id,
                                   merchant_id=prod.merchant_id, live_price=body.live_price, per_buyer_limit=limit,
                                   commission_bp=body.commission_bp, sort=body.sort, using_db=conn)
        # The quota leaves the shelf now (the inventory's guarded move, never above sellable stock).
        await _quota_from_shelf(conn, t.id, sku.id, body.quota, "quota", p.user_id)
        t = await LiveTieIn.get(id=t.id, using_db=conn)
        await LiveSession.filter(id=s.id).using_db(conn).update(version=F("version") + 1)
        await audit.record(p.user_id, "live.tiein_attach", "live_session", s.id,
                           {"tiein_id": t.id, "sku_id": sku.id, "quota": body.quota,
                            "live_price": body.live_price}, conn=conn)
        on_commit(lambda: gate.load(t.id))
    await _changed(s.id, "tieins")
    return (await _tiein_out([t]))[0]


async def _tiein_for(p: Principal, tiein_id: int, conn=None) -> tuple[LiveTieIn, LiveSession]:
    t = await LiveTieIn.get_or_none(id=tiein_id)
    s = await LiveSession.get_or_none(id=t.session_id) if t is not None else None
    if t is None or s is None or not t.is_active or not _can_manage_tieins(s, p) or not (
            p.is_admin or s.livestreamer_id == p.user_id or t.merchant_id in p.merchant_ids):
        raise NotFound("tie-in not found")
    return t, s


async def update_tiein(p: Principal, tiein_id: int, body: TieInPatch) -> TieInOut:
    """Change a tie-in's live price, limit, rate or order, or top up its quota from the shelf."""
    t, s = await _tiein_for(p, tiein_id)
    sku = await Sku.get(id=t.sku_id)
    if body.live_price is not None and body.live_price > sku.list_price:
        raise ValidationFailed.field("live_price", f"the live price must not exceed the list price ({sku.list_price})")
    changed = body.model_dump(exclude_unset=True)
    if {"live_price", "commission_bp", "add_quota"} & changed.keys():
        rate = changed["commission_bp"] if "commission_bp" in changed else t.commission_bp
        await consent.check(s, p, sku, t.merchant_id, live_price=body.live_price or t.live_price,
                            commission_bp=s.commission_bp if rate is None else rate,
                            quota=t.quota + (body.add_quota or 0))
    async with atomic() as conn:
        if await LiveSession.filter(id=s.id, status__in=OPEN).using_db(conn).count() == 0:
            raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
        upd: dict = {k: v for k, v in body.model_dump(exclude_unset=True).items()
                     if k in ("live_price", "per_buyer_limit", "commission_bp", "sort")}
        if "live_price" in upd and upd["live_price"] is None:
            del upd["live_price"]
        if body.add_quota:
            await _quota_from_shelf(conn, t.id, t.sku_id, body.add_quota, "add_quota", p.user_id)
            if not upd:
                await LiveSession.filter(id=s.id).using_db(conn).update(version=F("version") + 1)
                await audit.record(p.user_id, "live.tiein_update", "live_session", s.id,
                                   {"tiein_id": t.id, **body.model_dump(exclude_unset=True)}, conn=conn)
        if upd:
            n = await LiveTieIn.filter(id=t.id, is_active=True).using_db(conn).update(**upd)
            if not n:
                raise NotFound("tie-in not found")
            await LiveSession.filter(id=s.id).using_db(conn).update(version=F("version") + 1)
            await audit.record(p.user_id, "live.tiein_update", "live_session", s.id,
                               {"tiein_id": t.id, **body.model_dump(exclude_unset=True)}, conn=conn)
    if body.add_quota or body.per_buyer_limit is not None:
        await gate.load(t.id)  # committed: the gate takes the new quota from the database now
    await _changed(s.id, "tieins")
    return (await _tiein_out([await LiveTieIn.get(id=t.id)]))[0]


async def _quota_from_shelf(conn, tiein_id: int, sku_id: int, qty: int, field: str, actor_id: int) -> None:
    """Set a tie-in's quota aside from the shelf (the inventory's move); too little stock is a 422
    naming the field the streamer typed."""
    try:
        await inventory.to_live(conn, tiein_id, sku_id, qty, actor_id=actor_id)
    except StockRefused:
        raise ValidationFailed.field(field, "the quota is above the sellable stock") from None


async def _return_to_shelf(tieins: list[LiveTieIn], conn, *, actor_id: int | None = None) -> list[int]:
    """Give the unsold quota of locked tie-ins back to sellable stock; returns their ids."""
    return await inventory.from_live(conn, tieins, actor_id=actor_id)


async def withdraw_tieins(sku_ids: list[int], conn, *, batch_id: int | None = None,
                          actor_id: int | None = None) -> list[int]:
    """Withdraw every active tie-in of these SKUs (a recall): unsold quota back to the (now off-sale)
    shelf, the tie-in detached and off air, in the caller's transaction. Returns the tie-in ids; after
    the commit call tieins_withdrawn with them."""
    ids = list(await LiveTieIn.filter(sku_id__in=sku_ids, is_active=True).using_db(conn)
               .values_list("id", flat=True))
    if not ids:
        return []
    locked = [t for t in await lock_rows(LiveTieIn, ids, conn) if t.is_active]
    await inventory.from_live(conn, locked, ref_type="batch" if batch_id else "live_tiein", ref_id=batch_id,
                              actor_id=actor_id)
    for t in locked:
        await LiveTieIn.filter(id=t.id).using_db(conn).update(is_active=False)
        await LiveSession.filter(id=t.session_id, on_air_tiein_id=t.id).using_db(conn).update(on_air_tiein_id=None)
        await LiveSession.filter(id=t.session_id).using_db(conn).update(version=F("version") + 1)
    return ids


async def tieins_withdrawn(tiein_ids: list[int]) -> int:
    """After a withdrawal's commit: drop the tie-ins' flash gates and show their live rooms the new
    product list (safe to run twice); returns the number of sessions told."""
    for tid in tiein_ids:
        await gate.drop(tid)
    sessions = sorted(set(await LiveTieIn.filter(id__in=tiein_ids).values_list("session_id", flat=True)))
    for sid in sessions:
        await publish_view(sid, "tieins")
    return len(sessions)


def register_recall() -> None:
    """Trace's recall calls these (server/trace/hooks.py): live owns the quota-back-to-the-shelf rule."""
    trace_hooks.register_live(withdraw=withdraw_tieins, after=tieins_withdrawn)


async def detach(p: Principal, tiein_id: int) -> None:
    """Take a product out of the session; its unsold quota goes back to the shelf."""
    t, s = await _tiein_for(p, tiein_id)
    async with atomic() as conn:
        locked = await lock_rows(LiveTieIn, [t.id], conn)
        if not locked or not locked[0].is_active:
            raise NotFound("tie-in not found")
        await _return_to_shelf(locked, conn)
        await LiveTieIn.filter(id=t.id).using_db(conn).update(is_active=False)
        await LiveSession.filter(id=s.id, on_air_tiein_id=t.id).using_db(conn).update(on_air_tiein_id=None)
        await LiveSession.filter(id=s.id).using_db(conn).update(version=F("version") + 1)
        await audit.record(p.user_id, "live.tiein_detach", "live_session", s.id, {"tiein_id": t.id}, conn=conn)
    await gate.drop(t.id)
    await _changed(s.id, "tieins")


async def set_on_air(p: Principal, session_id: int, tiein_id: int | None) -> SessionView:
    """Switch the product being presented (讲解中); one at a time."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or not (p.is_admin or s.livestreamer_id == p.user_id):
        raise NotFound("session not found")
    if tiein_id is not None and not await LiveTieIn.filter(id=tiein_id, session_id=s.id, is_active=True).exists():
        raise ValidationFailed.field("tiein_id", "not a product of this session")
    n = await LiveSession.filter(id=s.id, status__in=OPEN).update(on_air_tiein_id=tiein_id,
                                                                  version=F("version") + 1)
    if not n:
        raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
    await _changed(s.id, "on_air", {"tiein_id": tiein_id})
    return await view(s.id)


# ---- what viewers see ---------------------------------------------------------------------------
async def view(session_id: int) -> SessionView:
    """The session, its products and the on-air one (the polling endpoint and websocket snapshot)."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or s.status == SessionStatus.CANCELLED:
        raise NotFound("session not found")
    rows = await LiveTieIn.filter(session_id=s.id, is_active=True).order_by("sort", "id")
    tieins = await _tiein_out(rows)
    # The gate knows the remaining quota sooner than the database during a flash sale.
    if s.status == SessionStatus.LIVE:  # what viewers see, not a change of the quota
        shown = []
        for t in tieins:
            left = await gate.remaining(t.id)
            shown.append(t if left is None else t.model_copy(update={"remaining": min(t.remaining, left)}))
        tieins = shown
    on_air = next((t for t in tieins if t.id == s.on_air_tiein_id), None)
    return SessionView(session=await session_out(s), tieins=tieins, on_air=on_air,
                       viewers=await figures.viewers_now(s.id))


async def publish_view(session_id: int, kind: str) -> None:
    """Send viewers the fresh view (computed once per change, not once per socket)."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None:
        return
    if s.status == SessionStatus.CANCELLED:
        await events.publish(session_id, kind, {"session": {"id": s.id, "status": s.status}})
        return
    await events.publish(session_id, kind, (await view(session_id)).model_dump(mode="json"))


async def show_withdrawn(tiein_ids: list[int]) -> int:
    """After tie-ins were withdrawn (a recall): drop their flash gates and show the live rooms their new
    product list; returns how many rooms were told."""
    for tid in tiein_ids:
        await gate.drop(tid)
    sessions = set(await LiveTieIn.filter(id__in=tiein_ids).values_list("session_id", flat=True))
    for sid in sorted(sessions):
        await publish_view(sid, "tieins")
    return len(sessions)


async def _changed(session_id: int, kind: str, data: dict | None = None) -> None:
    on_commit(lambda: publish_view(session_id, kind))


# ---- lifecycle ----------------------------------------------------------------------------------
async def _go_live(session_id: int, at: datetime, conn) -> bool:
    n = await LiveSession.filter(id=session_id, status=SessionStatus.SCHEDULED).using_db(conn).update(
        status=SessionStatus.LIVE, started_at=at, version=F("version") + 1)
    if n:
        on_commit(lambda: warm_gates(session_id))
    return bool(n)


async def warm_gates(session_id: int) -> None:
    """Load the flash gates of a live session's tie-ins, and this process's map of its buy buttons,
    before the first buyer arrives (else the first crowd waits on the map's query)."""
    forget_session(session_id)  # the "not live" this process may hold goes at once
    for tid in await LiveTieIn.filter(session_id=session_id, is_active=True).values_list("id", flat=True):
        await gate.load(tid)
    await load_map(session_id)


async def _end(session_id: int, at: datetime, by: str, conn) -> bool:
    """live/scheduled -> ended, quotas back to the shelf (once), figures stored by a job."""
    n = await LiveSession.filter(id=session_id, status__in=OPEN).using_db(conn).update(
        status=SessionStatus.ENDED, ended_at=at, ended_by=by, on_air_tiein_id=None, version=F("version") + 1)
    if not n:
        return False
    ids = await LiveTieIn.filter(session_id=session_id, is_active=True).using_db(conn).values_list("id", flat=True)
    locked = await lock_rows(LiveTieIn, list(ids), conn)
    await _return_to_shelf(locked, conn)
    await LiveSession.filter(id=session_id).using_db(conn).update(quota_returned=True)

    async def _after() -> None:
        forget_session(session_id)
        for tid in ids:
            await gate.drop(tid)
        await publish_view(session_id, "status")

    on_commit(_after)
    enqueue("live.store_figures", session_id, job_id=f"live-figures-{session_id}")
    return True


async def end_session(p: Principal, session_id: int) -> SessionOut:
    """The livestreamer (or an admin) ends the session."""
    s = await _session_for_host(session_id, p)
    async with atomic() as conn:
        if s.status == SessionStatus.SCHEDULED:
            n = await LiveSession.filter(id=s.id, status=SessionStatus.SCHEDULED).using_db(conn).update(
                status=SessionStatus.CANCELLED, ended_at=clock.now(), ended_by="host", version=F("version") + 1)
            if n:
                ids = await LiveTieIn.filter(session_id=s.id, is_active=True).using_db(conn).values_list(
                    "id", flat=True)
                await _return_to_shelf(await lock_rows(LiveTieIn, list(ids), conn), conn)
                await LiveSession.filter(id=s.id).using_db(conn).update(quota_returned=True)
                await _changed(s.id, "status")
        elif not await _end(s.id, clock.now(), "admin" if p.user_id != s.livestreamer_id else "host", conn):
            raise Conflict("the session is over", code=LiveCode.LIVE_SESSION_CLOSED)
        await audit.record(p.user_id, "live.session_end", "live_session", s.id, conn=conn)
    return await session_out(await LiveSession.get(id=s.id))


async def stream_callback(action: str, stream: str, app_name: str, event_ts: int) -> str:
    """Apply an Aliyun publish / publish_done callback once, in any order of arrival."""
    at = datetime.fromtimestamp(event_ts, tz=clock.UTC)
    key = f"{action}:{app_name}:{stream}:{event_ts}"
    async with atomic() as conn:
        s = await LiveSession.filter(stream_name=stream).using_db(conn).select_for_update().first()
        from tortoise.exceptions import IntegrityError

        try:
            async with atomic() as sp:  # savepoint: a duplicate must not abort the outer transaction
                ev = await LiveStreamEvent.create(event_key=key, action=action, stream_name=stream,
                                                  app_name=app_name, event_at=at,
                                                  session_id=s.id if s else None, using_db=sp)
        except IntegrityError:
            return "duplicate"
        if s is None:
            outcome = "unknown_stream"
        elif app_name != runtime.settings().live_app_name:
            outcome = "other_app"
        elif s.last_stream_event_at is not None and at < s.last_stream_event_at:
            # Older than what we applied: it can only fill in a missing start time.
            if action == "publish" and s.started_at is None:
                await LiveSession.filter(id=s.id).using_db(conn).update(started_at=at)
            outcome = "stale"
        else:
            await LiveSession.filter(id=s.id).using_db(conn).update(last_stream_event_at=at)
            if action == "publish":
                outcome = "live" if await _go_live(s.id, at, conn) else "no_change"
                if outcome == "live":
                    on_commit(lambda: publish_view(s.id, "status"))
            else:
                outcome = "ended" if await _end(s.id, at, "stream", conn) else "no_change"
        await LiveStreamEvent.filter(id=ev.id).using_db(conn).update(outcome=outcome)
    log.info("live stream callback", extra={"action": action, "stream": stream, "outcome": outcome})
    return outcome


async def reconcile(online: dict[str, datetime]) -> dict:
    """Match sessions to Aliyun's online list {stream: publish time}: a missed publish goes live,
    a live session whose stream is gone (past a grace period) ends."""
    s = runtime.settings()
    now = clock.now()
    grace = timedelta(seconds=s.live_reconcile_grace_seconds)
    started = ended = 0
    for sess in await LiveSession.filter(status=SessionStatus.SCHEDULED, stream_name__in=list(online)):
        async with atomic() as conn:
            if await _go_live(sess.id, online[sess.stream_name], conn):
                await LiveSession.filter(id=sess.id).using_db(conn).update(last_stream_event_at=online[sess.stream_name])
                started += 1
                on_commit(lambda sid=sess.id: publish_view(sid, "status"))
    for sess in await LiveSession.filter(status=SessionStatus.LIVE):
        if sess.stream_name in online:
            continue
        last = sess.last_stream_event_at or sess.started_at or sess.updated_at
        if last is not None and now - last < grace:
            continue
        async with atomic() as conn:
            if await _end(sess.id, now, "reconcile", conn):
                ended += 1
    return {"started": started, "ended": ended}


async def sweep() -> dict:
    """What a lost job or a lost callback left behind: ended sessions without stored figures, flash-gate
    holds never confirmed (rolled back)."""
    stored = 0
    have = LiveSessionFigures.all().values_list("session_id", flat=True)
    for sid in await LiveSession.filter(status=SessionStatus.ENDED).exclude(id__in=await have).limit(200) \
            .values_list("id", flat=True):
        stored += int(await store_figures(sid))
    given = 0
    live_ids = LiveSession.filter(status=SessionStatus.LIVE).values_list("id", flat=True)
    for tid in await LiveTieIn.filter(session_id__in=await live_ids, is_active=True).values_list("id", flat=True):
        given += await gate.expire_holds(tid)
    return {"figures_stored": stored, "holds_given_back": given}


# ---- figures ------------------------------------------------------------------------------------
async def store_figures(session_id: int) -> bool:
    """Copy an ended session's figures from Redis into the database (once; safe to run twice)."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or s.status != SessionStatus.ENDED:
        return False
    if await LiveSessionFigures.filter(session_id=s.id).exists():
        return False
    f = await figures.read(s.id)
    per = await _per_product(s.id, f["products"])
    from tortoise.exceptions import IntegrityError

    try:
        await LiveSessionFigures.create(
            session_id=s.id, viewers=f["viewers"], peak_viewers=f["peak_viewers"], orders=f["orders"],
            buyers=f["buyers"], units=f["units"], gmv_fen=f["gmv_fen"], cancelled_units=f["cancelled_units"],
            conversion_bp=f["conversion_bp"], per_product=[p.model_dump() for p in per], stored_at=clock.now())
    except IntegrityError:
        return False
    return True


async def _per_product(session_id: int, live: dict[int, dict]) -> list[ProductFigures]:
    rows = await LiveTieIn.filter(session_id=session_id).order_by("sort", "id")
    names = dict(await Product.filter(id__in=[r.product_id for r in rows]).values_list("id", "name"))
    return [ProductFigures(tiein_id=r.id, sku_id=r.sku_id, merchant_id=r.merchant_id,
                           product_name=names.get(r.product_id, ""),
                           **(live.get(r.id) or {"orders": 0, "units": 0, "gmv_fen": 0})) for r in rows]


async def session_figures(p: Principal, session_id: int) -> FiguresOut:
    """Figures: the livestreamer and admins see everything; a merchant sees its own products."""
    s = await LiveSession.get_or_none(id=session_id)
    if s is None:
        raise NotFound("session not found")
    full = p.is_admin or s.livestreamer_id == p.user_id
    mine = set(p.merchant_ids)
    if not full and not (mine and await LiveTieIn.filter(session_id=s.id, merchant_id__in=mine).exists()):
        raise NotFound("session not found")
    stored = await LiveSessionFigures.get_or_none(session_id=s.id) if s.status == SessionStatus.ENDED else None
    if stored is not None:
        per = [ProductFigures(**r) for r in stored.per_product]
        tot = {"viewers_now": 0, "viewers": stored.viewers, "peak_viewers": stored.peak_viewers,
               "orders": stored.orders, "buyers": stored.buyers, "units": stored.units,
               "gmv_fen": stored.gmv_fen, "cancelled_units": stored.cancelled_units,
               "conversion_bp": stored.conversion_bp}
    else:
        f = await figures.read(s.id)
        per = await _per_product(s.id, f.pop("products"))
        tot = f
    if not full:
        per = [r for r in per if r.merchant_id in mine]
        # a merchant sees the audience and its own sales, not the session's other takings
        tot.update(orders=sum(r.orders for r in per), units=sum(r.units for r in per),
                   gmv_fen=sum(r.gmv_fen for r in per), buyers=0, cancelled_units=0, conversion_bp=0)
    return FiguresOut(session_id=s.id, status=s.status, live=stored is None, per_product=per, **tot)
