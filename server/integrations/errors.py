"""Error codes of WeChat, Aliyun, WMS (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class IntegrationCode(DeclaredCode):
    PDF_UNAVAILABLE = "pdf_unavailable", 503  # the statements' PDF printer (headless Chromium)
    SMS_RATE_LIMITED = "sms_rate_limited", 429
    WECHAT_CODE_INVALID = "wechat_code_invalid", 400
    WECHAT_CODE_USED = "wechat_code_used", 400
    WECHATPAY_ERROR = "wechatpay_error", 502
    WMS_NOT_CONFIGURED = "wms_not_configured", 401
