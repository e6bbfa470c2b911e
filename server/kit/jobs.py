"""Background jobs (arq). enqueue() inside a transaction waits for the commit and is dropped on
rollback; jobs take ids and must be safe to run twice (arq delivers at least once)."""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from server.kit import runtime
from server.kit.db import on_commit

log = logging.getLogger("kazuo.jobs")


def queue_name() -> str:
    return runtime.settings().redis_prefix + "arq:queue"


async def _enqueue_now(name: str, args: tuple, job_id: str | None, defer: timedelta | None) -> None:
    """arq's enqueue_job (same keys, same job format, same "nothing if the id is taken") as one Lua
    call: arq's own takes three round trips and a connection of its own (WATCH/MULTI)."""
    from uuid import uuid4

    from arq.constants import job_key_prefix, result_key_prefix
    from arq.jobs import serialize_job
    from arq.utils import timestamp_ms, to_ms

    from server.kit import redis as kr

    try:
        arq_redis = runtime.get().redis
        job_id = job_id or uuid4().hex
        now_ms = timestamp_ms()
        defer_ms = to_ms(defer) or 0
        job = serialize_job(name, args, {}, None, now_ms, serializer=arq_redis.job_serializer)
        await kr.script("enqueue_job", [job_key_prefix + job_id, result_key_prefix + job_id, queue_name()],
                        [defer_ms + arq_redis.expires_extra_ms, job, now_ms + defer_ms, job_id])
    except Exception:  # Redis is not the source of truth: a sweeper re-finds the work
        log.exception("enqueue failed", extra={"job": name})


def _namespaced(job_id: str | None) -> str | None:
    """arq keeps a job and its result under the bare id, not under the queue, so ids are namespaced
    with the deployment's Redis prefix: two deployments (or test runs) sharing one Redis must not
    swallow each other's jobs."""
    if job_id is not None:
        from server.kit import redis as kr

        prefix = runtime.settings().redis_prefix
        if not job_id.startswith(prefix):
            job_id = kr.key("job", job_id)
    return job_id


def enqueue(name: str, *args: Any, job_id: str | None = None,
            defer: timedelta | None = None) -> None:
    """Enqueue job `name` after the surrounding transaction commits (at once outside one).
    job_id dedups while arq keeps the job or its result."""
    job_id = _namespaced(job_id)
    on_commit(lambda: _enqueue_now(name, args, job_id, defer))


def enqueue_in(pipe: Any, name: str, *args: Any, job_id: str) -> None:
    """Add the commands that enqueue job `name` now to a Redis pipeline, in arq's own format (the
    job under its key, its id in the queue), so it goes in one round trip with the caller's other
    commands. Nothing checks that the id is new: use an id made for this job alone."""
    from arq.constants import expires_extra_ms, job_key_prefix
    from arq.jobs import serialize_job

    job_id = _namespaced(job_id)
    now_ms = int(time.time() * 1000)
    pipe.psetex(job_key_prefix + job_id, expires_extra_ms, serialize_job(name, args, {}, None, now_ms))
    pipe.zadd(queue_name(), {job_id: now_ms})
