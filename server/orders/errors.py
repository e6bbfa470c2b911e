"""Error codes of orders, carts, refunds (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class OrderCode(DeclaredCode):
    CART_FULL = "cart_full", 409
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 409
    NOT_ON_SALE = "not_on_sale", 409
    NOT_REFUNDABLE = "not_refundable", 409
    NOTHING_TO_REFUND = "nothing_to_refund", 409
    ORDER_NOT_SHIPPED = "order_not_shipped", 409
    REFUND_SUPERSEDED = "refund_superseded", 409
