"""Error codes of payments (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class PaymentCode(DeclaredCode):
    ALREADY_PAID = "already_paid", 409
    NO_OPENID = "no_openid", 409
    ORDER_EXPIRED = "order_expired", 409
