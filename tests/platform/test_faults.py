"""Faults survived end to end, on PRIVATE PostgreSQL and Redis instances this module starts on free
ports (the machine's shared 5432/6379 are never touched), with the server and a separate worker
started as a user would (`python -m server serve` / `worker`): Redis killed and restarted while
checkouts and payments run, the worker sent SIGTERM mid-batch, PostgreSQL restarted, the server
stopped under load. Each phase is bounded in time. Skipped unless the suite runs on the real stack
(KAZUO_TEST_DATABASE_URL) and redis-server and PostgreSQL's initdb/pg_ctl are installed."""
from __future__ import annotations

import asyncio
import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench.core import ROOT, _Proc, free_port

PG_BIN = (sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])) or [""])[-1]
HAVE_BINARIES = bool(shutil.which("redis-server") and PG_BIN and os.path.exists(f"{PG_BIN}/initdb")
                     and (os.geteuid() != 0 or shutil.which("runuser")))

pytestmark = [
    pytest.mark.skipif(not os.environ.get("KAZUO_TEST_DATABASE_URL"),
                       reason="fault tests run on the real stack (KAZUO_TEST_DATABASE_URL)"),
    pytest.mark.skipif(not HAVE_BINARIES, reason="needs redis-server and PostgreSQL's initdb/pg_ctl"),
]

