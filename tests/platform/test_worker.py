"""The supervised worker (jobs/worker.py Supervisor): it starts arq's loop again after an error,
stops gracefully (running jobs get the grace, the rest go back to arq's queue), beats its heartbeat;
/readyz names the failed check (the worker, the schema); sweepers can always run again; a database
that cannot be reached answers 503 with Retry-After. Both backends (the real-stack fault tests with
killed processes are in test_faults.py)."""
import asyncio
import sqlite3
import time

import asyncpg
import pytest
from arq.constants import in_progress_key_prefix, result_key_prefix
from arq.jobs import Job, JobStatus
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from tortoise.exceptions import OperationalError

from jobs import platform as platform_jobs
from jobs.worker import Supervisor, start_inline_worker
from server.kit import errors, jobs, migrations, runtime, worker_health
from server.kit import redis as kr
from server.models.fulfillment import FulfillmentTask
from tests.conftest import wait_for
from tests.fulfillment.factories import network
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body

async def _sleep_job(ctx, seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@pytest.fixture
async def own_worker(app, settings, monkeypatch):
    """own_worker(**setting overrides): the app's inline worker stopped, and a Supervisor of our
    own (knowing the job test.sleep) started with the overridden settings, which the services see
    too. Afterwards: ours stopped, the settings back, the app's inline worker started again."""
    await app.ctx.worker.stop()
    assert app.ctx.worker.worker.main_task.done()  # its loop polls no more
    monkeypatch.setattr(platform_jobs, "JOBS", [*platform_jobs.JOBS, ("test.sleep", _sleep_job)])
    started: list[Supervisor] = []

    def start(**overrides) -> Supervisor:
        fast = settings.model_copy(update=overrides)
        monkeypatch.setattr(runtime.get(), "settings", fast)
        sup = Supervisor(fast).start()
        started.append(sup)
        return sup

    yield start
    for sup in started:
        sup.settings = sup.settings.model_copy(update={"worker_stop_grace_seconds": 0})
        await sup.stop()
    monkeypatch.undo()
    app.ctx.worker = start_inline_worker()


async def _enqueue(name: str, *args, job_id: str) -> Job:
    pool = runtime.get().redis
    job = await pool.enqueue_job(name, *args, _job_id=job_id, _queue_name=jobs.queue_name())
    assert job is not None
    return job


async def test_the_worker_loop_starts_again_after_redis_errors_and_beats(client, own_worker, monkeypatch):
    failures = []
    poll = Worker._poll_iteration

    async def flaky(self):
        if len(failures) < 2:
            failures.append(self)
            raise RedisConnectionError("Connection reset by peer")
        return await poll(self)

    monkeypatch.setattr(Worker, "_poll_iteration", flaky)
    sup = own_worker(worker_heartbeat_seconds=0.2)
    job = await _enqueue("platform.ping", "again", job_id=kr.key("test", "ping", time.time_ns()))
    assert (await job.result(timeout=15, poll_delay=0.1)).startswith("pong again")
    assert len(failures) == 2 and sup.worker not in failures
    assert sup.restarts == 2 and sup.alive()
    assert await wait_for(lambda: _fresh_beat(1.0), 3)


async def test_a_worker_loop_cancelled_from_outside_is_started_again(client, own_worker):
    sup = own_worker()

    async def polling():
        return sup.worker is not None and sup.worker.main_task is not None

    assert await wait_for(polling, 5)
    first = sup.worker

    async def cancelled():  # arq's loop may swallow a cancel that lands inside its own wait: ask again
        first.main_task.cancel()
        await asyncio.sleep(0.05)
        return first.main_task.done()

    assert await wait_for(cancelled, 5)

    async def restarted():
        return sup.worker is not first and sup.worker.main_task is not None and not sup.worker.main_task.done()

    assert await wait_for(restarted, 5) and sup.restarts == 1 and sup.alive()
    job = await _enqueue("platform.ping", "back", job_id=kr.key("test", "ping", time.time_ns()))
    assert (await job.result(timeout=10, poll_delay=0.1)).startswith("pong back")


async def _fresh_beat(limit: float) -> bool:
    age = await worker_health.heartbeat_age()
    return age is not None and age < limit


async def test_stop_lets_running_jobs_finish_within_the_grace(client, own_worker):
    sup = own_worker(worker_stop_grace_seconds=5)
    job = await _enqueue("test.sleep", 0.6, job_id=kr.key("test", "sleep", time.time_ns()))
    # this job (not any cron job that happens to run) is under way
    assert await wait_for(lambda: _is(job, JobStatus.in_progress), 5)
    start = time.monotonic()
    await sup.stop()
    assert 0.2 < time.monotonic() - start < 5
    assert sup.task.done() and not sup.alive()
    assert (await job.result_info()).success


async def _is(job, status: JobStatus) -> bool:
    return await job.status() == status


async def test_a_job_still_running_after_the_grace_goes_back_to_the_queue(client, own_worker):
    sup = own_worker(worker_stop_grace_seconds=0.3)
    job_id = kr.key("test", "sleep", time.time_ns())
    job = await _enqueue("test.sleep", 30, job_id=job_id)
    assert await wait_for(lambda: _is(job, JobStatus.in_progress), 5)
    start = time.monotonic()
    await sup.stop()
    assert time.monotonic() - start < 3
    pool = runtime.get().redis
    # cancelled by the stop, then left queued for the next worker (arq's "run again"), not failed
    assert await job.status() == JobStatus.queued
    assert await pool.get(in_progress_key_prefix + job_id) is None
    assert await pool.get(result_key_prefix + job_id) is None
    await pool.zrem(jobs.queue_name(), job_id)


async def test_readyz_fails_while_the_inline_worker_is_dead_and_says_so(client, app, own_worker):
    await app.ctx.worker.stop()  # (already stopped by own_worker: the app's supervisor is not running)
    r = await client.get("/readyz")
    assert r.status_code == 503
    body = r.json()["error"]
    assert body["code"] == "not_ready" and body["details"]["failed"] == ["worker"]
    assert body["details"]["database"] == "ok" and body["details"]["redis"] == "ok"


async def test_readyz_of_a_separate_worker_reads_its_heartbeat(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "worker_mode", "separate")
    await worker_health.beat(time.time() - 100)
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["details"]["failed"] == ["worker"]
    assert "100 s old" in r.json()["error"]["details"]["worker"]
    await kr.redis().delete(kr.key("worker", "heartbeat"))
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["details"]["worker"] == "error: no worker heartbeat"
    await worker_health.beat()
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["worker"] == "ok"


async def test_readyz_fails_on_a_schema_behind_the_committed_one(client, app, monkeypatch):
    async def behind():
        return ["9_20990101000000_later.py"]

    monkeypatch.setattr(migrations, "pending", behind)
    monkeypatch.setattr(app.ctx, "schema_ok", False)
    r = await client.get("/readyz")
    assert r.status_code == 503
    details = r.json()["error"]["details"]
    assert details["failed"] == ["database"] and "not migrated" in details["database"]
    assert "9_20990101000000_later.py" in details["database"]
    monkeypatch.undo()
    app.ctx.schema_ok = False
    assert (await client.get("/readyz")).status_code == 200 and app.ctx.schema_ok


async def test_pending_compares_the_schema_with_the_committed_one(client, on_postgres, monkeypatch):
    from tortoise import Tortoise

    assert await migrations.pending() == []  # the tests' schema is generated from the models
    monkeypatch.setattr(FulfillmentTask._meta, "db_table", "no_such_table")
    assert await migrations.pending() == ["no_such_table"]
    monkeypatch.undo()
    if on_postgres:  # aerich's record of applied migrations is compared with the committed files
        versions = migrations.committed()
        assert len(versions) >= 4 and versions[0].startswith("0_")
        conn = Tortoise.get_connection("default")
        await conn.execute_query("INSERT INTO aerich (version, app, content) VALUES ($1, 'models', '{}')",
                                 [versions[0]])
        try:
            assert await migrations.pending() == versions[1:]
        finally:
            await conn.execute_query("DELETE FROM aerich WHERE version = $1", [versions[0]])


@pytest.mark.parametrize("exc, unavailable", [
    (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
    (asyncpg.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
    (asyncpg.InterfaceError("connection is closed"), True),
    (asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool"), True),
    (asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in "
                                            "progress"), True),
    (ConnectionRefusedError(111, "Connect call failed"), True),
    (OperationalError(sqlite3.OperationalError("database is locked")), True),
    (OperationalError(sqlite3.OperationalError("no such column: x")), False),
    (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
    (ValueError("bad"), False),
])
def test_what_counts_as_a_backing_service_unavailable(exc, unavailable):
    assert errors.unavailable(exc) is unavailable


@pytest.mark.parametrize("exc", [asyncpg.ConnectionDoesNotExistError("connection was closed"),
                                 OperationalError(sqlite3.OperationalError("database is locked"))])
async def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(client, monkeypatch, exc):
    from server.stations import network

    async def down(station_id):
        raise exc

    monkeypatch.setattr(network, "public_station", down)
    r = await client.get("/api/v1/stations/1")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["error"]["code"] == "service_unavailable"


async def test_a_paid_order_whose_job_and_sweeper_failed_is_handed_off_once_the_cause_is_gone(
        client, own_worker, consumer, monkeypatch):
    """The handoff job fails, the sweeper's job for the same order fails too; once the warehouse
    side works again the next sweep hands the order off (before: the sweeper's fixed job id stayed
    taken by the failed result arq keeps for an hour)."""
    from server.fulfillment import service as fulfillment

    own_worker(sweep_every_seconds=2, fulfillment_handoff_grace_seconds=0)
    real, calls, down = fulfillment.handoff, [], [True]

    async def handoff(order_id: int):
        if order_id == oid:
            calls.append(time.monotonic())
            if down[0]:
                raise RuntimeError("the warehouse database is being repaired")
        return await real(order_id)

    monkeypatch.setattr(fulfillment, "handoff", handoff)
    sku, station = await make_sku(stock=5), (await network()).village
    oid = (await checkout(consumer, pickup_body(station.id, (sku.id, 1)))).json()["id"]
    assert (await pay_and_notify(consumer, oid))["delivered"]

    async def failed_twice():
        return len(calls) >= 2

    assert await wait_for(failed_twice, 20)  # the payment's own job, then the sweeper's
    assert not await FulfillmentTask.filter(order_id=oid).exists()
    down[0] = False
    fixed = time.monotonic()

    async def handed_off():
        return await FulfillmentTask.filter(order_id=oid).exists()

    assert await wait_for(handed_off, 60, step=0.2)
    assert time.monotonic() - fixed < 60
    await asyncio.sleep(2.5)  # another sweep: still one task
    assert await FulfillmentTask.filter(order_id=oid).count() == 1
