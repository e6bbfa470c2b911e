"""Error codes of settlement terms (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class SettlementCode(DeclaredCode):
    TERM_EXISTS = "term_exists", 409
