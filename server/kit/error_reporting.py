"""Error reporting to Sentry (sentry-sdk) when KAZUO_SENTRY_DSN is set; off by default.

What is reported: errors logged at ERROR or above with their traceback (the server's "unhandled
error", a job that failed, a dependency that went away), each tagged with the request id
(X-Request-ID, also in our logs and in the response) so a report leads to the request's log lines.

What is not: personal data. send_default_pii stays off (no client IPs, cookies or request bodies from
the SDK), and scrub() runs on every event before it leaves the process: values under personal keys
(phone, openid, address, name, ...) are replaced, and phone numbers and WeChat openids written
anywhere else (an exception message, a log argument, a local variable) are masked. Only the numeric
user id stays: it identifies nobody outside our database."""
from __future__ import annotations

import logging
import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from config.settings import Settings
from server.kit.context import request_id

log = logging.getLogger("kazuo")

FILTERED = "[Filtered]"
# Keys whose values are personal data (or secrets), matched case-insensitively on the key's words.
PERSONAL_KEYS = re.compile(
    r"(phone|mobile|tel|openid|unionid|session_key|address|addr|name|nickname|receiver|consignee|contact|"
    r"id_?card|id_?number|email|lat|lng|location|authorization|cookie|token|secret|password|code)",
    re.IGNORECASE)
# Mainland mobile numbers (optionally +86), and WeChat openids/unionids (o..., 28 characters) or ours
# from the simulators (o-...).
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])|(?<![A-Za-z0-9_])o-[A-Za-z0-9_-]{6,}")
# Keys that are safe though they match PERSONAL_KEYS (ours, needed to read a report).
SAFE_KEYS = {"request_id", "logger_name", "module", "filename", "function", "abs_path", "context_line",
             "pre_context", "post_context", "type", "value", "status_code", "route", "code_name",
             "lineno", "colno", "package", "platform", "in_app", "vars"}

_installed: dict[str, Any] = {}


def _mask_text(text: str) -> str:
    return OPENID.sub(FILTERED, PHONE.sub(FILTERED, text))


def _scrub(value: Any, key: str = "") -> Any:
    if key and key not in SAFE_KEYS and PERSONAL_KEYS.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def scrub(event: dict, hint: dict | None = None) -> dict:
    """before_send: the event with personal data removed and the request id attached."""
    event = _scrub(event)
    user = event.get("user")
    event["user"] = {"id": user["id"]} if isinstance(user, dict) and "id" in user else {}
    event.pop("request", None)  # the SDK's view of the HTTP request (headers, query, body)
    rid = request_id()
    if rid:
        event.setdefault("tags", {})["request_id"] = rid
    return event


def setup(settings: Settings, **options: Any) -> bool:
    """Start reporting when KAZUO_SENTRY_DSN is set (once per process); options go to sentry_sdk.init
    (the tests pass a fake transport). Returns whether reporting is on."""
    if settings.sentry_dsn is None:
        return False
    dsn = settings.sentry_dsn.get_secret_value()
    if _installed.get("dsn") == dsn and not options:
        return True
    sentry_sdk.init(
        dsn=dsn, environment=settings.sentry_environment or settings.env, send_default_pii=False,
        traces_sample_rate=settings.sentry_traces_sample_rate, before_send=scrub,
        before_send_transaction=scrub, max_request_body_size="never", include_local_variables=False,
        # The integrations Sentry would switch on by itself (Sanic's among them) hook every request;
        # errors reach Sentry through our logs instead (the error handler and arq log them).
        auto_enabling_integrations=False,
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        **options)
    _installed["dsn"] = dsn
    log.info("error reporting to Sentry is on")
    return True
