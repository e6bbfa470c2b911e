"""Error codes of coupons and campaigns (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class PromoCode(DeclaredCode):
    CAMPAIGN_OVERLAP = "campaign_overlap", 409
    COUPON_EXPIRED = "coupon_expired", 409
    COUPON_LIMIT_REACHED = "coupon_limit_reached", 409
    COUPON_NEW_BUYERS_ONLY = "coupon_new_buyers_only", 409
    COUPON_NOT_APPLICABLE = "coupon_not_applicable", 409
    COUPON_NOT_CLAIMABLE = "coupon_not_claimable", 409
    COUPON_NOT_STACKABLE = "coupon_not_stackable", 409
    COUPON_NOT_STARTED = "coupon_not_started", 409
    COUPON_SOLD_OUT = "coupon_sold_out", 409
    COUPON_USED = "coupon_used", 409
    PRICE_CHANGED = "price_changed", 409
