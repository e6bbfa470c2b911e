"""Platform jobs."""
from __future__ import annotations

from server.kit import clock


async def ping(ctx, payload: str = "") -> str:
    """A no-op job used to check that the worker runs (health and tests)."""
    return f"pong {payload} {clock.now().isoformat()}"


JOBS = [("platform.ping", ping)]
