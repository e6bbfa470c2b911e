"""What each response leaves behind: its count and latency by route (server/kit/metrics.py) and, when
on, one JSON access-log line (request id, method, route, path, status, duration, user id, client
address: Sanic's client_ip, which reads forwarded headers only through the proxies configured by
KAZUO_PROXIES_COUNT / KAZUO_REAL_IP_HEADER / KAZUO_FORWARDED_SECRET). Installed as KzRequest.observe
by create_app."""
from __future__ import annotations

import logging
from time import perf_counter
from typing import Callable

from config.settings import Settings
from server.kit import metrics
from server.kit.context import KzRequest

access_log = logging.getLogger("kazuo.access")

_labels: dict[str, str] = {}


def route_label(name: str) -> str:
    """A route's name without the app's ("kazuo.mp_orders.create_order" -> "mp_orders.create_order"):
    the same label whatever the app is called."""
    label = _labels.get(name)
    if label is None:
        label = _labels[name] = name.split(".", 1)[-1]
    return label


def make_observer(settings: Settings) -> Callable[[KzRequest, int], None]:
    """The per-response hook for these settings (the access log decided once, not per request)."""
    log_access = settings.access_log_on
    count = metrics.count_request if settings.metrics_batch else metrics.observe_request

    def observe(request: KzRequest, status: int) -> None:
        route = request.route
        label = route_label(route.name) if route is not None else "unmatched"
        t0 = getattr(request.stream, "perft0", None)
        seconds = perf_counter() - t0 if t0 is not None else None
        count(label, status, seconds)
        if log_access:
            ctx = request._ctx
            principal = getattr(ctx, "principal", None) if ctx is not None else None
            access_log.info("request", extra={
                "request_id": request.request_id, "method": request.method, "route": label,
                "path": request.path, "status": status,
                "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
                "user_id": principal.user_id if principal is not None else None,
                "client": request.client_ip})

    return observe
