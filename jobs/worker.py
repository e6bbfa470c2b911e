"""arq WorkerSettings. Production: `python -m server worker` (a separate process). Embedded default:
start_inline_worker() runs the same worker inside the server process."""
from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging

import arq.worker
from arq import cron, func
from arq.worker import Worker

from config.settings import get_settings
from server.kit import lifecycle, metrics, pools, runtime

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
]


def _collect():
    functions, crons = [], []
    for mod_name in JOB_MODULES:
        mod = importlib.import_module(mod_name)
        for name, coro in getattr(mod, "JOBS", []):
            functions.append(func(metrics.instrument_job(name, coro), name=name, max_tries=5, timeout=60))
        for job in getattr(mod, "CRON", []):
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


async def start_inline_worker() -> Worker:
    """Run the worker as a task in this process (embedded default and tests)."""
    arq.worker.log_redis_info = _noop  # fakeredis has no INFO
    worker = Worker(redis_pool=runtime.get().redis, handle_signals=False, **worker_kwargs())
    worker._kz_task = asyncio.get_running_loop().create_task(worker.async_run())
    return worker


async def _startup(ctx):
    await lifecycle.start(get_settings())


async def _shutdown(ctx):
    await lifecycle.stop()


def _yield_cpu(nice: int) -> None:
    """Run below the HTTP server: the queue absorbs a burst (a flash sale's winners), the buyers'
    answers do not wait behind it. Linux shares CPU between sessions first (autogroup) and only then
    between the processes of one, so a worker in a session of its own sets its session's nice too."""
    import os

    if nice <= 0:
        return
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:  # not Linux, autogroup off, or not our session: the process nice stands
        pass


def run_worker() -> None:
    """Start the standalone worker (blocks)."""
    settings = get_settings()
    _yield_cpu(settings.worker_nice)

    async def main():
        pools.configure(vendor_threads=settings.vendor_pool_threads, cpu_threads=settings.cpu_pool_threads)
        await lifecycle.start(await lifecycle.worker_settings(settings))
        try:
            worker = Worker(redis_pool=runtime.get().redis, **worker_kwargs())
            await worker.main()
        finally:
            await lifecycle.stop()
            pools.shutdown()

    try:
        import uvloop  # Sanic's loop, installed with it wherever it runs (not on Windows)
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop else asyncio.run)(main())


__all__ = ["cron", "start_inline_worker", "run_worker", "worker_kwargs"]
