"""Error codes of statistics and the big screen:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class StatsCode(DeclaredCode):
    SCREEN_TOKEN_REQUIRED = "screen_token_required", 401
