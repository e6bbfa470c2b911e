"""Per-request context: the request id, carried by the request itself (for logs, audit entries and
the X-Request-ID header of every response)."""
from __future__ import annotations

import itertools
import os
import re
from typing import Callable, ClassVar

from sanic import Request
from sanic.compat import Header
from sanic.response import BaseHTTPResponse
from sanic.response.types import HEADER_TRANSLATION_TABLE

_RID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Request ids made here: this process's random half and a counter (unique across processes and
# restarts; an id traces a request, it guards nothing).
_RID_PREFIX = os.urandom(8).hex()
_rid_count = itertools.count(1)


class KzRequest(Request):
    """Sanic's request with our request id: the client's X-Request-ID when it is well formed, else a
    new one in uuid4().hex's shape (no syscall), made when first asked for; every response carries
    it back. Here rather than in request/response middleware: with any middleware registered Sanic
    runs its middleware machinery on every request, which cost a fifth of the throughput of a short
    request (the flash sale's 409: 8.8-9.1k req/s with the two middlewares, 11.0-11.2k without)."""

    __slots__ = ("_kz_rid",)

    # Called with (request, status) as each response leaves: metrics and the access log
    # (server/kit/observe.py), set by the composition root. A plain call, not a Sanic signal or
    # middleware, for the same reason as the request id.
    observe: ClassVar[Callable[["KzRequest", int], None] | None] = None

    @property
    def request_id(self) -> str:
        rid = getattr(self, "_kz_rid", None)
        if rid is None:
            rid = self.headers.get("x-request-id")
            if rid is None or not _RID.match(rid):
                rid = f"{_RID_PREFIX}{next(_rid_count):016x}"
            self._kz_rid = rid
        return rid

    def respond(self, response=None, *, status=200, headers=None, content_type=None):
        """Request.respond (a coroutine, which Sanic awaits), the response carrying the request id
        and the app's fixed headers (nosniff on every answer, JSON, media and errors alike; HSTS in
        production)."""
        fixed = getattr(self.app.ctx, "response_headers", None) or ()
        if isinstance(response, BaseHTTPResponse):
            target = response.headers
            status = response.status
        else:
            target = headers = Header(headers or {})
        target["X-Request-ID"] = self.request_id
        for name, value in fixed:
            target.setdefault(name, value)
        observe = KzRequest.observe
        if observe is not None:
            observe(self, status)
        return super().respond(response, status=status, headers=headers, content_type=content_type)


def response_headers(production: bool) -> tuple[tuple[str, str], ...]:
    """The headers every answer carries: a browser never guesses a type (an uploaded file served as
    HTML), and in production it only ever comes back over HTTPS."""
    fixed = [("X-Content-Type-Options", "nosniff")]
    if production:
        fixed.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(fixed)


# ---- Sanic's header sanitising, without a per-character translate for clean values -----------------------
# Sanic drops CR, LF and NUL from every response header's name and value with str.translate, a
# dictionary look-up per character: 15.8 µs for a response's four headers measured under load (~5% of
# the server's CPU in a flash crowd by py-spy). A value holding none of the three is returned as it
# is (three scans in C: 2.8 µs), any other is translated as Sanic does. KAZUO_HTTP_FAST_HEADERS=false
# puts Sanic's own back; the canary test (tests/platform/test_canaries.py) fails, naming the setting,
# if Sanic stops sanitising through this method or changes what it removes.
_SANIC_SANITIZE = BaseHTTPResponse.__dict__["_sanitize_header_value"]


def _sanitize_header_value(value: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        return value.translate(HEADER_TRANSLATION_TABLE)
    return value


def install_header_sanitizer(fast: bool) -> None:
    """Sanic's responses sanitise header values with ours (fast) or Sanic's own."""
    BaseHTTPResponse._sanitize_header_value = staticmethod(_sanitize_header_value) if fast else _SANIC_SANITIZE


def request_id() -> str:
    """The id of the request being handled ('' outside one: a job, the CLI)."""
    req = KzRequest._current.get(None)
    return req.request_id if isinstance(req, KzRequest) else ""
