"""Domain errors carry their HTTP status and a stable code; one handler renders them as
{"error": {"code": ..., "message": ..., "details": ...}}."""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, code: str | None = None, details: Any = None,
                 status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class ValidationFailed(AppError):
    """422 with details: [{"field": "a.b", "message": "..."}]."""
    status, code = 422, "validation_failed"

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Gone(AppError):
    status, code = 410, "gone"


class RateLimited(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str = "too many requests", *, retry_after: int = 1, **kw):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))},
                         details={"retry_after": max(1, int(retry_after))}, **kw)


class UpstreamError(AppError):
    """An external service (WeChat, Aliyun) refused or failed."""
    status, code = 502, "upstream_error"


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"
