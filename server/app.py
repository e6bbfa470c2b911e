"""Composition root: create_app(settings) builds the Sanic app with every surface mounted."""
from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from pathlib import Path

import orjson
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import html

from config.settings import ConfigError, Settings, get_settings
from server.kit import lifecycle, runtime
from server.kit import logging as kzlog
from server.kit.context import KzRequest
from server.kit.errors import AppError, ServiceUnavailable
from server.kit.http import endpoint
from server.kit.openapi import SWAGGER_HTML, build_spec
from server.kit.schemas import Out

log = logging.getLogger("kazuo")
VERSION = "0.1.0"

# Every surface's blueprints (module path; the module exposes `bp`).
BLUEPRINTS = [
    "miniprogram_api.auth",
    "server.console_api.accounts",
    "miniprogram_api.phone",
    "miniprogram_api.stations",
    "miniprogram_api.station_staff",
    "server.console_api.stations",
    "miniprogram_api.shop",
    "miniprogram_api.merchant",
    "server.console_api.catalog",
    "server.console_api.training",
    "miniprogram_api.training",
    "live.api",
    "miniprogram_api.cart", "miniprogram_api.orders", "miniprogram_api.pay", "server.console_api.orders",
    "server.console_api.warehouse",
    "miniprogram_api.station_scans",
    "miniprogram_api.tracking",
    "miniprogram_api.trace", "server.console_api.trace",
    "server.console_api.stats",
    "server.console_api.office", "server.console_web",  # the county office's desk and the web console (#22)
]

class HealthOut(Out):
    status: str


class ReadyOut(Out):
    status: str
    database: str
    redis: str


def _dumps(obj) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def _error_response(status: int, code: str, message: str, details=None, headers=None) -> HTTPResponse:
    return HTTPResponse(orjson.dumps({"error": {"code": code, "message": message, "details": details}}),
                        status=status, content_type="application/json", headers=headers)


def _sanic_code(exc: SanicException) -> str:
    return {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
            413: "payload_too_large", 416: "range_not_satisfiable", 417: "expectation_failed",
            503: "service_unavailable"}.get(exc.status_code, "http_error")


def _allowed_methods(request: Request) -> str:
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        try:
            request.app.router.get(request.path, method, None)
        except SanicException:
            continue
        allowed.append(method)
    return ", ".join(allowed)


def _check(settings: Settings) -> None:
    if settings.workers > 1 and (settings.embedded_db or settings.embedded_redis):
        raise ConfigError("KAZUO_WORKERS: the embedded default (SQLite, in-process Redis) runs one "
                          "worker; set KAZUO_DATABASE_URL and KAZUO_REDIS_URL for more")


