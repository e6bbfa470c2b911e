"""HTTP and websocket surface of livestream commerce, under /api/v1/live: livestreamers run rooms,
sessions, tie-ins and the on-air product; viewers poll a session or hold a websocket; Aliyun Live
calls the stream callback. Handlers are thin: parse, authorize, call one service function."""
from __future__ import annotations

import asyncio
import logging
import re
import secrets

import orjson
from sanic import Blueprint, HTTPResponse, Request

from live import checkout, events, figures, service, share, signing
from live.schemas import (BuyNowIn, CallbackOut, FiguresOut, OnAirIn, PlayOut, ProfileIn, ProfileOut, PushOut,
                          RoomIn, RoomOut, SessionIn, SessionOut, SessionPatch, SessionsQuery, SessionView,
                          ShareOut, TicketOut, TieInIn, TieInOut, TieInPatch, TraineeLinkIn)
from server.kit import clock, runtime
from server.kit.auth import Role, authenticate, decode_token
from server.kit.errors import (AppError, BadRequest, Forbidden, KitCode, NotFound, Unauthorized,
                               ValidationFailed)
from server.kit.http import MAX_ID, endpoint
from server.kit.schemas import Page
from live.errors import LiveCode

log = logging.getLogger("kazuo.live.api")
bp = Blueprint("live", url_prefix="/api/v1/live")
HOST = (Role.livestreamer, Role.admin)
TAGS = ("live",)
STREAM_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# ---- livestreamer profile -----------------------------------------------------------------------
@bp.put("/me/profile")
@endpoint(summary="Create or update my livestreamer profile (主播资料)", roles=HOST, body=ProfileIn,
          response=ProfileOut, tags=TAGS)
async def put_profile(request: Request, principal, body: ProfileIn):
    return await service.upsert_profile(principal, body)


@bp.get("/livestreamers/<user_id:int>")
@endpoint(summary="A livestreamer's profile: sessions and GMV; commission history for them and admins",
          auth="optional", response=ProfileOut, tags=TAGS)
async def get_profile(request: Request, principal, user_id: int):
    return await service.profile(user_id, principal)


@bp.put("/livestreamers/<user_id:int>/trainee")
@endpoint(summary="Link a livestreamer to their trainee record (admin)", roles=(Role.admin,),
          body=TraineeLinkIn, response=ProfileOut, tags=TAGS)
async def link_trainee(request: Request, principal, user_id: int, body: TraineeLinkIn):
    return await service.link_trainee(user_id, body, principal)


# ---- rooms and sessions -------------------------------------------------------------------------
@bp.post("/rooms")
@endpoint(summary="Open a live room (直播间)", roles=HOST, body=RoomIn, response=RoomOut, status=201,
          tags=TAGS, errors=(409,))
async def create_room(request: Request, principal, body: RoomIn):
    return await service.create_room(principal, body)


@bp.get("/rooms")
@endpoint(summary="My live rooms", roles=HOST, response=list[RoomOut], tags=TAGS)
async def my_rooms(request: Request, principal):
    return [r.model_dump(mode="json") for r in await service.my_rooms(principal)]


@bp.post("/rooms/<room_id:int>/sessions")
@endpoint(summary="Schedule a session (直播预告)", roles=HOST, body=SessionIn, response=SessionOut,
          status=201, tags=TAGS)
async def create_session(request: Request, principal, room_id: int, body: SessionIn):
    return await service.create_session(principal, room_id, body)


@bp.get("/sessions")
@endpoint(summary="Sessions, newest first (mine=true: my own, any status)", auth="optional",
          query=SessionsQuery, response=Page[SessionOut], tags=TAGS)
async def list_sessions(request: Request, principal, query: SessionsQuery):
    return await service.list_sessions(principal, query)


@bp.get("/sessions/<session_id:int>")
@endpoint(summary="Poll a session: its products, the on-air one, viewers", response=SessionView, tags=TAGS)
async def get_session(request: Request, session_id: int):
    return await service.view(session_id)


@bp.patch("/sessions/<session_id:int>")
@endpoint(summary="Change a session's title, cover, time or commission", roles=HOST, body=SessionPatch,
          response=SessionOut, tags=TAGS, errors=(409,))
async def patch_session(request: Request, principal, session_id: int, body: SessionPatch):
    return await service.update_session(principal, session_id, body)


@bp.post("/sessions/<session_id:int>/end")
@endpoint(summary="End the session (a scheduled one is cancelled); quotas go back to the shelf",
          roles=HOST, response=SessionOut, tags=TAGS, errors=(409,))
async def end_session(request: Request, principal, session_id: int):
    return await service.end_session(principal, session_id)


