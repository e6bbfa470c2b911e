"""Error codes of freight templates (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class FreightCode(DeclaredCode):
    OVERLAPPING_REGIONS = "overlapping_regions", 422
    REGION_NOT_SERVED = "region_not_served", 422
    ABOVE_OFFICE_LIMIT = "above_office_limit", 422