SHOPPERS = 6
WORKER_GRACE = 8.0


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PrivatePostgres:
    """A throwaway cluster in a temp dir on a free port (fsync off: nothing here must survive)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kazuo-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kazuo"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        out = subprocess.run(_as_postgres(list(argv)), cwd=self.dir, capture_output=True, text=True,
                             timeout=timeout)
        assert out.returncode == 0, f"{argv[0]} failed: {out.stdout[-800:]} {out.stderr[-800:]}"

    def init(self) -> None:
        self._run(f"{PG_BIN}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        self.start()

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "30",
                  "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a free port; append-only with fsync always, as a production Redis keeps
    its data through a restart (the WeChat Pay simulator keeps its prepay orders there)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kazuo-faults-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if out.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("the private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Outcome:
    """What the shoppers saw: every answer's status (with Retry-After and error code when >= 500),
    the orders made and the out_trade_no of each the simulator says was paid."""

    answers: list[tuple[str, int, str | None, str | None]] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    sim_paid: dict[int, str] = field(default_factory=dict)
    transport_errors: int = 0

    def record(self, what: str, r: httpx.Response) -> None:
        code = None
        if r.status_code >= 500:
            try:
                code = r.json()["error"]["code"]
            except Exception:  # noqa: BLE001 - not our envelope: recorded as such
                code = "<no envelope>"
        self.answers.append((what, r.status_code, r.headers.get("Retry-After"), code))

    def statuses(self) -> set[int]:
        return {s for _, s, _, _ in self.answers}

    def bad(self, *, simulator_hit: bool = False) -> list:
        """Answers that are not clean: any 5xx other than a 503 with Retry-After and our envelope.
        simulator_hit: the fault also takes down the WeChat Pay simulator, which lives in the server
        and keeps its prepay orders in Redis (a real WeChat does neither): the prepay call then
        fails as in a WeChat outage, 502 wechatpay_error, and that is clean too."""
        return [a for a in self.answers
                if a[1] >= 500 and not (a[1] == 503 and a[2] and a[3] == "service_unavailable")
                and not (simulator_hit and a[:2] == ("pay", 502) and a[3] == "wechatpay_error")]


class FaultStack:
    def __init__(self):
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis()
        self.tmp = Path(tempfile.mkdtemp(prefix="kazuo-faults-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server: _Proc | None = None
        self.worker: _Proc | None = None
        self.buyers: list[dict] = []
        self.sku_ids: list[int] = []
        self.station_id = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update({
            "KAZUO_ENV": "development", "KAZUO_DATA_DIR": str(self.tmp / "var"), "KAZUO_HOST": "127.0.0.1",
            "KAZUO_PORT": str(self.port), "KAZUO_SIMULATORS": "on",
            "KAZUO_JWT_SECRET": secrets.token_urlsafe(48), "KAZUO_DATABASE_URL": self.pg.url,
            "KAZUO_REDIS_URL": self.redis.url, "KAZUO_WORKER_MODE": "separate",
            "KAZUO_REDIS_PREFIX": "kzf:", "KAZUO_WORKER_NICE": "0", "KAZUO_SEED_DEMO_ON_FIRST_RUN": "false",
            "KAZUO_LOGIN_RATE_PER_MINUTE": "100000", "KAZUO_CHECKOUT_RATE_PER_MINUTE": "100000",
            # fast recovery paths, so that each phase fits in seconds
            "KAZUO_SWEEP_EVERY_SECONDS": "2", "KAZUO_FULFILLMENT_HANDOFF_GRACE_SECONDS": "3",
            "KAZUO_WECHAT_PAY_QUERY_AFTER_SECONDS": "5",
            "KAZUO_WECHAT_PAY_SIM_RETRY_SECONDS": "[1, 1, 2, 2, 3, 3, 5]",
            "KAZUO_WORKER_HEARTBEAT_SECONDS": "1", "KAZUO_WORKER_HEARTBEAT_MAX_AGE_SECONDS": "6",
            "KAZUO_WORKER_RESTART_MAX_DELAY_SECONDS": "2",
            "KAZUO_WORKER_STOP_GRACE_SECONDS": str(WORKER_GRACE),
            "KAZUO_SERVER_STOP_GRACE_SECONDS": "8",
        })
        self.env = env

    # ---- processes -------------------------------------------------------------------------------
    def start_server(self) -> None:
        self.server = _Proc("server", [sys.executable, "-m", "server", "serve", "--port", str(self.port)],
                            self.env, self.tmp, self.tmp)

    def start_worker(self) -> None:
        self.worker = _Proc(f"worker-{time.monotonic_ns()}", [sys.executable, "-m", "server", "worker"],
                            self.env, self.tmp, self.tmp)

    async def cli(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", *args, env=self.env,
                                                    cwd=self.tmp, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        return out.decode()

    def server_errors(self) -> list[str]:
        """The server log's unhandled errors (what answered 500), last first."""
        lines = self.server.log_path.read_text(errors="replace").splitlines() if self.server else []
        return [ln[-9000:] for ln in lines if "unhandled error" in ln or "transaction error" in ln][::-1][:3]

    async def readyz(self) -> httpx.Response | None:
        try:
            async with httpx.AsyncClient(timeout=3) as c:
                return await c.get(self.base_url + "/readyz")
        except httpx.HTTPError:
            return None

    async def wait_ready(self, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.server.alive(), self.server.tail()
            last = await self.readyz()
            if last is not None and last.status_code == 200:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"not ready after {timeout} s: {last and last.text}\n{self.server.tail()}")

    async def sql(self, query: str, *args):
        conn = await asyncpg.connect(self.pg.url.replace("postgres://", "postgresql://", 1))
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    # ---- load ------------------------------------------------------------------------------------
    async def shop(self, seconds: float, outcome: Outcome, *, during=None) -> None:
        """SHOPPERS buyers check out, pay and have the simulator pay, for `seconds`, while `during`
        (a coroutine function) injects the fault; the phase is bounded in time."""
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as c:
            shoppers = [asyncio.create_task(self._shopper(c, b, stop, outcome)) for b in self.buyers]
            try:
                if during is not None:
                    await asyncio.wait_for(during(), seconds + 60)
                else:
                    await asyncio.sleep(seconds)
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*shoppers), 30)

    async def _shopper(self, c: httpx.AsyncClient, buyer: dict, stop: asyncio.Event, out: Outcome) -> None:
        headers = {"Authorization": f"Bearer {buyer['token']}"}
        i = 0
        while not stop.is_set():
            i += 1
            sku = self.sku_ids[(buyer["n"] + i) % len(self.sku_ids)]
            body = {"fulfilment": "pickup", "station_id": self.station_id,
                    "lines": [{"sku_id": sku, "quantity": 1}]}
            try:
                r = await c.post("/api/v1/orders", json=body, headers=headers)
                out.record("checkout", r)
                if r.status_code not in (200, 201):
                    await asyncio.sleep(0.2)
                    continue
                oid = r.json()["id"]
                out.orders.append(oid)
                r = await c.post(f"/api/v1/orders/{oid}/pay", headers=headers)
                out.record("pay", r)
                if r.status_code != 200:
                    continue
                otn = r.json()["out_trade_no"]
                r = await c.post("/__sim__/wechatpay/v3/pay", json={"out_trade_no": otn})
                out.record("sim-pay", r)
                if r.status_code == 200:
                    out.sim_paid[oid] = otn
            except httpx.TransportError:
                out.transport_errors += 1
                await asyncio.sleep(0.2)

    # ---- checks ----------------------------------------------------------------------------------
    async def wait_all_handed_off(self, outcome: Outcome, timeout: float = 40) -> None:
        """Every order the simulator took payment for is paid in our database, its notification
        applied once, and handed to the warehouse exactly once."""
        want = sorted(outcome.sim_paid)
        assert want, "no order was paid in this phase"
        deadline = time.monotonic() + timeout
        while True:
            rows = await self.sql(
                "SELECT o.id, o.status, (SELECT count(*) FROM fulfillment_tasks t WHERE t.order_id = o.id) "
                "AS tasks FROM orders o WHERE o.id = ANY($1::bigint[])", want)
            unpaid = [r["id"] for r in rows if r["status"] == "pending_payment"]
            waiting = [r["id"] for r in rows if r["tasks"] == 0]
            if not unpaid and not waiting:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"after {timeout} s: unpaid {unpaid[:10]}, without a task "
                                     f"{waiting[:10]}\n{self.worker.tail(40) if self.worker else ''}")
            await asyncio.sleep(0.5)
        assert all(r["tasks"] == 1 for r in rows), [dict(r) for r in rows if r["tasks"] != 1]
        applied = await self.sql(
            "SELECT out_trade_no, count(*) AS n FROM payment_notifications WHERE kind = 'pay' "
            "AND outcome = 'applied' AND out_trade_no = ANY($1::text[]) GROUP BY out_trade_no",
            list(outcome.sim_paid.values()))
        assert all(r["n"] == 1 for r in applied), [dict(r) for r in applied if r["n"] != 1]
        # (an order paid through the query sweep has no applied notification: at most one, never two)
        paid = await self.sql("SELECT order_id, count(*) AS n FROM payments WHERE status = 'paid' "
                              "AND order_id = ANY($1::bigint[]) GROUP BY order_id", want)
        assert len(paid) == len(want) and all(r["n"] == 1 for r in paid)

    # ---- the whole stack -------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self.pg.init)
        await asyncio.to_thread(self.redis.start)
        admin = await asyncpg.connect(self.pg.admin_url)
        try:
            await admin.execute('CREATE DATABASE "kazuo"')
        finally:
            await admin.close()
        # The server and worker start on the empty database: /readyz says the schema is not there.
        self.start_server()
        self.start_worker()
        deadline = time.monotonic() + 40
        r = None
        while time.monotonic() < deadline and (r is None or r.status_code != 503):
            assert self.server.alive(), self.server.tail()
            r = await self.readyz()
            await asyncio.sleep(0.3)
        assert r is not None and r.status_code == 503, self.server.tail()
        details = r.json()["error"]["details"]
        assert "database" in details["failed"] and "not migrated" in details["database"], details
        await self.cli("migrate")
        await self.cli("seed-demo")
        await self.sql("UPDATE skus SET stock = 100000")
        await self.wait_ready()
        station = await self.sql("SELECT id FROM stations WHERE level = 'village' AND status = 'active' "
                                 "ORDER BY id LIMIT 1")
        skus = await self.sql("SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id "
                              "WHERE p.status = 'on_sale' AND NOT s.cold_chain ORDER BY s.id LIMIT 4")
        self.station_id, self.sku_ids = station[0]["id"], [r["id"] for r in skus]
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as c:
            for n in range(SHOPPERS):
                openid = f"o-fault-{n}-{secrets.token_hex(3)}"
                r = await c.post("/__sim__/wechat/login-code", json={"openid": openid})
                r = await c.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
                assert r.status_code == 200, r.text
                self.buyers.append({"n": n, "token": r.json()["token"]})

    def stop(self) -> None:
        for p in (self.worker, self.server):
            if p is not None:
                t = time.monotonic()
                p.stop(grace=15)
                print(f"{p.name} stopped in {time.monotonic() - t:.1f} s", file=sys.stderr)
        self.redis.destroy()
        self.pg.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
