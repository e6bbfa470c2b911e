"""Error codes of merchant applications (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class MerchantCode(DeclaredCode):
    TOO_MANY_APPLICATIONS = "too_many_applications", 409
