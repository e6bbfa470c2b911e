"""Error codes of the stations' cash hand-overs:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class CashCode(DeclaredCode):
    HANDOVER_DECIDED = "handover_decided", 409
