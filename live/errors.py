"""Error codes of livestream sessions, tie-ins, flash stock:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class LiveCode(DeclaredCode):
    LIVE_BUYER_LIMIT = "live_buyer_limit", 409
    LIVE_CALLBACK_INVALID = "live_callback_invalid", 400
    LIVE_CALLBACK_REFUSED = "live_callback_refused", 403
    LIVE_NOT_LIVE = "live_not_live", 409
    LIVE_PROFILE_MISSING = "live_profile_missing", 409
    LIVE_SESSION_CLOSED = "live_session_closed", 409, ("live_session_ended",)
    LIVE_SOLD_OUT = "live_sold_out", 409
    LIVE_TIEIN_EXISTS = "live_tiein_exists", 409
