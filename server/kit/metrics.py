"""Prometheus metrics: per-route request counts and latency, business counters, job failures and
sweeper finds, and gauges read at scrape time (queue depth, heartbeat age, alerts).

Several processes (Sanic workers, `server worker`) on one host share one set of figures through
prometheus-client's multiprocess mode: the CLI sets PROMETHEUS_MULTIPROC_DIR (KAZUO_METRICS_DIR,
default {data dir}/metrics) before anything imports prometheus_client, and every process writes its
counters to files there that /metrics sums. Without that variable (the tests' in-process server) the
figures live in this process's memory and /metrics reads them from there.

Requests are counted in KzRequest.respond (server/kit/context.py), which every response passes
through, by route name (not URL: ids would make a series per order); no middleware (it costs a fifth
of a short request's throughput, see context.py). A request's count and latency are added up in
memory and written once a second (count_request; in multiprocess mode each write is a locked write to
a memory-mapped file, 7.6 µs a request measured on this 2-core machine under load)."""
from __future__ import annotations

import asyncio
import functools
import logging
import os
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from arq import Retry
from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("kazuo.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # no *_created series: a counter's start time is noise on a dashboard
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# ---- HTTP ------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("kazuo_http_requests", "HTTP responses by route name and status code",
                        ["route", "status"])
