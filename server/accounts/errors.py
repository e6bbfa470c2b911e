"""Error codes of accounts, phone binding, SMS codes, console sign-in:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class AccountCode(DeclaredCode):
    CANNOT_DISABLE_SELF = "cannot_disable_self", 409
    LAST_ADMIN = "last_admin", 409
    NO_CONSOLE_ACCOUNT = "no_console_account", 422
    NOT_OPERATOR = "not_operator", 403
    PHONE_TAKEN = "phone_taken", 409
    SCAN_TICKET_EXPIRED = "scan_ticket_expired", 410
    SCAN_TICKET_USED = "scan_ticket_used", 409
    SMS_CODE_EXPIRED = "sms_code_expired", 422
    SMS_CODE_INVALID = "sms_code_invalid", 422
    SMS_CODE_LOCKED = "sms_code_locked", 422
    SMS_CODE_WRONG = "sms_code_wrong", 422
