"""Time is timezone-aware UTC; shown in Asia/Shanghai. Tests may shift the clock."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def timestamp() -> float:
    """now().timestamp() without building a datetime (hot paths)."""
    return time.time() + _offset.total_seconds()


def local_today() -> date:
    return now().astimezone(SHANGHAI).date()


def shift(delta: timedelta) -> None:
    """Move the service clock (tests and simulations only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
