"""Access to the big screen (大屏): an admin login, or a read-only screen token that admins mint and
revoke. The token is shown once; only its SHA-256 is stored. The page takes it from ?token= once and
keeps it in an HttpOnly cookie scoped to /screen, so it leaves the address bar (and the hall's
browser history) at once."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from server.kit import audit, clock
from server.kit.auth import Role, authenticate
from server.kit.db import atomic
from server.kit.errors import AppError, NotFound, Unauthorized
from server.models.stats import ScreenToken
from server.stats.errors import StatsCode

PREFIX = "scr_"
COOKIE = "kz_screen"
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _out(t: ScreenToken) -> dict:
    return {"id": t.id, "name": t.name, "created_at": t.created_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None}


async def mint(name: str, *, actor_id: int) -> dict:
    """A new screen token; the plain token is in this answer only."""
    token = PREFIX + secrets.token_urlsafe(32)
    async with atomic() as conn:
        t = await ScreenToken.create(name=name, token_hash=_hash(token), created_by=actor_id, using_db=conn)
        await audit.record(actor_id, "stats.screen_token.mint", "screen_token", t.id, {"name": name}, conn=conn)
    return {**_out(t), "token": token, "url": f"/screen?token={token}"}


async def list_tokens() -> list[dict]:
    """Every screen token, newest first (never the token itself)."""
    return [_out(t) for t in await ScreenToken.all().order_by("-id").limit(200)]


async def revoke(token_id: int, *, actor_id: int) -> dict:
    """Revoke a token: the screens using it lose access at their next poll."""
    async with atomic() as conn:
        n = await ScreenToken.filter(id=token_id, revoked_at__isnull=True).using_db(conn).update(
            revoked_at=clock.now())
        t = await ScreenToken.get_or_none(id=token_id, using_db=conn)
        if t is None:
            raise NotFound("screen token not found")
        if n:
            await audit.record(actor_id, "stats.screen_token.revoke", "screen_token", t.id, {}, conn=conn)
    return _out(t)


async def check_screen_token(token: str) -> bool:
    """True for a live (unrevoked) screen token."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return False
    t = await ScreenToken.filter(token_hash=_hash(token), revoked_at__isnull=True).first()
    if t is None:
        return False
    now = clock.now()
    if t.last_used_at is None or now - t.last_used_at > TOUCH_EVERY:
        await ScreenToken.filter(id=t.id).update(last_used_at=now)
    return True


async def allowed(credential: str | None) -> bool:
    """Is this credential (screen token or an admin's JWT) allowed to see the screen?"""
    if not credential:
        return False
    if credential.startswith(PREFIX):
        return await check_screen_token(credential)
    try:
        principal = await authenticate("Bearer " + credential)
    except AppError:
        return False
    return Role.admin.value in principal.roles


async def require(request_cookie: str | None, authorization: str | None) -> None:
    """Raise 401 unless the cookie or the Authorization header carries a screen credential."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() in ("bearer", "screen") and await allowed(value.strip()):
            return
    if await allowed(request_cookie):
        return
    raise Unauthorized("an admin login or a screen token is required", code=StatsCode.SCREEN_TOKEN_REQUIRED)
