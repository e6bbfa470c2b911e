"""Background jobs (arq). enqueue() inside a transaction waits for the commit and is dropped on
rollback; jobs take ids and must be safe to run twice (arq delivers at least once)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import uuid4

from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms

from server.kit import clock, metrics, runtime
from server.kit import redis as kr
from server.kit.db import on_commit

log = logging.getLogger("kazuo.jobs")


def queue_name() -> str:
    return runtime.settings().redis_prefix + "arq:queue"


async def queue_gauges() -> list[metrics.Gauge]:
    """/metrics, at scrape time: jobs waiting in arq's queue (a sorted set scored by the time each is
    due), due now and deferred, and how long the oldest due job has waited."""
    name = queue_name()
    now_ms = timestamp_ms()
    pipe = runtime.get().redis.pipeline(transaction=False)
    pipe.zcount(name, "-inf", now_ms)
    pipe.zcard(name)
    pipe.zrangebyscore(name, "-inf", now_ms, start=0, num=1, withscores=True)
    due, total, oldest = await pipe.execute()
    age = (now_ms - oldest[0][1]) / 1000 if oldest else 0.0
    depth = metrics.Gauge("kazuo_job_queue_depth", "Jobs in the queue, due now (ready) or later (deferred)",
                          ("queue", "state"), [((name, "ready"), due), ((name, "deferred"), total - due)])
    oldest_age = metrics.Gauge("kazuo_job_queue_oldest_age_seconds",
                               "How long the oldest due job has waited (0: none waiting)", ("queue",),
                               [((name,), max(age, 0.0))])
    return [depth, oldest_age]


def _now_and_delay(defer: timedelta | None) -> tuple[int, int]:
    return timestamp_ms(), to_ms(defer) or 0


def _job_keys(job_id: str) -> tuple[str, str]:
    """arq's keys of a job and of its result."""
    return job_key_prefix + job_id, result_key_prefix + job_id


def _record(name: str, args: tuple, now_ms: int) -> bytes:
    """A job's record in arq's own format, so its worker runs it."""
    return serialize_job(name, args, {}, None, now_ms, serializer=runtime.get().redis.job_serializer)


async def _enqueue_now(name: str, calls: list[tuple[tuple, str | None]], defer: timedelta | None) -> None:
    """arq's enqueue_job (same keys, same job format, same "nothing if the id is taken") as one Lua
    call for all the calls' jobs (server/kit/lua/enqueue_job.lua): arq's own takes three round
    trips a job and a connection of its own (WATCH/MULTI). The calls of one loop turn share one
    pipeline besides."""
    try:
        now_ms, defer_ms = _now_and_delay(defer)
        keys: list[str] = [queue_name()]
        argv: list[Any] = [defer_ms + expires_extra_ms, now_ms + defer_ms]
        for args, job_id in calls:
            job_id = job_id or uuid4().hex
            keys += _job_keys(job_id)
            argv += (_record(name, args, now_ms), job_id)
        await kr.script_batched("enqueue_job", keys, argv)
    except Exception:  # Redis is not the source of truth: a sweeper re-finds the work
        log.exception("enqueue failed", extra={"job": name})


def _namespaced(job_id: str | None) -> str | None:
    """arq keeps a job and its result under the bare id, not under the queue, so ids are namespaced
    with the deployment's Redis prefix: two deployments (or test runs) sharing one Redis must not
    swallow each other's jobs."""
    if job_id is not None:
        prefix = runtime.settings().redis_prefix
        if not job_id.startswith(prefix):
            job_id = kr.key("job", job_id)
    return job_id


def enqueue(name: str, *args: Any, job_id: str | None = None,
            defer: timedelta | None = None) -> None:
    """Enqueue job `name` after the surrounding transaction commits (at once outside one).
    job_id dedups while arq keeps the job or its result."""
    enqueue_many(name, [(args, job_id)], defer=defer)


def enqueue_many(name: str, calls: list[tuple[tuple, str | None]], *, defer: timedelta | None = None) -> None:
    """enqueue() for each (args, job_id) of calls, all in one Redis call (a batch of checkouts'
    cancel jobs)."""
    calls = [(args, _namespaced(job_id)) for args, job_id in calls]
    on_commit(lambda: _enqueue_now(name, calls, defer))


def job_record(name: str, *args: Any, job_id: str) -> tuple[list[str], list[Any]]:
    """A job's keys and record in arq's format, for a Lua script that enqueues it along with other
    writes (one atomic step): KEYS job, result, queue; ARGV expiry ms, serialized job, score ms, id."""
    job_id = _namespaced(job_id)
    now_ms, _ = _now_and_delay(None)
    return ([*_job_keys(job_id), queue_name()], [expires_extra_ms, _record(name, args, now_ms), now_ms, job_id])


def sweep_seconds(offset: int) -> set[int]:
    """The seconds of each minute at which a minutely sweeper runs (every sweep_every_seconds,
    starting at offset): an arq cron's `second=`."""
    every = runtime.settings().sweep_every_seconds
    return set(range(offset % every, 60, every))


def sweep_window() -> int:
    """The current sweep window, for the ids of the jobs a sweeper enqueues: runs within one window
    share ids (nothing enqueued twice), the next window's run has new ones. A fixed id would block
    the work for an hour after one failure: arq keeps a failed job's result, and with it its id."""
    return int(clock.now().timestamp()) // runtime.settings().sweep_every_seconds
