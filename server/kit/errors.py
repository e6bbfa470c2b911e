"""Domain errors carry their HTTP status and a stable code; one handler renders them as
{"error": {"code": ..., "message": ..., "details": ...}}."""
from __future__ import annotations

import sqlite3
from enum import StrEnum
from typing import Any

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError


class DeclaredCode(StrEnum):
    """The base of every domain's code enum (`server/<domain>/errors.py`, `live/errors.py`): a member is
    the string clients see in error.code, with the HTTP status it is answered with and the names it
    replaced (kept for one release as error.aliases; README "Changelog"). A raise site passes a member,
    never a bare string (tests/platform/test_error_codes.py); /docs/error-codes lists them all."""

    def __new__(cls, value: str, status: int = 400, formerly: tuple[str, ...] = ()):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.formerly = tuple(formerly)
        return member


class KitCode(DeclaredCode):
    """Codes any surface can answer: bad input, authentication, the HTTP layer, availability."""
    ACCOUNT_DISABLED = "account_disabled", 401
    BAD_REQUEST = "bad_request", 400
    CONFLICT = "conflict", 409
    EXPECTATION_FAILED = "expectation_failed", 417
    FORBIDDEN = "forbidden", 403
    GONE = "gone", 410
    HTTP_ERROR = "http_error", 400
    INTERNAL_ERROR = "internal_error", 500
    INVALID_JSON = "invalid_json", 400
    INVALID_PATH = "invalid_path", 400
    INVALID_TOKEN = "invalid_token", 401
    # one code for a state machine refusing a move (an order, a refund, a payment, a product, a merchant)
    INVALID_TRANSITION = "invalid_transition", 409, ("invalid_state",)
    METHOD_NOT_ALLOWED = "method_not_allowed", 405
    METRICS_TOKEN_REQUIRED = "metrics_token_required", 401
    MISSING_TOKEN = "missing_token", 401
    NOT_FOUND = "not_found", 404
    NOT_READY = "not_ready", 503
    PAYLOAD_TOO_LARGE = "payload_too_large", 413
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable", 416
    RATE_LIMITED = "rate_limited", 429
    REQUEST_TIMEOUT = "request_timeout", 408
    ROLE_REQUIRED = "role_required", 403
    SERVICE_UNAVAILABLE = "service_unavailable", 503
    SESSION_EXPIRED = "session_expired", 401
    SIGNATURE_EXPIRED = "signature_expired", 401
    SIGNATURE_INVALID = "signature_invalid", 401, ("bad_signature",)
    SIGNATURE_MISSING = "signature_missing", 401
    STALE_OBJECT = "stale_object", 409  # kit/versions.py: an edit made from a stale copy
    TOKEN_EXPIRED = "token_expired", 401
    TOKEN_REVOKED = "token_revoked", 401
    UNAUTHORIZED = "unauthorized", 401
    UPSTREAM_ERROR = "upstream_error", 502
    VALIDATION_FAILED = "validation_failed", 422


class AppError(Exception):
    status = 400
    code = KitCode.BAD_REQUEST

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
        return envelope(self.code, self.message, self.details)


def envelope(code: str, message: str, details: Any = None) -> dict:
    """The error body every surface answers with."""
    error = {"code": code, "message": message, "details": details}
    formerly = getattr(code, "formerly", ())
    if formerly:  # a renamed code: its old names, for one release (README "Changelog")
        error["aliases"] = list(formerly)
    return {"error": error}


class BadRequest(AppError):
    status, code = 400, KitCode.BAD_REQUEST


class ValidationFailed(AppError):
    """422 with details: [{"field": "a.b", "message": "..."}]."""
    status, code = 422, KitCode.VALIDATION_FAILED

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class Unauthorized(AppError):
    status, code = 401, KitCode.UNAUTHORIZED


class Forbidden(AppError):
    status, code = 403, KitCode.FORBIDDEN


class NotFound(AppError):
    status, code = 404, KitCode.NOT_FOUND


class Conflict(AppError):
    status, code = 409, KitCode.CONFLICT


class Gone(AppError):
    status, code = 410, KitCode.GONE


class RateLimited(AppError):
    status, code = 429, KitCode.RATE_LIMITED

    def __init__(self, message: str = "too many requests", *, retry_after: int = 1, **kw):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))},
                         details={"retry_after": max(1, int(retry_after))}, **kw)


class UpstreamError(AppError):
    """An external service (WeChat, Aliyun) refused or failed."""
    status, code = 502, KitCode.UPSTREAM_ERROR


class ServiceUnavailable(AppError):
    status, code = 503, KitCode.SERVICE_UNAVAILABLE


# What says a backing service (the database, Redis) cannot be reached just now: the request may
# succeed when retried, so it is a 503 with Retry-After, never a 500. asyncpg's connection errors
# (PostgreSQL restarting: connection lost, "the database system is shutting down / starting up"),
# SQLite's lock timeout, Redis's connection errors and timeouts, the OS's refused connections.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, ConnectionError, DBConnectionError,
                asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                asyncpg.exceptions.InsufficientResourcesError)
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def unavailable(exc: BaseException) -> bool:
    """True when exc (or what it wraps: Tortoise wraps the driver's errors) means a backing service
    is unavailable for now."""
    seen = 0
    while exc is not None and seen < 6:
        if isinstance(exc, _UNAVAILABLE):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
            return True  # "connection is closed": the pool handed out a connection the restart killed
        if isinstance(exc, asyncpg.InterfaceError) and "released back to the pool" in str(exc):
            # "cannot call Connection.fetch(): connection has been released back to the pool": a query
            # on a pooled connection that a restart (or the pool's closing at shutdown) took back
            # under it (seen in tests/platform/test_faults.py, in a full run)
            return True
        if isinstance(exc, asyncpg.exceptions.InternalClientError) and "another operation" in str(exc):
            # "cannot switch to state N; another operation is in progress": a pooled connection whose
            # last operation the server's restart cut off (seen in tests/platform/test_faults.py)
            return True
        if isinstance(exc, sqlite3.OperationalError) and str(exc) in _SQLITE_BUSY:
            return True
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = exc.__cause__ or inner or exc.__context__
        seen += 1
    return False
