"""Error codes of the pre-sale (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class PresaleCode(DeclaredCode):
    PRESALE_OFFER_NOT_OPEN = "presale_offer_not_open", 409
    PRESALE_OFFER_OVERLAPS = "presale_offer_overlaps", 409
    PRESALE_OFFER_NOT_PENDING = "presale_offer_not_pending", 409
    PRESALE_BALANCE_NOT_OPEN = "presale_balance_not_open", 409
    PRESALE_BALANCE_CLOSED = "presale_balance_closed", 409
    PRESALE_BALANCE_ALREADY_PAID = "presale_balance_already_paid", 409
    PRESALE_NOT_IN_DEPOSIT_STAGE = "presale_not_in_deposit_stage", 409
    PRESALE_CASH_NOT_ACCEPTED = "presale_cash_not_accepted", 409
    PRESALE_PAYMENT_STAGE_MISMATCH = "presale_payment_stage_mismatch", 409
    PRESALE_DEPOSIT_NO_COUPON = "presale_deposit_no_coupon", 409
