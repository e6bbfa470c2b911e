"""arq WorkerSettings. Production: `python -m server worker` (a separate process). Embedded default:
start_inline_worker() runs the same worker inside the server process."""
from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import signal
from typing import Awaitable, Callable

import arq.worker
from arq import cron, func
from arq.worker import Worker

from config.settings import Settings, get_settings
from server import startup
from server.kit import lifecycle, metrics, pools, runtime, worker_health
from server.kit import logging as kzlog

log = logging.getLogger("kazuo.worker")

# Modules that expose JOBS (list of (name, coroutine)) and optionally CRON (list of arq cron jobs).
JOB_MODULES: list[str] = [
    "jobs.platform",
    "jobs.stations",
    "jobs.training",
    "live.jobs",
    "jobs.orders",
    "jobs.fulfillment",
    "jobs.trace",
    "jobs.stats",
    "jobs.reconcile",
    "jobs.settlement",
    "jobs.payouts",
    "jobs.complaints",  # complaints and reports (#26)
    # issue #25: after-sales
    "jobs.aftersales",
    # pre-sale (issue #28)
    "jobs.presale",
    "jobs.notify",  # subscribe messages owed by the outbox, live-preview reminders (#29)
]


def _collect():
    functions, crons = [], []
    for mod_name in JOB_MODULES:
        mod = importlib.import_module(mod_name)
        for name, coro in getattr(mod, "JOBS", []):
            functions.append(func(metrics.instrument_job(name, coro), name=name, max_tries=5, timeout=60))
        mod_crons = getattr(mod, "CRON", [])
        # A module's CRON may be a function, called as a worker starts (sweepers whose interval is a setting)
        for job in mod_crons() if callable(mod_crons) else mod_crons:
            crons.append(dataclasses.replace(job, coroutine=metrics.instrument_job(job.name, job.coroutine)))
    return functions, crons


def worker_kwargs() -> dict:
    functions, crons = _collect()
    s = runtime.settings()
    # arq starts at most max_jobs jobs a poll and polls every poll_delay seconds: with its defaults
    # (10, 0.5 s) a queue drains at 20 jobs a second at best, whatever the jobs cost (a flash sale's
    # queued orders waited seconds for it).
    return dict(functions=functions, cron_jobs=crons, queue_name=s.redis_prefix + "arq:queue",
                job_timeout=60, max_tries=5, keep_result=3600, health_check_interval=30,
                max_jobs=20, poll_delay=0.02)


async def _noop(*_a, **_k):
    return None


