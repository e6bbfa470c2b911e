"""The worker's heartbeat in Redis: every worker process (separate or inline) writes the time of its
latest beat while its poll loop runs; /readyz and the alerts read its age. Any live worker keeps it
fresh: the figure answers "is some worker taking jobs", not which one."""
from __future__ import annotations

import time

from server.kit import redis as kr
from server.kit import runtime

# A stale beat stays readable this long (so a dead worker shows as old, not as "never seen").
_KEEP_SECONDS = 7 * 86400


def _key() -> str:
    return kr.key("worker", "heartbeat")


async def beat(now: float | None = None) -> None:
    """Record a heartbeat (Unix time) now."""
    await kr.redis().set(_key(), repr(time.time() if now is None else now), ex=_KEEP_SECONDS)


async def heartbeat_age() -> float | None:
    """Seconds since the newest worker heartbeat, or None when no worker has ever beaten."""
    raw = await kr.redis().get(_key())
    if raw is None:
        return None
    return max(0.0, time.time() - float(raw))


async def heartbeat_stale() -> bool:
    """True when no worker has beaten within worker_heartbeat_max_age_seconds."""
    age = await heartbeat_age()
    return age is None or age > runtime.settings().worker_heartbeat_max_age_seconds