_LATENCY_BUCKETS = (.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
HTTP_LATENCY = Histogram("kazuo_http_request_duration_seconds",
                         "Time from the request's head to its response, by route name", ["route"],
                         buckets=_LATENCY_BUCKETS)

# ---- business counters (one line at the point in the service where each happens) ------------------
ORDERS_PLACED = Counter("kazuo_orders_placed", "Orders written by checkout")
PAYMENTS = Counter("kazuo_payments", "Verified WeChat payments by outcome (applied, duplicate, stray)",
                   ["outcome"])
PAYMENTS_REJECTED = Counter("kazuo_payments_rejected", "Payment notifications refused, by reason", ["reason"])
REFUNDS = Counter("kazuo_refunds", "Refund results applied, by outcome (applied, failed, duplicate, ...)",
                  ["outcome"])
NOTIFICATIONS = Counter("kazuo_pay_notifications_received", "WeChat Pay notifications received, by kind",
                        ["kind"])
PICKUP_VERIFICATIONS = Counter("kazuo_pickup_verifications", "Pickup verifications at stations, by result "
                               "(picked_up or the error code)", ["result"])
PICKUP_LOCKOUTS = Counter("kazuo_pickup_lockouts", "Stations locked after repeated wrong pickup codes")
FLASH_GATE = Counter("kazuo_flash_gate", "Flash-sale gate answers (taken, sold_out, over_limit, cold, "
                     "key_taken)", ["result"])
SMS_SENT = Counter("kazuo_sms_sent", "SMS accepted by Aliyun, by kind (code, notice)", ["kind"])
SMS_REFUSED = Counter("kazuo_sms_refused", "SMS not sent, by reason (rate_limited, provider)", ["reason"])

# ---- jobs --------------------------------------------------------------------------------------------
JOB_FAILURES = Counter("kazuo_job_failures", "Job runs that raised (arq retries them up to max_tries)",
                       ["job"])
SWEEPER_FINDS = Counter("kazuo_sweeper_finds", "Work a sweeper found and re-enqueued: each one is a job "
                        "that was lost (or not yet run)", ["sweeper", "kind"])


def reason_label(reason: object) -> str:
    """A label from a fixed message ("bad signature" -> "bad_signature"); only for messages drawn from
    a fixed set, so the series stay few."""
    return "_".join(str(reason).lower().split())[:48] or "unknown"


# ---- the request hook (KzRequest.respond) -------------------------------------------------------------
_children: dict[tuple[str, int], Any] = {}
_latency: dict[str, Any] = {}


def observe_request(route: str, status: int, seconds: float | None) -> None:
    """Count one response of route (a route name) and, when known, its latency."""
    child = _children.get((route, status))
    if child is None:
        child = _children[(route, status)] = HTTP_REQUESTS.labels(route, str(status))
    child.inc()
    if seconds is not None:
        hist = _latency.get(route)
        if hist is None:
            hist = _latency[route] = HTTP_LATENCY.labels(route)
        hist.observe(seconds)


# ---- the same, added up in this process's memory and written once a second -------------------------------
# KAZUO_METRICS_BATCH (the default): a response is two dictionary additions here, and the sums go to
# prometheus-client's children at most once a second, before every scrape and at shutdown (the
# library's path is 7.6 µs a response in multiprocess mode, ~5% of the server's CPU in a flash crowd
# by py-spy). A histogram's sums are added to its bucket and sum values (prometheus-client's
# `_buckets` and `_sum`: the canary test in tests/platform/test_canaries.py fails, naming the
# setting, if a release changes them; KAZUO_METRICS_BATCH=false is then observe_request above). A
# scrape served by one Sanic worker shows the others' last second once they have written it.
FLUSH_EVERY_S = 1.0
_pending_counts: dict[tuple[str, int], int] = {}
_pending_latency: dict[str, list[float]] = {}   # route: [count per bucket ..., +Inf, sum]
_flush_handle: asyncio.TimerHandle | None = None


def count_request(route: str, status: int, seconds: float | None) -> None:
    """observe_request, added up here until the next flush_requests."""
    global _flush_handle
    key = (route, status)
    _pending_counts[key] = _pending_counts.get(key, 0) + 1
    if seconds is not None:
        sums = _pending_latency.get(route)
        if sums is None:
            sums = _pending_latency[route] = [0] * (len(_LATENCY_BUCKETS) + 1) + [0.0]
        sums[bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        sums[-1] += seconds
    if _flush_handle is None:
        try:
            _flush_handle = asyncio.get_running_loop().call_later(FLUSH_EVERY_S, flush_requests)
        except RuntimeError:  # no loop running (a script): nothing would flush later
            flush_requests()


def flush_requests() -> None:
    """Write what count_request added up to prometheus-client's children."""
    global _flush_handle
    if _flush_handle is not None:
        _flush_handle.cancel()
        _flush_handle = None
    counts, latency = dict(_pending_counts), dict(_pending_latency)
    _pending_counts.clear()
    _pending_latency.clear()
    for (route, status), n in counts.items():
        child = _children.get((route, status))
        if child is None:
            child = _children[(route, status)] = HTTP_REQUESTS.labels(route, str(status))
        child.inc(n)
    for route, sums in latency.items():
        hist = _latency.get(route)
        if hist is None:
            hist = _latency[route] = HTTP_LATENCY.labels(route)
        for bucket, n in zip(hist._buckets, sums):
            if n:
                bucket.inc(n)
        hist._sum.inc(sums[-1])


# ---- jobs: failures and sweeper finds -------------------------------------------------------------------
def _finds(result: Any) -> Iterable[tuple[str, int]]:
    if isinstance(result, bool):
        return ()
    if isinstance(result, int):
        return (("all", result),) if result > 0 else ()
    if isinstance(result, dict):
        return tuple((str(k), v) for k, v in result.items()
                     if isinstance(v, int) and not isinstance(v, bool) and v > 0)
    return ()


def instrument_job(name: str, coro: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """The job coroutine, counting its failures (a Retry is not one) and, for a sweeper (a name with
    "sweep"), what it found: a count or a dict of counts, as the sweepers return."""
    sweeper = "sweep" in name
    label = name.removeprefix("cron:")

    @functools.wraps(coro)
    async def run(ctx, *args, **kwargs):
        try:
            result = await coro(ctx, *args, **kwargs)
        except Retry:
            raise
        except Exception:
            JOB_FAILURES.labels(label).inc()
            raise
        if sweeper:
            for kind, n in _finds(result):
                SWEEPER_FINDS.labels(label, kind).inc(n)
        return result

    return run


# ---- gauges read at scrape time -------------------------------------------------------------------------
@dataclass
class Gauge:
    """One gauge family a scrape hook reports: samples are (labels, value)."""
    name: str
    help: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


# Async callables () -> Iterable[Gauge], awaited at every scrape. A hook that raises is logged and
# reported as kazuo_metrics_hook_errors{hook}; the others still answer. Registered by the composition
# roots (server/app.py) and by capabilities that own a figure (the worker heartbeat, the alerts).
SCRAPE_HOOKS: list[Callable[[], Awaitable[Iterable[Gauge]]]] = []


def add_scrape_hook(fn: Callable[[], Awaitable[Iterable[Gauge]]]) -> None:
    """Register fn to report gauges at every scrape (once per fn)."""
    if fn not in SCRAPE_HOOKS:
        SCRAPE_HOOKS.append(fn)


class _Scraped:
    """A collector over the gauges gathered for one scrape."""

    def __init__(self, gauges: list[Gauge]):
        self.gauges = gauges

    def collect(self):
        for g in self.gauges:
            family = GaugeMetricFamily(g.name, g.help, labels=list(g.labels))
            for labels, value in g.samples:
                family.add_metric(list(labels), float(value))
            yield family


async def _gather() -> list[Gauge]:
    gauges: list[Gauge] = []
    errors = Gauge("kazuo_metrics_hook_errors", "Scrape hooks that failed in this scrape", ("hook",))
    for hook in list(SCRAPE_HOOKS):
        try:
            gauges.extend(await hook())
        except Exception:  # noqa: BLE001 - one broken figure must not hide the others
            log.exception("metrics scrape hook failed", extra={"hook": getattr(hook, "__name__", "?")})
            errors.samples.append(((getattr(hook, "__name__", "?"),), 1))
    gauges.append(errors)
    return gauges


async def render() -> bytes:
    """The Prometheus text exposition: every process's counters plus this scrape's gauges."""
    flush_requests()
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(_Scraped(await _gather()))
    return text + generate_latest(scraped)
