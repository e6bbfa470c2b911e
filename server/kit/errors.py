"""Domain errors carry their HTTP status and a stable code; one handler renders them as
{"error": {"code": ..., "message": ..., "details": ...}}."""
from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError


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
