"""Server-side console sessions (the web console's sign-in) in Redis, and their CSRF tokens.

The browser holds only a random id in an HttpOnly, SameSite=Strict cookie; Redis keeps, under the
id's hash, the user, the token version it was issued against, the name the console shows for the
user (as it was at sign-in), when it began and when it was last used. A session ends after console_session_idle_seconds without use or console_session_absolute_seconds
after sign-in, whichever comes first; the id is new at every sign-in (rotation). The roles are never
stored in the session: every request loads the principal as the API does (server.kit.auth), so a
revoked role or a disabled account ends console access as fast as it ends API access.

A process keeps a live session it has read for a few seconds (server.kit.local_cache, tier "csess"),
never past the moment its last use must be written again, its idle end or its absolute end: a page
then needs no Redis read before its own queries (with 20 operators at once, that read was one more
turn of the event loop behind every other request in flight). Sign-out and a new sign-in drop it in
every process at once through the tier's message; while a process is not subscribed its tier holds
nothing.

CSRF: a token is an HMAC of the session id (or, before sign-in, of a random pre-session cookie) with
the server key, so nothing needs storing and a token is worthless outside its own session."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from server.kit import clock, local_cache, runtime
from server.kit import redis as kr
from server.kit.local_cache import LocalCache
from server.kit.auth import Principal, load_principal
from server.kit.errors import KitCode, Unauthorized

COOKIE = "kz_console"
PRE_COOKIE = "kz_pre"
# A session's last-use time is written at most this often (a page and its fragments need one write).
TOUCH_EVERY_MS = 60_000
# How long a process may answer from its own copy of a session (see the module's docstring).
LOCAL_SECONDS = 10.0
LOCAL_MAX = 10_000


@dataclass(frozen=True)
class Session:
    sid: str
    user_id: int
    token_version: int
    created_ms: int
    name: str = ""   # shown beside the roles in every page's header


def _key(sid: str) -> str:
    return kr.key("csess", hashlib.sha256(sid.encode()).hexdigest())


def _now_ms() -> int:
    return int(clock.timestamp() * 1000)


def _limits() -> tuple[int, int]:
    s = runtime.settings()
    return s.console_session_idle_seconds * 1000, s.console_session_absolute_seconds * 1000


def cookie_secure() -> bool:
    return runtime.settings().env == "production"


async def create(user_id: int, token_version: int, name: str = "") -> str:
    """Begin a session for user_id (shown as `name`); returns the new id (the cookie's value)."""
    sid = secrets.token_urlsafe(32)
    now = _now_ms()
    idle_ms, _ = _limits()
    pipe = kr.redis().pipeline(transaction=True)
    pipe.hset(_key(sid), mapping={"uid": user_id, "tv": token_version, "name": name, "created": now,
                                       "seen": now})
    pipe.pexpire(_key(sid), idle_ms)
    await pipe.execute()
    return sid


def _str(raw: dict, name: str) -> str:
    v = raw.get(name.encode(), raw.get(name, ""))
    return v.decode() if isinstance(v, bytes) else str(v)


def _int(raw: dict, name: str) -> int:
    return int(_str(raw, name))


async def load(sid: str | None) -> Session | None:
    """The live session with this id, its last use brought forward; None when absent or ended."""
    if not sid or len(sid) > 100:
        return None
    k = _key(sid)
    tier = LocalCache.of("csess", life=LOCAL_SECONDS, max_entries=LOCAL_MAX)
    if tier is not None:
        hit = tier.get(k)
        if hit is not None:
            return hit
        generation = tier.generation
    raw = await kr.redis().hgetall(k)
    if not raw:
        return None
    now = _now_ms()
    idle_ms, absolute_ms = _limits()
    try:
        created, seen = _int(raw, "created"), _int(raw, "seen")
        session = Session(sid, _int(raw, "uid"), _int(raw, "tv"), created, _str(raw, "name"))
    except (TypeError, ValueError):
        await kr.redis().delete(k)
        return None
    if now - seen > idle_ms or now - created > absolute_ms:
        await kr.redis().delete(k)
        return None
    if now - seen > TOUCH_EVERY_MS:
        pipe = kr.redis().pipeline(transaction=True)
        pipe.hset(k, "seen", now)
        pipe.pexpire(k, min(idle_ms, absolute_ms - (now - created)))
        await pipe.execute()
        seen = now
    if tier is not None:
        # Kept no later than its next touch is due, its idle end and its absolute end.
        until_ms = min(seen + TOUCH_EVERY_MS, seen + idle_ms, created + absolute_ms)
        tier.put(k, session, (k,), generation, deadline=until_ms / 1000)
    return session


async def destroy(sid: str | None) -> None:
    """End the session (sign-out, or the old id at a new sign-in)."""
    if sid and len(sid) <= 100:
        k = _key(sid)
        await kr.redis().delete(k)
        await local_cache.invalidate("csess", k)


async def principal_of(sid: str | None) -> Principal:
    """The signed-in user's principal, loaded live; Unauthorized (session_expired) without a session."""
    session = await load(sid)
    if session is None:
        raise Unauthorized("the console session has expired; sign in again", code=KitCode.SESSION_EXPIRED)
    return await load_principal(session.user_id, session.token_version)


def csrf_token(material: str) -> str:
    """The CSRF token of a session id (or pre-session cookie)."""
    key = runtime.get().extras["jwt_key"].encode()
    return hmac.new(key, b"kazuo-console-csrf\n" + material.encode(), hashlib.sha256).hexdigest()


def csrf_ok(material: str | None, token: str | None) -> bool:
    if not material or not token:
        return False
    return hmac.compare_digest(csrf_token(material), token)