@bp.get("/sessions/<session_id:int>/push-url")
@endpoint(summary="The signed RTMP push URL (推流地址) for the livestreamer", roles=HOST, response=PushOut,
          tags=TAGS, errors=(409,))
async def push_url(request: Request, principal, session_id: int):
    return await service.push_url(principal, session_id)


@bp.get("/sessions/<session_id:int>/play-urls")
@endpoint(summary="Signed play URLs (FLV, HLS, RTMP) of a live session", auth="optional",
          response=PlayOut, tags=TAGS, errors=(409,))
async def play_urls(request: Request, principal, session_id: int):
    return await service.play_urls(session_id, principal)


@bp.get("/sessions/<session_id:int>/figures")
@endpoint(summary="Session figures: live from Redis, stored once it ends (scoped to the caller)",
          auth="user", response=FiguresOut, tags=TAGS)
async def session_figures(request: Request, principal, session_id: int):
    return await service.session_figures(principal, session_id)


@bp.get("/sessions/<session_id:int>/share")
@endpoint(summary="Share link and mini-program code for the session's poster", response=ShareOut, tags=TAGS)
async def share_info(request: Request, session_id: int):
    return await share.share_info(session_id)


@bp.get("/sessions/<session_id:int>/wxacode.png")
@endpoint(summary="The session's mini-program code (wxacode.getUnlimited), PNG", tags=TAGS,
          response_content={"image/png": {}}, errors=(502,))
async def wxacode(request: Request, session_id: int):
    png = await share.wxacode(session_id)
    return HTTPResponse(png, content_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


# ---- tie-ins and the on-air product -------------------------------------------------------------
@bp.post("/sessions/<session_id:int>/tieins")
@endpoint(summary="Tie a SKU to the session at a live price with a quota from sellable stock",
          auth="user", body=TieInIn, response=TieInOut, status=201, tags=TAGS, errors=(409,))
async def attach(request: Request, principal, session_id: int, body: TieInIn):
    return await service.attach(principal, session_id, body)


@bp.patch("/tieins/<tiein_id:int>")
@endpoint(summary="Change a tie-in (live price, limit, rate) or top up its quota", auth="user",
          body=TieInPatch, response=TieInOut, tags=TAGS, errors=(409,))
async def patch_tiein(request: Request, principal, tiein_id: int, body: TieInPatch):
    return await service.update_tiein(principal, tiein_id, body)


@bp.delete("/tieins/<tiein_id:int>")
@endpoint(summary="Take a product out of the session; its unsold quota goes back to the shelf",
          auth="user", status=204, tags=TAGS)
async def detach(request: Request, principal, tiein_id: int):
    await service.detach(principal, tiein_id)


@bp.post("/sessions/<session_id:int>/on-air")
@endpoint(summary="Switch the on-air product (讲解中)", roles=HOST, body=OnAirIn, response=SessionView,
          tags=TAGS, errors=(409,))
async def on_air(request: Request, principal, session_id: int, body: OnAirIn):
    return await service.set_on_air(principal, session_id, body.tiein_id)


@bp.post("/sessions/<session_id:int>/orders")
@endpoint(summary="Buy an on-air product now (立即抢购): live price and quota, per-buyer limit, queued",
          body=BuyNowIn, response=TicketOut, status=202, tags=TAGS, errors=(401, 404, 409, 422, 429, 503),
          description="Needs `Authorization: Bearer <token>`. The token's signature admits the buyer to "
                      "the flash gate; past the quota or the per-buyer limit the answer (409) comes from "
                      "Redis (or this process's memory of a sold-out quota) alone. An admitted buyer holds "
                      "a unit of the quota and the answer is **202 with a ticket** (排队下单): the worker "
                      "checks the account in full (a disabled or revoked one fails with 401) and writes "
                      "the order, and `GET /api/v1/live/tickets/{ticket}` shows it once placed (or why it "
                      "failed; the unit then goes back). When no quota is involved (the session has ended, within its "
                      "attribution window) the order is placed at once: 201 with a ticket whose status is "
                      "`placed`. A repeated `Idempotency-Key` returns the same ticket.")
async def buy_now(request: Request, session_id: int, body: BuyNowIn):
    header = request.headers.get("authorization")
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("missing bearer token", code=KitCode.MISSING_TOKEN)
    # Signature, expiry, issuer and audience: no database, no Redis. Revocation and disabled accounts
    # are checked before anything is written (by the worker for a queued ticket, see checkout.buy_now).
    claims = decode_token(header[7:].strip())
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid token", code=KitCode.INVALID_TOKEN) from None
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key.strip()) <= 64 and key.strip().isprintable()):
        raise ValidationFailed.field("Idempotency-Key", "1-64 printable characters")
    try:
        tv = claims.get("tv")
        status, ticket = await checkout.buy_now(user_id, tv if isinstance(tv, int) else -1, session_id, body,
                                                key.strip() if key else None, verify=lambda: authenticate(header))
    except AppError as exc:
        # Rendered here rather than raised through Sanic's exception machinery: a flash crowd gets
        # thousands of these answers a second. Same body and headers as the app's error handler.
        return HTTPResponse(orjson.dumps(exc.body()), status=exc.status, headers=exc.headers,
                            content_type="application/json")
    if isinstance(ticket, bytes):  # the sold-out answer, rendered once (checkout.buy_now)
        return HTTPResponse(ticket, status=status, content_type="application/json")
    headers = {"Location": f"/api/v1/live/tickets/{ticket['ticket']}"} if status == 202 else None
    return HTTPResponse(orjson.dumps(ticket), status=status, headers=headers, content_type="application/json")


