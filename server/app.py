"""Composition root: create_app(settings) builds the Sanic app with every surface mounted."""
from __future__ import annotations

import asyncio
import gc
import hmac
import importlib
import logging
from pathlib import Path

import orjson
from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import html
from tortoise import Tortoise

from config.settings import ConfigError, Settings, get_settings
from jobs.worker import start_inline_worker
from server import startup
from server.alerts import service as alerts
from server.kit import jobs as kjobs
from server.kit import lifecycle, metrics, migrations, pools, runtime, worker_health
from server.kit import logging as kzlog
from server.kit.auth import watch_principal_changes
from server.kit.context import KzRequest, install_header_sanitizer, response_headers
from server.kit.error_catalogue import catalogue, catalogue_html
from server.kit.errors import AppError, KitCode, ServiceUnavailable, Unauthorized, envelope, unavailable
from server.kit.observe import make_observer
from server.kit.http import endpoint
from server.kit.openapi import SWAGGER_HTML, build_spec
from server.kit.protocol import close_after_response
from server.kit.schemas import Out
from server.integrations.simulators import SIM_BLUEPRINTS
from server import demo

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
    "miniprogram_api.subscribe",
    "server.console_api.operations",
    "miniprogram_api.settlement", "server.console_api.settlement",  # statements and fee terms (#23)
    "miniprogram_api.payouts", "server.console_api.payouts",  # payee details and payouts (#23)
    "miniprogram_api.station_cash", "server.console_api.cash",  # station cash hand-over (#23)
    "live.consent_api", "server.console_api.live_pool",  # live selling consent and the 选品池 (#23)
    "server.console_api.office", "server.console_web",  # the county office's desk and the web console (#22)
    "miniprogram_api.collection", "server.console_api.collection",  # first-mile collection (#26)
    "miniprogram_api.reviews", "miniprogram_api.content", "server.console_api.content_reviews",  # (#30)
    "miniprogram_api.complaints", "server.console_api.complaints",  # complaints and reports (#26)
    "miniprogram_api.addresses", "miniprogram_api.merchant_freight", "server.console_api.freight",  # #25
    "miniprogram_api.promotions",  # coupons and festival campaigns (#28)
    "miniprogram_api.aftersales", "server.console_api.aftersales",  # after-sales (#25)
    "miniprogram_api.presale", "server.console_api.presale",  # pre-sale for the harvest (#28)
    "miniprogram_api.share", "server.console_api.sharing",  # share posters and attribution (#29)
    "server.console_api.promotions",  # the office's coupons and campaigns over JSON (#28)
]

class HealthOut(Out):
    status: str


class ReadyOut(Out):
    status: str
    database: str
    redis: str
    worker: str


def _dumps(obj) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def _error_response(status: int, code: str, message: str, details=None, headers=None) -> HTTPResponse:
    return HTTPResponse(orjson.dumps(envelope(code, message, details)),
                        status=status, content_type="application/json", headers=headers)


