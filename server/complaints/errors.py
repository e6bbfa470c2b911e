"""Error codes of complaints and reports (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class ComplaintCode(DeclaredCode):
    COMPLAINT_NOT_FOUND = "complaint_not_found", 404
    COMPLAINT_RESOLVED = "complaint_resolved", 409
    COMPLAINT_ALREADY_ACKNOWLEDGED = "complaint_already_acknowledged", 409
    OUTCOME_NOT_APPLICABLE = "outcome_not_applicable", 422
    TOO_MANY_PHOTOS = "too_many_photos", 422
