"""Sharing a session: the mini-program path with the session as the source (attribution), and the
session's mini-program code (小程序码, wxacode.getUnlimited with check_path=false) for the share poster."""
from __future__ import annotations

from server.kit import runtime
from server.kit import redis as kr
from server.kit.errors import NotFound
from server.models.live import LiveSession, SessionStatus
from live.schemas import ShareOut

PAGE = "pages/live/session"
CODE_TTL = 7 * 86400


def scene(session_id: int) -> str:
    # getUnlimited's scene: at most 32 visible characters; the page reads sid and sets the source.
    return f"sid={session_id}&v=code"


async def _session(session_id: int) -> LiveSession:
    s = await LiveSession.get_or_none(id=session_id)
    if s is None or s.status == SessionStatus.CANCELLED:
        raise NotFound("session not found")
    return s


async def share_info(session_id: int) -> ShareOut:
    """The share link (mini-program path) and where the session's mini-program code is served."""
    s = await _session(session_id)
    return ShareOut(session_id=s.id, path=f"{PAGE}?sid={s.id}&v=share", scene=scene(s.id),
                    wxacode_url=f"/api/v1/live/sessions/{s.id}/wxacode.png")


async def wxacode(session_id: int) -> bytes:
    """The session's mini-program code as PNG; generated once by WeChat, then kept in Redis."""
    s = await _session(session_id)
    k = kr.key("live", "wxacode", s.id)
    cached = await kr.redis().get(k)
    if cached:
        return cached
    png = await runtime.get().extras["wechat"].wxacode_unlimited(scene(s.id), PAGE)
    await kr.redis().set(k, png, ex=CODE_TTL)
    return png