async def stack():
    s = FaultStack()
    try:
        await asyncio.wait_for(s.start(), 150)
        yield s
    finally:
        await asyncio.to_thread(s.stop)


async def _sigterm(proc: _Proc, limit: float) -> float:
    """Send proc SIGTERM; the seconds it took to exit (limit if it did not)."""
    proc.popen.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    while proc.alive() and time.monotonic() - sent < limit:
        await asyncio.sleep(0.1)
    return time.monotonic() - sent


def _clean(stack: FaultStack, outcome: Outcome, *, simulator_hit: bool = False) -> None:
    bad = outcome.bad(simulator_hit=simulator_hit)
    assert not bad, (bad[:10], stack.server_errors())
    assert any(status in (200, 201) for what, status, _, _ in outcome.answers if what == "checkout")


async def test_redis_killed_and_restarted_while_shoppers_pay(stack):
    outcome = Outcome()

    async def outage():
        await asyncio.sleep(2)
        stack.redis.kill()
        await asyncio.sleep(5)
        await asyncio.to_thread(stack.redis.start)
        await asyncio.sleep(3)

    await stack.shop(10, outcome, during=outage)
    _clean(stack, outcome, simulator_hit=True)
    assert 503 in outcome.statuses(), "the outage was not seen"
    assert stack.worker.alive(), stack.worker.tail()  # it did not exit: it reconnected
    await stack.wait_ready(30)  # the worker's heartbeat is fresh again
    await stack.wait_all_handed_off(outcome)