class Supervisor:
    """Runs arq's worker loop (`Worker.async_run()`) and starts it again, after a delay that doubles
    up to worker_restart_max_delay_seconds, whenever it ends by an error: arq's own `Worker.main()`
    lets a short Redis outage end the process, and an inline worker task would die unseen. While the
    loop runs it beats the heartbeat (server/kit/worker_health.py). stop() lets running jobs finish
    within worker_stop_grace_seconds and cancels the rest, which arq puts back in its queue (run
    again: jobs are safe to run twice). One supervisor serves the separate worker and the inline one.

    Each start makes a fresh arq Worker: a failure can leave arq's job counters off by one (a Redis
    error between taking a slot and starting the job); jobs still running under an earlier Worker
    run to their end and are waited for at stop."""

    def __init__(self, settings: Settings, *, connect: Callable[[], Awaitable[object]] | None = None):
        self.settings = settings
        self._connect = connect  # the separate worker's lifecycle.start: retried as the loop is
        self.worker: Worker | None = None
        self._workers: list[Worker] = []  # every Worker started, while any of its jobs runs
        self.task: asyncio.Task | None = None
        self.restarts = 0
        self.last_beat: float | None = None  # loop time of the last beat with the poll loop running
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- control ---------------------------------------------------------------------------------
    def start(self) -> "Supervisor":
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.last_beat = self._loop.time()  # the first start counts as alive until the limit passes
        self.task = self._loop.create_task(self._run(), name="kazuo-worker-supervisor")
        return self

    def request_stop(self) -> None:
        """Take no new jobs from now on; stop() (or the task's end) finishes the shutdown."""
        if self._stop is not None:
            self._stop.set()
        if self.worker is not None:
            self.worker.allow_pick_jobs = False

    async def stop(self) -> None:
        """Stop gracefully: running jobs get the grace, then are cancelled (and re-queued by arq)."""
        self.request_stop()
        if self.task is not None:
            await asyncio.shield(self.task)

    def alive(self) -> bool:
        """The supervisor runs and its worker's poll loop ran within the heartbeat limit."""
        if self.task is None or self.task.done() or self.last_beat is None or self._loop is None:
            return False
        return self._loop.time() - self.last_beat <= self.settings.worker_heartbeat_max_age_seconds

    # ---- the loop --------------------------------------------------------------------------------
    async def _run(self) -> None:
        s, loop = self.settings, asyncio.get_running_loop()
        beating = loop.create_task(self._beat())
        delay = 0.5
        try:
            while not self._stop.is_set():
                started = loop.time()
                try:
                    if self._connect is not None:
                        await self._connect()
                        self._connect = None
                    if await self._run_once():
                        return
                    log.warning("the worker loop ended by itself; starting it again")
                except Exception as exc:  # noqa: BLE001 - Redis or the database gone, or a bug: start again
                    log.error("the worker loop failed (%r); starting it again in %.1f s", exc, delay)
                self.restarts += 1
                if loop.time() - started > 60:  # it ran a while: this is a new outage, not the same one
                    delay = 0.5
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, s.worker_restart_max_delay_seconds)
            await self._drain()
        finally:
            beating.cancel()

    async def _run_once(self) -> bool:
        """One run of arq's loop; True when it ended because a stop was asked (after the drain)."""
        worker = Worker(redis_pool=runtime.get().redis, handle_signals=False, **worker_kwargs())
        self.worker = worker
        self._workers = [w for w in self._workers if any(not t.done() for t in w.tasks.values())]
        self._workers.append(worker)
        loop = asyncio.get_running_loop()
        running = loop.create_task(worker.async_run())
        stopping = loop.create_task(self._stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if running.done():
            if running.cancelled():  # not by us: start again rather than let the supervisor end
                raise RuntimeError("the worker loop was cancelled")
            running.result()  # raises what ended it
            return False
        worker.allow_pick_jobs = False
        await self._drain()
        for task in (worker.main_task, running):
            await _cancel(task)
        return True

    async def _drain(self) -> None:
        """Wait up to the grace for running jobs, then cancel the rest (arq puts them back)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.settings.worker_stop_grace_seconds

        def running() -> list[asyncio.Task]:
            return [t for w in self._workers for t in w.tasks.values() if not t.done()]

        while running() and loop.time() < end:
            await asyncio.sleep(0.05)
        left = running()
        if left:
            log.warning("stopping with %d jobs still running: cancelled, arq runs them again", len(left))
            for t in left:
                t.cancel()
            await asyncio.wait(left, timeout=5)  # arq records each as "run again" (a Redis write)

    async def _beat(self) -> None:
        every = self.settings.worker_heartbeat_seconds
        warned = False
        while True:
            w = self.worker
            if w is not None and w.main_task is not None and not w.main_task.done():
                self.last_beat = asyncio.get_running_loop().time()
                try:
                    await asyncio.wait_for(worker_health.beat(), every)
                    warned = False
                except Exception as exc:  # noqa: BLE001 - Redis down: the loop itself fails and restarts
                    if not warned:
                        log.warning("could not write the worker heartbeat: %r", exc)
                    warned = True
            await asyncio.sleep(every)


async def _cancel(task: asyncio.Task | None, timeout: float = 5) -> None:
    """Cancel task and wait for its end, cancelling again while it runs: on Python 3.11 a
    cancellation that meets an inner asyncio.wait_for finishing at the same moment is lost (redis-py
    waits for a pooled connection with one), and arq's loop would poll on after its stop."""
    if task is None:
        return
    end = asyncio.get_running_loop().time() + timeout
    while not task.done() and asyncio.get_running_loop().time() < end:
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


def start_inline_worker() -> Supervisor:
    """Run the supervised worker as a task in this process (embedded default and tests)."""
    arq.worker.log_redis_info = _noop  # fakeredis has no INFO
    return Supervisor(runtime.settings()).start()


def _yield_cpu(nice: int) -> None:
    """Run below the HTTP server: the queue absorbs a burst (a flash sale's winners), the buyers'
    answers do not wait behind it. Linux shares CPU between sessions first (autogroup) and only then
    between the processes of one, so a worker in a session of its own sets its session's nice too."""
    if nice <= 0:
        return
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:  # not Linux, autogroup off, or not our session: the process nice stands
        pass


async def serve(settings: Settings) -> None:
    """The separate worker: connect (retried like the loop), run supervised until SIGTERM or SIGINT,
    stop gracefully, close the connections. A second signal cuts the grace short."""
    loop = asyncio.get_running_loop()
    try:  # the server's recorded address, for the simulators and notify URLs
        settings = await lifecycle.worker_settings(settings)
    except Exception as exc:  # noqa: BLE001 - Redis not reachable yet: KAZUO_PUBLIC_BASE_URL or host:port
        log.warning("the server's address could not be read (%r); using %s", exc, settings.base_url)
    pools.configure(vendor_threads=settings.vendor_pool_threads, cpu_threads=settings.cpu_pool_threads)
    startup.install()
    sup = Supervisor(settings, connect=lambda: lifecycle.start(settings))

    def on_signal(sig: signal.Signals) -> None:
        if sup._stop is not None and sup._stop.is_set():
            log.warning("%s again: cancelling the running jobs now", sig.name)
            for w in sup._workers:
                for t in w.tasks.values():
                    t.cancel()
            return
        log.info("%s: stopping (running jobs get %.0f s)", sig.name, settings.worker_stop_grace_seconds)
        sup.request_stop()

    sup.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await sup.task
    finally:
        await lifecycle.stop()
        pools.shutdown()
    log.info("worker stopped")


def run_worker() -> None:
    """Start the standalone worker (blocks until SIGTERM/SIGINT; then exits 0)."""
    settings = get_settings()
    kzlog.setup(settings.log_level)
    _yield_cpu(settings.worker_nice)
    try:
        import uvloop  # Sanic's loop, installed with it wherever it runs (not on Windows)
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop else asyncio.run)(serve(settings))


__all__ = ["cron", "Supervisor", "start_inline_worker", "run_worker", "serve", "worker_kwargs"]
