"""Error codes of after-sales (售后): the strings clients see in error.code (/docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class AfterSalesCode(DeclaredCode):
    AFTERSALES_CASE_OPEN = "aftersales_case_open", 409
    AFTERSALES_NOTHING_TO_RETURN = "aftersales_nothing_to_return", 409
    AFTERSALES_NOT_OFFERED = "aftersales_not_offered", 409
    AFTERSALES_OUTSIDE_WINDOW = "aftersales_outside_window", 422
    AFTERSALES_NOT_YET_OVERDUE = "aftersales_not_yet_overdue", 422
