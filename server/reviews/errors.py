"""Error codes of buyers' reviews (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class ReviewCode(DeclaredCode):
    LINE_NOT_COMPLETED = "line_not_completed", 409
    REVIEW_EXISTS = "review_exists", 409
    REVIEW_APPENDED = "review_appended", 409
    REVIEW_REPLIED = "review_replied", 409
    SENSITIVE_WORDS = "sensitive_words", 422
