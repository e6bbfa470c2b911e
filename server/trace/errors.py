"""Error codes of batches and trace codes (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class TraceErrorCode(DeclaredCode):
    ALREADY_RECALLED = "already_recalled", 409
    ALREADY_RESOLVED = "already_resolved", 409
    BATCH_EXISTS = "batch_exists", 409
    BATCH_LOCKED = "batch_locked", 409
    BATCH_RECALLED = "batch_recalled", 409
    CODE_BUSY = "code_busy", 409
    TRACE_CODE_NOT_FOUND = "trace_code_not_found", 404
