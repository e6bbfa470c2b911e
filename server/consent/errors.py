"""Error codes of the merchants' live-selling consent:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class ConsentCode(DeclaredCode):
    CONSENT_DECIDED = "consent_decided", 409
    LIVE_CONSENT_REQUIRED = "live_consent_required", 409
