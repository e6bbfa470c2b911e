"""Error codes of the WeChat Pay bill reconciliation:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class ReconcileCode(DeclaredCode):
    BILL_NOT_READY = "bill_not_ready", 409
