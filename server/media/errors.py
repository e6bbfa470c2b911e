"""Error codes of uploads (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class MediaCode(DeclaredCode):
    FILE_TOO_LARGE = "file_too_large", 413
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type", 422
