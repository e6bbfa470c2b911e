"""Background jobs (arq). enqueue() inside a transaction waits for the commit and is dropped on
rollback; jobs take ids and must be safe to run twice (arq delivers at least once)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from server.kit import runtime
from server.kit.db import on_commit

log = logging.getLogger("kazuo.jobs")


def queue_name() -> str:
    return runtime.settings().redis_prefix + "arq:queue"


async def _enqueue_now(name: str, args: tuple, job_id: str | None, defer: timedelta | None) -> None:
    try:
        await runtime.get().redis.enqueue_job(
            name, *args, _job_id=job_id, _defer_by=defer, _queue_name=queue_name())
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


async def enqueue_checked(name: str, *args: Any, job_id: str | None = None) -> None:
    """Enqueue job `name` now and wait until Redis has it: a failure raises (the caller answers 503),
    for work that nothing but this job would pick up."""
    await runtime.get().redis.enqueue_job(name, *args, _job_id=_namespaced(job_id), _queue_name=queue_name())