@bp.get("/tickets/<ticket:str>")
@endpoint(summary="My place in a flash-sale queue: queued, placed (with the order) or failed (and why)",
          auth="user", response=TicketOut, tags=TAGS, errors=(401, 404))
async def ticket(request: Request, principal, ticket: str):
    return await checkout.ticket_view(principal.user_id, ticket)


# ---- Aliyun Live stream callback ----------------------------------------------------------------
@bp.get("/aliyun/stream-callback")
@endpoint(summary="Aliyun Live publish / publish_done callback (signed with ALI-LIVE-SIGNATURE)",
          response=CallbackOut, tags=("live: aliyun",), errors=(400, 403))
async def stream_callback(request: Request):
    s = runtime.settings()
    why = signing.verify_callback(s, {k.lower(): v for k, v in request.headers.items()},
                                  int(clock.now().timestamp()))
    if why is not None:
        log.warning("live callback refused: %s", why, extra={"remote": request.remote_addr or request.ip,
                                                              "query": request.query_string[:300]})
        raise Forbidden(f"callback refused: {why}", code=LiveCode.LIVE_CALLBACK_REFUSED)
    action = request.args.get("action", "")
    stream = request.args.get("id", "")
    app_name = request.args.get("appname", "")
    ts = request.args.get("time", "")
    if action not in ("publish", "publish_done"):
        raise BadRequest("action: publish or publish_done", code=LiveCode.LIVE_CALLBACK_INVALID)
    if not STREAM_RE.match(stream) or not STREAM_RE.match(app_name or "-"):
        raise BadRequest("id/appname: not a stream name", code=LiveCode.LIVE_CALLBACK_INVALID)
    if not ts.isdigit() or len(ts) > 11:
        raise BadRequest("time: unix seconds", code=LiveCode.LIVE_CALLBACK_INVALID)
    outcome = await service.stream_callback(action, stream, app_name, int(ts))
    return {"ok": True, "outcome": outcome}


# ---- websocket ----------------------------------------------------------------------------------
HEARTBEAT_S = 20


@bp.websocket("/sessions/<session_id:int>/ws")
async def session_ws(request: Request, ws, session_id: int):
    """Pushes the session's snapshot, then every change (products, on-air, stock, status, viewers).
    Optional ?token= identifies a logged-in viewer (distinct viewers are counted per user)."""
    if not (0 < session_id <= MAX_ID):
        await ws.close(code=4404, reason="session not found")
        return
    viewer = None
    token = request.args.get("token")
    if token:
        try:
            viewer = (await authenticate("Bearer " + token)).user_id
        except AppError:
            await ws.close(code=4401, reason="invalid token")
            return
    try:
        snapshot = await service.view(session_id)
    except NotFound:
        await ws.close(code=4404, reason="session not found")
        return
    conn_id = secrets.token_hex(8)
    ident = f"u{viewer}" if viewer else f"a{conn_id}"
    q = await events.hub().join(session_id)
    reader = asyncio.ensure_future(_drain(ws))
    try:
        n = await figures.heartbeat(session_id, conn_id, ident)
        snapshot.viewers = n
        await ws.send('{"type":"snapshot","data":' + snapshot.model_dump_json() + "}")
        while not reader.done():
            getter = asyncio.ensure_future(q.get())
            done, _ = await asyncio.wait({getter, reader}, timeout=HEARTBEAT_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                msg = getter.result()
                await ws.send(msg.decode() if isinstance(msg, bytes) else msg)
            else:
                getter.cancel()
                if not reader.done():
                    n = await figures.heartbeat(session_id, conn_id, ident)
                    await ws.send('{"type":"viewers","data":{"viewers":%d}}' % n)
    finally:
        reader.cancel()
        await events.hub().leave(session_id, q)
        try:
            await figures.leave(session_id, conn_id)
        except Exception:  # noqa: BLE001 - presence expires by itself
            pass


async def _drain(ws) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while True:
        msg = await ws.recv()
        if msg is None:
            return