async def test_the_worker_stops_gracefully_on_sigterm_mid_batch_and_loses_nothing(stack):
    outcome = Outcome()
    exited: list[float] = []

    async def sigterm():
        await asyncio.sleep(2)
        exited.append(await _sigterm(stack.worker, WORKER_GRACE + 10))
        await asyncio.sleep(1)

    await stack.shop(4, outcome, during=sigterm)
    assert not stack.worker.alive(), "the worker ignored SIGTERM"
    assert exited[0] <= WORKER_GRACE + 3, exited
    assert stack.worker.popen.returncode == 0, stack.worker.tail()
    _clean(stack, outcome)
    stack.start_worker()  # the jobs queued or cut off are run by the next worker
    await stack.wait_all_handed_off(outcome)


async def test_postgresql_restarted_answers_503_then_recovers_and_applies_each_payment_once(stack):
    outcome = Outcome()

    async def restart():
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.pg.stop, "fast")
        await asyncio.sleep(3)
        await asyncio.to_thread(stack.pg.start)
        await asyncio.sleep(4)

    await stack.shop(9, outcome, during=restart)
    _clean(stack, outcome)
    assert 503 in outcome.statuses(), "the restart was not seen"
    assert all(ra for _, s, ra, _ in outcome.answers if s == 503)
    await stack.wait_ready(30)
    await stack.wait_all_handed_off(outcome)
    # after the restart, a fresh checkout works
    after = Outcome()
    await stack.shop(1.5, after)
    assert not after.bad() and after.orders


async def _live_sale(stack: FaultStack, quota: int) -> tuple[int, int, int]:
    """A livestreamer's session live with the first SKU tied in (quota, one per buyer), through the
    API and the simulators as in bench/scenarios/flash_sale.py: (session id, tie-in id, SKU id)."""
    sku = stack.sku_ids[0]
    owner = await stack.sql("SELECT p.id, p.merchant_id FROM skus s JOIN products p ON p.id = s.product_id "
                            "WHERE s.id = $1", sku)
    await stack.sql("INSERT INTO live_pool_products (product_id, merchant_id, min_price_bp, max_commission_bp, "
                    "agreement, is_active, added_by, created_at, updated_at) VALUES ($1, $2, 0, 2000, 'faults', "
                    "true, 0, now(), now()) ON CONFLICT (product_id) DO NOTHING",
                    owner[0]["id"], owner[0]["merchant_id"])
    openid = "o-fault-streamer-" + secrets.token_hex(3)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as c:
        r = await c.post("/__sim__/wechat/login-code", json={"openid": openid})
        await c.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
        await stack.cli("grant-role", openid, "livestreamer")
        r = await c.post("/__sim__/wechat/login-code", json={"openid": openid})
        r = await c.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
        h = {"Authorization": f"Bearer {r.json()['token']}"}

        async def ok(resp, status=200):
            assert resp.status_code == status, (resp.request.url, resp.status_code, resp.text)
            return resp.json()

        await ok(await c.put("/api/v1/live/me/profile", json={"display_name": "喀左小醋娘"}, headers=h))
        room = await ok(await c.post("/api/v1/live/rooms", json={"title": "喀左好物直播间",
                                                                 "default_commission_bp": 1000}, headers=h), 201)
        start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 300))
        sess = await ok(await c.post(f"/api/v1/live/rooms/{room['id']}/sessions",
                                     json={"title": "秒杀专场", "scheduled_at": start}, headers=h), 201)
        tie = await ok(await c.post(f"/api/v1/live/sessions/{sess['id']}/tieins",
                                    json={"sku_id": sku, "live_price": 990, "quota": quota, "per_buyer_limit": 1},
                                    headers=h), 201)
        push = await ok(await c.get(f"/api/v1/live/sessions/{sess['id']}/push-url", headers=h))
        await ok(await c.post("/__sim__/aliyun-live/publish", json={"push_url": push["push_url"]}))
        await ok(await c.post(f"/api/v1/live/sessions/{sess['id']}/on-air", json={"tiein_id": tie["id"]},
                              headers=h))
    return sess["id"], tie["id"], sku


