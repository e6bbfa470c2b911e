"""Time is timezone-aware UTC; shown in Asia/Shanghai. Tests may shift the clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def local_today() -> date:
    return now().astimezone(SHANGHAI).date()


def shift(delta: timedelta) -> None:
    """Move the service clock (tests and simulations only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