def create_app(settings: Settings | None = None, name: str = "kazuo") -> Sanic:
    settings = settings or get_settings()
    _check(settings)
    kzlog.setup(settings.log_level)
    app = Sanic(name, dumps=_dumps, loads=orjson.loads, configure_logging=False, request_class=KzRequest)
    app.config.update({
        "REQUEST_MAX_SIZE": 12 * 1024 * 1024,
        "FALLBACK_ERROR_FORMAT": "json",
        "ACCESS_LOG": settings.access_log,
        "KEEP_ALIVE_TIMEOUT": 30,
        "REQUEST_TIMEOUT": 30,
        "RESPONSE_TIMEOUT": 60,
        "GRACEFUL_SHUTDOWN_TIMEOUT": 5.0,
        "MOTD": False,
        "AUTO_EXTEND": False,  # no sanic-ext: our own OpenAPI (README: "Why not sanic-ext")
    })
    app.ctx.settings = settings

    @app.exception(Exception)
    async def _errors(request: Request, exc: Exception):
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
        from tortoise.exceptions import DoesNotExist, IntegrityError, TransactionManagementError
        from tortoise.exceptions import ValidationError as FieldValidationError

        if isinstance(exc, AppError):
            return _error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
        if isinstance(exc, SanicException):
            headers = dict(getattr(exc, "headers", None) or {})
            if exc.status_code == 405 and "Allow" not in headers:
                # The router leaves Allow out for methods it does not know (TRACE); RFC 9110 wants it.
                headers["Allow"] = _allowed_methods(request)
            return _error_response(exc.status_code, _sanic_code(exc), str(exc) or _sanic_code(exc),
                                   headers=headers or None)
        if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError, ConnectionError)):
            log.error("dependency unavailable: %r", exc)
            return _error_response(503, "service_unavailable", "a backing service is unavailable",
                                   headers={"Retry-After": "5"})
        if isinstance(exc, DoesNotExist):
            return _error_response(404, "not_found", "not found")
        if isinstance(exc, FieldValidationError):
            # A value that cannot fit its column (an over-long label in a lookup, say) is bad input;
            # Tortoise's message starts with the field name ("label: Length of ... > 24").
            field, _, reason = str(exc).partition(": ")
            log.warning("field validation error reached the handler: %s", exc)
            return _error_response(422, "validation_failed", f"{field}: {reason[:200] or 'invalid'}",
                                   [{"field": field, "message": reason[:200] or "invalid"}])
        if isinstance(exc, IntegrityError):
            log.warning("integrity error reached the handler: %s", exc)
            return _error_response(409, "conflict", "conflicts with existing data")
        if isinstance(exc, TransactionManagementError):
            log.exception("transaction error")
        else:
            log.exception("unhandled error", extra={"path": request.path})
        return _error_response(500, "internal_error", "internal server error")

    @app.get("/healthz")
    @endpoint(summary="The process is up", response=HealthOut, tags=("ops",))
    async def healthz(request: Request):
        return HealthOut(status="ok")

    @app.get("/readyz")
    @endpoint(summary="The database and Redis answer (503 otherwise)", response=ReadyOut,
              tags=("ops",), errors=(503,))
    async def readyz(request: Request):
        from tortoise import Tortoise

        db_state = redis_state = "ok"
        try:
            await asyncio.wait_for(Tortoise.get_connection("default").execute_query("SELECT 1"), 2)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            db_state = f"error: {type(exc).__name__}"
        try:
            await asyncio.wait_for(runtime.get().redis.ping(), 2)
        except Exception as exc:  # noqa: BLE001
            redis_state = f"error: {type(exc).__name__}"
        if db_state != "ok" or redis_state != "ok":
            raise ServiceUnavailable("not ready", code="not_ready",
                                     details={"database": db_state, "redis": redis_state})
        return ReadyOut(status="ready", database=db_state, redis=redis_state)

    spec_cache: dict = {}

    @app.get("/docs/openapi.json")
    async def openapi_json(request: Request):
        if "spec" not in spec_cache:
            spec_cache["spec"] = orjson.dumps(build_spec(
                app, title="喀左特色馆 Kazuo Specialty Pavilion API", version=VERSION,
                description="Mini-program, livestream and county-office APIs. Money is integer fen; "
                            "times are UTC ISO-8601. Errors: {\"error\": {code, message, details}}."))
        return HTTPResponse(spec_cache["spec"], content_type="application/json")

    @app.get("/docs")
    async def docs(request: Request):
        return html(SWAGGER_HTML.format(title="喀左特色馆"))

    try:
        import swagger_ui_bundle

        app.static("/docs/static", swagger_ui_bundle.swagger_ui_path, name="swagger_static")
    except ImportError:  # the UI is optional; the JSON spec is always served
        pass

    modules = list(BLUEPRINTS)
    if settings.simulators_on:
        from server.integrations.simulators import SIM_BLUEPRINTS

        modules += SIM_BLUEPRINTS
    for mod in modules:
        app.blueprint(importlib.import_module(mod).bp)

    media_dir = settings.data_dir / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    app.static("/media", str(media_dir), name="media")

    @app.before_server_start
    async def _start(app: Sanic):
        await lifecycle.start(settings)
        if settings.embedded_db and settings.seed_demo_on_first_run:
            from server import demo

            await demo.seed_if_empty()

    @app.after_server_start
    async def _start_worker(app: Sanic):
        if settings.inline_worker:
            from jobs.worker import start_inline_worker

            app.ctx.worker = await start_inline_worker()
        # What start-up built (modules, models, routes: ~150,000 objects) lives as long as the process:
        # move it out of the collector's sight, so a full collection walks only what requests left
        # behind (a 50 ms pause becomes a few ms).
        if not gc.get_freeze_count():
            gc.collect()
            gc.freeze()

    @app.before_server_stop
    async def _stop(app: Sanic):
        worker = getattr(app.ctx, "worker", None)
        if worker is not None:
            try:
                await worker.close()
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - a job cut off at shutdown
                # is retried by arq (at-least-once) or re-found by its sweeper; shutdown goes on.
                log.warning("inline worker stopped with a job in flight")
        await lifecycle.stop()

    return app


def asset_path(*parts: str) -> Path:
    return Path(__file__).parent.joinpath(*parts)
