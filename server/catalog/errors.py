"""Error codes of products, SKUs, reviews, taxonomy:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class CatalogCode(DeclaredCode):
    ALREADY_REVIEWED = "already_reviewed", 409
    BRAND_CODE_TAKEN = "brand_code_taken", 409
    CATEGORY_GONE = "category_gone", 409
    CATEGORY_SLUG_TAKEN = "category_slug_taken", 409
    MERCHANT_NOT_ACTIVE = "merchant_not_active", 409
    UNDER_REVIEW = "under_review", 409