async def test_the_worker_killed_while_it_writes_a_flash_sales_queue_loses_no_order(stack):
    """Buyers admitted by the buy button wait in the order queue; the worker is killed (SIGKILL, no
    grace) in the middle of writing them, inside its transaction (held there by a lock this test
    takes on the tie-in's row), and a new one started: every admitted ticket becomes exactly one
    order (the dead drain is replaced by the sweeper once its flag runs out), nobody more."""
    quota = 30
    session_id, tiein_id, sku = await _live_sale(stack, quota)
    lock = await asyncpg.connect(stack.pg.url.replace("postgres://", "postgresql://", 1))
    held = lock.transaction()
    await held.start()
    await lock.execute("SELECT 1 FROM live_tieins WHERE id = $1 FOR UPDATE", tiein_id)
    crowd = []
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=20) as c:
        for n in range(45):
            r = await c.post("/__sim__/wechat/login-code", json={"openid": f"o-fault-crowd-{n}-{secrets.token_hex(3)}"})
            r = await c.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
            crowd.append({"Authorization": f"Bearer {r.json()['token']}"})
        body = {"sku_id": sku, "quantity": 1, "fulfilment": "pickup", "station_id": stack.station_id}
        url = f"/api/v1/live/sessions/{session_id}/orders"
        pressed = await asyncio.gather(*(c.post(url, json=body, headers=h) for h in crowd))
        try:
            deadline = time.monotonic() + 30
            while not await stack.sql("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND query ILIKE '%live_tieins%'"):
                assert time.monotonic() < deadline, ("the drain never reached the quota's row", stack.worker.tail(40))
                await asyncio.sleep(0.1)
            stack.worker.popen.send_signal(signal.SIGKILL)  # inside the drain's transaction: no grace
            stack.worker.popen.wait(10)
        finally:
            await held.rollback()
            await lock.close()
        assert not await stack.sql("SELECT 1 FROM orders WHERE live_session_id = $1", session_id)
        assert sorted({r.status_code for r in pressed}) == [202, 409], [(r.status_code, r.text[:80]) for r in pressed]
        tickets = [(r.json()["ticket"], h) for r, h in zip(pressed, crowd) if r.status_code == 202]
        assert len(tickets) == quota
        stack.start_worker()
        deadline = time.monotonic() + 90
        while True:
            views = [(await c.get(f"/api/v1/live/tickets/{t}", headers=h)).json() for t, h in tickets]
            if all(v["status"] != "queued" for v in views) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    assert [v["status"] for v in views] == ["placed"] * quota, ([v for v in views if v["status"] != "placed"][:3],
                                                               stack.worker.tail(40))
    orders = await stack.sql("SELECT buyer_id, count(*) AS n FROM orders WHERE live_session_id = $1 GROUP BY buyer_id",
                             session_id)
    assert len(orders) == quota and all(r["n"] == 1 for r in orders)
    assert {v["order"]["id"] for v in views} == {r["id"] for r in await stack.sql(
        "SELECT id FROM orders WHERE live_session_id = $1", session_id)}
    tie = await stack.sql("SELECT remaining FROM live_tieins WHERE id = $1", tiein_id)
    bought = await stack.sql("SELECT coalesce(sum(quantity), 0) AS n FROM live_purchases WHERE tiein_id = $1", tiein_id)
    assert tie[0]["remaining"] == 0 and bought[0]["n"] == quota


async def test_the_server_stopped_under_load_answers_no_500(stack):
    outcome = Outcome()
    exited: list[float] = []

    async def stop_server():
        await asyncio.sleep(2)
        exited.append(await _sigterm(stack.server, 20))

    await stack.shop(3, outcome, during=stop_server)
    assert not stack.server.alive() and exited[0] < 12, (exited, stack.server.tail())
    assert stack.server.popen.returncode == 0, stack.server.tail()
    _clean(stack, outcome, simulator_hit=True)  # (the simulator stops accepting with the server)
    assert 500 not in outcome.statuses()
    assert len(outcome.answers) > 20
    assert "internal_error" not in stack.server.tail(200) and "unhandled error" not in stack.server.tail(200)
