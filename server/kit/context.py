"""Per-request context (request id) for logs and audit entries."""
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("kz_request_id", default="")
