"""Error codes of notifications and live bookings (clients see them in error.code; /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class NotifyCode(DeclaredCode):
    SESSION_NOT_BOOKABLE = "session_not_bookable", 409
    UNKNOWN_TEMPLATE = "unknown_template", 422