def _sanic_code(exc: SanicException) -> str:
    return {400: KitCode.BAD_REQUEST, 404: KitCode.NOT_FOUND, 405: KitCode.METHOD_NOT_ALLOWED,
            408: KitCode.REQUEST_TIMEOUT, 413: KitCode.PAYLOAD_TOO_LARGE,
            416: KitCode.RANGE_NOT_SATISFIABLE, 417: KitCode.EXPECTATION_FAILED,
            503: KitCode.SERVICE_UNAVAILABLE}.get(exc.status_code, KitCode.HTTP_ERROR)


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
        "ACCESS_LOG": False,  # ours is server/kit/observe.py (JSON, with route and user id)
        # Behind a reverse proxy (README): which forwarded headers say who the client is.
        "PROXIES_COUNT": settings.proxies_count,
        "REAL_IP_HEADER": settings.real_ip_header or None,
        "FORWARDED_SECRET": (settings.forwarded_secret.get_secret_value()
                             if settings.forwarded_secret is not None else None),
        "KEEP_ALIVE_TIMEOUT": 30,
        "REQUEST_TIMEOUT": 30,
        "RESPONSE_TIMEOUT": 60,
        # On stop: no new connections, in-flight requests get this long, then the connections close.
        "GRACEFUL_SHUTDOWN_TIMEOUT": settings.server_stop_grace_seconds,
        "MOTD": False,
        "AUTO_EXTEND": False,  # no sanic-ext: our own OpenAPI (README: "Why not sanic-ext")
    })
    app.ctx.settings = settings
    startup.install()  # what lifecycle.start wires after the connections (server/startup.py)
    pools.configure(vendor_threads=settings.vendor_pool_threads, cpu_threads=settings.cpu_pool_threads)
    app.ctx.response_headers = response_headers(settings.env == "production")
    KzRequest.observe = make_observer(settings)
    install_header_sanitizer(settings.http_fast_headers)
    metrics.add_scrape_hook(kjobs.queue_gauges)
    metrics.add_scrape_hook(alerts.alert_gauges)

    @app.exception(Exception)
    async def _errors(request: Request, exc: Exception):
        from tortoise.exceptions import DoesNotExist, IntegrityError, TransactionManagementError
        from tortoise.exceptions import ValidationError as FieldValidationError

        if isinstance(exc, AppError):
            return _error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
        if isinstance(exc, SanicException):
            headers = dict(getattr(exc, "headers", None) or {})
            if exc.status_code == 405 and "Allow" not in headers:
                # The router leaves Allow out for methods it does not know (TRACE); RFC 9110 wants it.
                headers["Allow"] = _allowed_methods(request)
            message = str(exc) or _sanic_code(exc)
            if message.startswith("URL may only contain US-ASCII"):
                # A newcomer's `curl "$B/api/v1/products?q=小米"`: say what to do about it.
                message += (" Percent-encode the rest, as wx.request and browsers do "
                            "(curl -G --data-urlencode q=小米 ...).")
            return _error_response(exc.status_code, _sanic_code(exc), message, headers=headers or None)
        if unavailable(exc):
            log.error("dependency unavailable: %r", exc)
            return _error_response(503, KitCode.SERVICE_UNAVAILABLE, "a backing service is unavailable",
                                   headers={"Retry-After": "5"})
        if isinstance(exc, DoesNotExist):
            return _error_response(404, KitCode.NOT_FOUND, "not found")
        if isinstance(exc, FieldValidationError):
            # A value that cannot fit its column (an over-long label in a lookup, say) is bad input;
            # Tortoise's message starts with the field name ("label: Length of ... > 24").
            field, _, reason = str(exc).partition(": ")
            log.warning("field validation error reached the handler: %s", exc)
            return _error_response(422, KitCode.VALIDATION_FAILED, f"{field}: {reason[:200] or 'invalid'}",
                                   [{"field": field, "message": reason[:200] or "invalid"}])
        if isinstance(exc, IntegrityError):
            log.warning("integrity error reached the handler: %s", exc)
            return _error_response(409, KitCode.CONFLICT, "conflicts with existing data")
        if isinstance(exc, TransactionManagementError):
            log.exception("transaction error")
        else:
            log.exception("unhandled error", extra={"path": request.path})
        return _error_response(500, KitCode.INTERNAL_ERROR, "internal server error")

    @app.get("/healthz")
    @endpoint(summary="The process is up", response=HealthOut, tags=("ops",))
    async def healthz(request: Request):
        return HealthOut(status="ok")

    app.ctx.schema_ok = False  # once the schema is found up to date it stays so for this process

    async def _check_database() -> str:
        await asyncio.wait_for(Tortoise.get_connection("default").execute_query("SELECT 1"), 2)
        if not app.ctx.schema_ok:
            missing = await asyncio.wait_for(migrations.pending(), 2)
            if missing:
                return "error: not migrated (missing " + ", ".join(missing[:5]) + ")"
            app.ctx.schema_ok = True
        return "ok"

    async def _check_worker() -> str:
        worker = getattr(app.ctx, "worker", None)
        if settings.inline_worker:
            alive = worker is not None and worker.alive()
            return "ok" if alive else "error: the inline worker is not running"
        age = await asyncio.wait_for(worker_health.heartbeat_age(), 2)
        if age is None:
            return "error: no worker heartbeat"
        if age > settings.worker_heartbeat_max_age_seconds:
            return f"error: the worker heartbeat is {age:.0f} s old"
        return "ok"

    @app.get("/readyz")
    @endpoint(summary="The database (migrated) and Redis answer, a worker is alive (503 otherwise, "
                      "naming the failed checks)", response=ReadyOut, tags=("ops",), errors=(503,))
    async def readyz(request: Request):
        redis_state = "ok"
        try:
            await asyncio.wait_for(runtime.get().redis.ping(), 2)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            redis_state = f"error: {type(exc).__name__}"
        states = {"redis": redis_state}
        for name, check in (("database", _check_database), ("worker", _check_worker)):
            if name == "worker" and redis_state != "ok" and not settings.inline_worker:
                states[name] = "unknown: Redis is down"  # the heartbeat lives in Redis
                continue
            try:
                states[name] = await check()
            except Exception as exc:  # noqa: BLE001
                states[name] = f"error: {type(exc).__name__}"
        failed = sorted(name for name, state in states.items() if state.startswith("error"))
        if failed:  # (a worker "unknown" goes with a failed Redis)
            raise ServiceUnavailable("not ready: " + ", ".join(failed), code=KitCode.NOT_READY,
                                     details={**states, "failed": failed})
        return ReadyOut(status="ready", **states)

    @app.get("/metrics")
    @endpoint(summary="Prometheus metrics (a bearer token in production: KAZUO_METRICS_TOKEN)",
              tags=("ops",), errors=(401,), response_content={metrics.CONTENT_TYPE: {}})
    async def metrics_endpoint(request: Request):
        current = request.app.ctx.settings
        token = current.metrics_token.get_secret_value() if current.metrics_token is not None else None
        if token is not None or current.env == "production":
            auth = request.headers.get("authorization", "")
            given = auth[7:].encode() if auth[:7].lower() == "bearer " else b""
            if token is None or not hmac.compare_digest(given, token.encode()):
                raise Unauthorized("a valid metrics bearer token is required",
                                   code=KitCode.METRICS_TOKEN_REQUIRED,
                                   headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return HTTPResponse(await metrics.render(), content_type=metrics.CONTENT_TYPE)

    spec_cache: dict = {}

    def _spec() -> dict:
        if "dict" not in spec_cache:
            spec_cache["dict"] = build_spec(
                app, title="喀左特色馆 Kazuo Specialty Pavilion API", version=VERSION,
                description="Mini-program, livestream and county-office APIs. Money is integer fen; "
                            "times are UTC ISO-8601. Errors: {\"error\": {code, message, details}}; each "
                            "response lists its codes (x-error-codes), all of them at /docs/error-codes.")
        return spec_cache["dict"]

    @app.get("/docs/openapi.json")
    async def openapi_json(request: Request):
        if "spec" not in spec_cache:
            spec_cache["spec"] = orjson.dumps(_spec())
        return HTTPResponse(spec_cache["spec"], content_type="application/json")

    @app.get("/docs/error-codes.json")
    async def error_codes_json(request: Request):
        if "codes" not in spec_cache:
            spec_cache["codes"] = catalogue(_spec())
        return HTTPResponse(orjson.dumps(spec_cache["codes"]), content_type="application/json")

    @app.get("/docs/error-codes")
    async def error_codes(request: Request):
        if "codes" not in spec_cache:
            spec_cache["codes"] = catalogue(_spec())
        return html(catalogue_html(spec_cache["codes"]))

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
        modules += SIM_BLUEPRINTS
    for mod in modules:
        app.blueprint(importlib.import_module(mod).bp)

    media_dir = settings.data_dir / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    app.static("/media", str(media_dir), name="media")

    @app.before_server_start
    async def _start(app: Sanic):
        await lifecycle.start(settings)
        await lifecycle.record_server_address(settings)
        if settings.embedded_db and settings.seed_demo_on_first_run:
            await demo.seed_if_empty()

    @app.after_server_start
    async def _start_worker(app: Sanic):
        if settings.embedded_redis:
            # Roles changed by the CLI reach this process through the database (the in-process
            # store is ours alone): read every second.
            app.ctx.principal_watch = asyncio.get_running_loop().create_task(watch_principal_changes())
        if settings.inline_worker:
            app.ctx.worker = start_inline_worker()
        # What start-up built (modules, models, routes: ~150,000 objects) lives as long as the process:
        # move it out of the collector's sight, so a full collection walks only what requests left
        # behind (a 50 ms pause becomes a few ms).
        if not gc.get_freeze_count():
            gc.collect()
            gc.freeze()

    @app.before_server_stop
    async def _stopping(app: Sanic):
        # Sanic runs this before it stops accepting and drains the open requests (for up to
        # GRACEFUL_SHUTDOWN_TIMEOUT): the inline worker stops taking jobs now and finishes its
        # running ones meanwhile; nothing the requests use is closed yet.
        watch = getattr(app.ctx, "principal_watch", None)
        if watch is not None:
            watch.cancel()
        worker = getattr(app.ctx, "worker", None)
        if worker is not None:
            worker.request_stop()
        app.ctx.closing = asyncio.get_running_loop().create_task(close_after_response())

    @app.after_server_stop
    async def _stop(app: Sanic):
        # The requests are answered (or cut off after the grace): now the worker's last jobs end
        # and the database and Redis close.
        closing = getattr(app.ctx, "closing", None)
        if closing is not None:
            closing.cancel()
        worker = getattr(app.ctx, "worker", None)
        if worker is not None:
            await worker.stop()
        await lifecycle.stop()

    @app.after_server_stop
    async def _stop_pools(app: Sanic):
        pools.shutdown()
        metrics.flush_requests()  # the last second's request counts

    return app


def asset_path(*parts: str) -> Path:
    return Path(__file__).parent.joinpath(*parts)
