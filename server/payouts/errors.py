"""Error codes of payouts, payee details and bank batches:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class PayoutCode(DeclaredCode):
    BAD_RESULT_FILE = "bad_result_file", 422
    EXCEEDS_BALANCE = "exceeds_balance", 409
    MAKER_CHECKER = "maker_checker", 409
    NO_PAYEE = "no_payee", 409
    NOT_APPROVED = "not_approved", 409
    NOT_AWAITING_CONFIRMATION = "not_awaiting_confirmation", 409
    NOT_BANK_BATCH = "not_bank_batch", 409
    NOT_PENDING = "not_pending", 409
    NOT_PREPARED = "not_prepared", 409
    NOTHING_DUE = "nothing_due", 409
    PAYEE_METHOD = "payee_method", 409
    TRANSFER_UNAVAILABLE = "transfer_unavailable", 409
    WITHDRAWAL_NOT_PENDING = "withdrawal_not_pending", 409
