"""The pieces a benchmark run is made of: the Stack (the server under test started as a user would,
the bare Sanic baseline, a throwaway database and Redis prefix, the arq worker) and the BenchContext
handed to scenarios."""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import httpx

from bench.loadgen import Figures, Req, run_asyncio, run_wrk, wrk_available

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

__all__ = ["BenchContext", "Figures", "Req", "Stack", "StackOptions", "User"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StackOptions:
    pg: bool = False
    redis: bool = False
    pg_url: str = DEFAULT_PG_URL
    redis_url: str = DEFAULT_REDIS_URL
    workers: int = 1                  # Sanic workers of the server and of the baseline
    worker: str = "auto"              # arq worker: auto | inline | separate | none
    seed_demo: bool = False           # run `seed-demo` on PostgreSQL (embedded seeds itself)
    env: dict[str, str] = field(default_factory=dict)   # extra KAZUO_* for the server
    keep: bool = False                # keep the data dir (and log files) afterwards
    verbose: bool = False
    # Linux, one worker: the server and the bare app on the first CPU, this process (the load
    # generator) on the others, as when the buyers' phones are not on the server's machine.
    pin: bool = False


class _Proc:
    """A child process in its own session (so the whole group can be stopped), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 8.0) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()


class Stack:
    """The server under test, the bare baseline and their backing stores, for one harness run."""

    def __init__(self, opts: StackOptions):
        self.opts = opts
        self.cpus = len(os.sched_getaffinity(0))  # this machine's, read before --pin narrows this process's
        self.tmp = Path(tempfile.mkdtemp(prefix="kazuo-bench-"))
        self.data_dir = self.tmp / "var"
        self.port = free_port()
        self.bare_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.bare_url = f"http://127.0.0.1:{self.bare_port}"
        self.db_name: str | None = None
        self.database_url = ""
        self.redis_prefix = f"kzb{secrets.token_hex(4)}:"
        self.procs: list[_Proc] = []
        self.server: _Proc | None = None
        self.env = self._env()

    # ---- environment -------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        # Start from a clean slate: a KAZUO_* left in the caller's shell must not point the
        # benchmark at a real database or real WeChat credentials.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update({
            "KAZUO_ENV": "development",
            "KAZUO_DATA_DIR": str(self.data_dir),
            "KAZUO_HOST": "127.0.0.1",
            "KAZUO_PORT": str(self.port),
            "KAZUO_WORKERS": str(self.opts.workers),
            "KAZUO_ACCESS_LOG": "false",
            "KAZUO_SIMULATORS": "on",
            "KAZUO_JWT_SECRET": secrets.token_urlsafe(48),
            # Scenarios log in many users from one address; the login limiter is not under test.
            "KAZUO_LOGIN_RATE_PER_MINUTE": "100000000",
            "KAZUO_REDIS_PREFIX": self.redis_prefix,
        })
        if self.opts.redis:
            env["KAZUO_REDIS_URL"] = self.opts.redis_url
        mode = self.opts.worker
        if mode == "auto":
            mode = "separate" if self.opts.redis else "inline"
        if mode == "separate" and not self.opts.redis:
            raise ValueError("--worker separate needs --redis (the embedded store lives in the server)")
        env["KAZUO_WORKER_MODE"] = "inline" if mode == "inline" else "separate"
        self.worker_mode = mode
        env.update(self.opts.env)
        return env

    @property
    def backend(self) -> str:
        db = "PostgreSQL" if self.opts.pg else "SQLite"
        return db + " + " + ("Redis" if self.opts.redis else "fakeredis")

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.opts.pg:
            await self._create_database()
        self.bare = self._spawn("bare", [PYTHON, "-m", "bench.bare_app", "--port", str(self.bare_port),
                                         "--workers", str(self.opts.workers)])
        self.server = self._spawn("server", [PYTHON, "-m", "server", "serve", "--port", str(self.port)])
        if self.worker_mode == "separate":
            self._spawn("worker", [PYTHON, "-m", "server", "worker"])
        await self._wait_ready(self.server, self.base_url + "/readyz")
        await self._wait_ready(self.bare, self.bare_url + "/")
        if self.opts.pin:
            self._pin()
        if self.opts.pg and self.opts.seed_demo:
            await self.cli("seed-demo")

    async def stop(self) -> None:
        for p in reversed(self.procs):
            await asyncio.to_thread(p.stop)
        if self.opts.redis:
            await self._clear_redis()
        if self.db_name:
            await self._drop_database()
        if self.opts.keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _pin(self) -> None:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or self.opts.workers != 1:
            raise SystemExit("--pin needs two CPUs and one worker")
        for proc in (self.server, self.bare):
            os.sched_setaffinity(proc.popen.pid, {cpus[0]})
        os.sched_setaffinity(0, set(cpus[1:]))
        print(f"pinned: server and bare app on CPU {cpus[0]}, the load generator on {cpus[1:]}",
              file=sys.stderr, flush=True)

    def _spawn(self, name: str, argv: list[str]) -> _Proc:
        # cwd is the temp dir: no .env of the checkout is read, as for a user in a fresh directory.
        p = _Proc(name, argv, self.env, self.tmp, self.tmp)
        self.procs.append(p)
        return p

    async def _wait_ready(self, proc: _Proc, url: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as c:
            while time.monotonic() < deadline:
                if not proc.alive():
                    raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
                try:
                    if (await c.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{proc.name} not ready at {url} after {timeout:.0f}s:\n{proc.tail()}")

    async def cli(self, *args: str, timeout: float = 300.0) -> str:
        """Run `python -m server <args>` with the server's environment; returns its stdout."""
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "server", *args, env=self.env, cwd=self.tmp,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            raise RuntimeError(f"`python -m server {' '.join(args)}` timed out") from None
        if proc.returncode != 0:
            raise RuntimeError(f"`python -m server {' '.join(args)}` failed ({proc.returncode}): "
                               f"{err.decode(errors='replace')[-2000:]}")
        return out.decode()

    # ---- PostgreSQL and Redis ------------------------------------------------------------------
    async def _create_database(self) -> None:
        import asyncpg

        self.db_name = "kazuo_bench_" + secrets.token_hex(4)
        conn = await asyncpg.connect(self.opts.pg_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await conn.close()
        print(f"throwaway database {self.db_name}, Redis prefix {self.redis_prefix}", file=sys.stderr,
              flush=True)
        self.database_url = self.opts.pg_url.rsplit("/", 1)[0] + "/" + self.db_name
        self.env["KAZUO_DATABASE_URL"] = self.database_url
        from server.kit.migrations import MIGRATIONS_DIR

        if MIGRATIONS_DIR.is_dir() and any(MIGRATIONS_DIR.rglob("*.py")):
            await self.cli("migrate")
        else:
            # No migrations committed yet: create the schema from the models, as the tests do.
            code = ("import asyncio, os\n"
                    "from server.kit.db import init_db, close_db\n"
                    "async def main():\n"
                    "    await init_db(os.environ['KAZUO_DATABASE_URL'], generate_schemas=True)\n"
                    "    await close_db()\n"
                    "asyncio.run(main())\n")
            proc = await asyncio.create_subprocess_exec(PYTHON, "-c", code, env=self.env, cwd=self.tmp,
                                                        stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 120)
            if proc.returncode != 0:
                raise RuntimeError("schema generation failed: " + err.decode(errors="replace")[-2000:])

    async def _drop_database(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.opts.pg_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def _clear_redis(self) -> None:
        from redis import asyncio as aioredis

        client = aioredis.from_url(self.opts.redis_url)
        try:
            batch = []
            # The prefix's keys, and arq's keys of the run's jobs (arq:job:<id>, arq:result:<id>, ...,
            # whose ids carry the prefix): a checkout run leaves ~30,000 deferred jobs kept a day.
            for pattern in (self.redis_prefix + "*", "arq:*:" + self.redis_prefix + "*"):
                async for k in client.scan_iter(match=pattern, count=1000):
                    batch.append(k)
                    if len(batch) >= 1000:
                        await client.unlink(*batch)
                        batch.clear()
            if batch:
                await client.unlink(*batch)
        finally:
            await client.aclose()


@dataclass
class User:
    """A user logged in through the WeChat simulator."""

    openid: str
    token: str
    id: int
    roles: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class BenchContext:
    """What a scenario gets: where the server is, how to log in and grant roles, how to reach its
    database and Redis, how to drive load, and free-form options (`--opt key=value`)."""

    def __init__(self, stack: Stack, *, connections: int, duration: float, client: str,
                 options: dict[str, str]):
        self.stack = stack
        self.base_url = stack.base_url
        self.env = stack.env                  # the server's environment (for your own subprocesses)
        self.pg = stack.opts.pg
        self.redis = stack.opts.redis
        self.backend = stack.backend
        self.data_dir = stack.data_dir
        self.redis_prefix = stack.redis_prefix
        self.connections = connections
        self.duration = duration
        self.client = client                  # wrk | asyncio: what load() uses
        self.options = options
        self.state: dict[str, Any] = {}       # scenario scratch space (setup -> requests/run/verify)
        self.http = httpx.AsyncClient(base_url=stack.base_url, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    def log(self, msg: str) -> None:
        print(f"  · {msg}", file=sys.stderr, flush=True)

    def option(self, name: str, default: Any = None, cast=str) -> Any:
        return cast(self.options[name]) if name in self.options else default

    # ---- identities --------------------------------------------------------------------------
    async def login(self, openid: str | None = None) -> User:
        """Log in through the WeChat simulator (POST /__sim__/wechat/login-code, then wechat-login)."""
        openid = openid or "o-bench-" + secrets.token_hex(8)
        r = await self.http.post("/__sim__/wechat/login-code", json={"openid": openid})
        r.raise_for_status()
        r = await self.http.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
        if r.status_code != 200:
            raise RuntimeError(f"login failed: {r.status_code} {r.text}")
        body = r.json()
        return User(openid=openid, token=body["token"], id=body["user"]["id"], roles=body["user"]["roles"])

    async def login_many(self, n: int, *, prefix: str = "o-bench-", concurrency: int = 20) -> list[User]:
        """n distinct users (openids prefix0..prefixN-1), logged in with bounded concurrency."""
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> User:
            async with sem:
                return await self.login(f"{prefix}{i}")

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    async def grant_role(self, openid: str, role: str, *, station: str | None = None,
                         merchant: int | None = None, head: bool = False) -> str:
        """`python -m server grant-role` with the server's environment, as an operator would."""
        args = ["grant-role", openid, role]
        if station:
            args += ["--station", station]
        if merchant is not None:
            args += ["--merchant", str(merchant)]
        if head:
            args.append("--head")
        return await self.stack.cli(*args)

    async def login_as(self, role: str, *, openid: str | None = None, station: str | None = None,
                       merchant: int | None = None, head: bool = False) -> User:
        """A user holding role; logged in again afterwards so the token carries it."""
        user = await self.login(openid)
        await self.grant_role(user.openid, role, station=station, merchant=merchant, head=head)
        return await self.login(user.openid)

    async def cli(self, *args: str, timeout: float = 300.0) -> str:
        return await self.stack.cli(*args, timeout=timeout)

    # ---- the server's database and Redis from this process ------------------------------------
    @asynccontextmanager
    async def services(self) -> AsyncIterator[Any]:
        """Start server.kit.lifecycle in this process against the server's database (and, with
        --redis, its Redis and key prefix), so setup can bulk-load through models and domain
        services. Embedded runs get their own in-process fakeredis here, NOT the server's: caches
        the server holds are not invalidated by writes made through this, so load data first."""
        from config.settings import Settings
        from server.kit import lifecycle

        settings = Settings(_env_file=None, **{k[len("KAZUO_"):].lower(): v for k, v in self.env.items()
                                               if k.startswith("KAZUO_") and k != "KAZUO_WORKERS"})
        from server import startup

        startup.install()
        rt = await lifecycle.start(settings)
        try:
            yield rt
        finally:
            await lifecycle.stop()

    async def sql(self, query: str, params: Sequence[Any] | None = None) -> list[dict]:
        """One SQL statement on the server's database (inside `services()`)."""
        from tortoise import Tortoise

        conn = Tortoise.get_connection("default")
        _, rows = await conn.execute_query(query, list(params or []))
        return [dict(r) for r in rows]

    # ---- CPU -----------------------------------------------------------------------------------
    @staticmethod
    def cpu_seconds(pid: int) -> float:
        """utime + stime of a process and its reaped children (Linux /proc), in seconds."""
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def rss_bytes(pid: int) -> int:
        """Resident set size of a process (VmRSS in /proc/<pid>/status), in bytes."""
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    @staticmethod
    def children(pid: int) -> list[int]:
        """The live child processes of pid (Linux /proc/<pid>/task/*/children)."""
        out: list[int] = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return out
        for tid in tasks:
            try:
                out += [int(x) for x in open(f"/proc/{pid}/task/{tid}/children").read().split()]
            except OSError:
                pass
        return out

    def tree_cpu_seconds(self, pid: int) -> float:
        """CPU seconds of a process and its live children (a Sanic main process and its workers)."""
        total = self.cpu_seconds(pid)
        for child in self.children(pid):
            try:
                total += self.tree_cpu_seconds(child)
            except OSError:  # gone between the listing and the reading
                pass
        return total

    def server_processes(self) -> dict[int, str]:
        """The server's processes by pid: with one Sanic worker the server process serves requests
        itself ("server"); with --workers N Sanic's main process ("server-main") spawns N worker
        processes ("server-w0".."server-wN-1", by Sanic's worker name), multiprocessing's resource
        tracker ("server-tracker") and a SyncManager ("server-manager"), whose CPU and memory the main
        process's /proc figures do not include while they run."""
        main = self.stack.server.popen.pid
        if self.stack.opts.workers == 1:
            return {main: "server"}
        out = {main: "server-main"}
        workers = []
        for pid in sorted(self.children(main)):
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            # Sanic starts each worker with SANIC_WORKER_NAME=Sanic-Server-<i>-<n> in its environment;
            # its other children are multiprocessing's resource tracker and the SyncManager that
            # holds the workers' shared state.
            name = next((e.split(b"=", 1)[1] for e in environ if e.startswith(b"SANIC_WORKER_NAME=")), None)
            if name is not None:
                workers.append((name, pid))
            elif b"resource_tracker" in cmd:
                out[pid] = "server-tracker"
            else:
                out[pid] = "server-manager"
        for i, (_, pid) in enumerate(sorted(workers)):
            out[pid] = f"server-w{i}"
        return out

    def server_cpu(self) -> dict[str, float]:
        """CPU seconds so far of each of the server's processes (by label, see server_processes) and
        their sum under "server"; the arq worker's under "worker" when it runs apart."""
        out: dict[str, float] = {}
        for pid, label in self.server_processes().items():
            try:
                out[label] = self.cpu_seconds(pid)
            except OSError:  # gone between the listing and the reading
                pass
        if "server" not in out:
            out["server"] = sum(out.values())
        for p in self.stack.procs:
            if p.name == "worker" and p.alive():
                out["worker"] = self.cpu_seconds(p.popen.pid)
        return out

    async def db_backends_cpu(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL backend connected to the bench database (same machine), by
        pid. Backends that come and go between two readings are missed: the pools keep theirs open."""
        async with self.services():
            rows = await self.sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()")
        out = {}
        for r in rows:
            try:
                out[r["pid"]] = self.cpu_seconds(r["pid"])
            except OSError:  # another host, or gone
                pass
        return out

    async def db_backends_cpu_by_client(self, pids: dict[str, int]) -> dict[str, float]:
        """CPU seconds of the PostgreSQL backends serving each named client process ({name: pid}):
        a backend is that process's when its client port is one of the process's TCP sockets (from
        /proc). What is left over (the bench's own queries, other processes) is not counted."""
        async with self.services():
            rows = await self.sql("SELECT pid, client_port FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND pid <> pg_backend_pid() AND client_port > 0")
        owner = {}
        for name, pid in pids.items():
            for port in _tcp_ports(pid):
                owner[port] = name
        out = {name: 0.0 for name in pids}
        for r in rows:
            name = owner.get(r["client_port"])
            if name is None:
                continue
            try:
                out[name] += self.cpu_seconds(r["pid"])
            except OSError:
                pass
        return out

    # ---- load --------------------------------------------------------------------------------
    async def load(self, requests: Sequence[Req], *, name: str = "", connections: int | None = None,
                   duration: float | None = None) -> Figures:
        """Drive the requests round-robin for a duration with the run's load generator."""
        connections = connections or self.connections
        duration = duration or self.duration
        if self.client == "wrk":
            return await run_wrk(self.base_url, requests, connections=connections, duration=duration,
                                 name=name)
        return await run_asyncio(self.base_url, requests, connections=connections, duration=duration,
                                 name=name)

    async def drive(self, requests: Sequence[Req], *, name: str = "", connections: int | None = None,
                    keep_bodies: bool = False, preconnect: bool = False, opener: Req | None = None,
                    ready=None, url: str | None = None) -> Figures:
        """Send every request exactly once over `connections` connections (the asyncio client) to the
        server (or to `url`, say the bare app's); preconnect: the connections are open (and have each
        carried `opener`) before the clock starts; ready: awaited right before the clock starts."""
        return await run_asyncio(url or self.base_url, requests, connections=connections or self.connections,
                                 once=True, name=name, keep_bodies=keep_bodies, preconnect=preconnect,
                                 opener=opener, ready=ready)

    async def warmup(self, requests: Sequence[Req], seconds: float = 1.0) -> None:
        if seconds > 0:
            await run_asyncio(self.base_url, requests, connections=min(8, self.connections),
                              duration=seconds, name="warmup")


def default_client(requested: str) -> str:
    if requested == "auto":
        return "wrk" if wrk_available() else "asyncio"
    if requested == "wrk" and not wrk_available():
        raise SystemExit("wrk is not installed (apt-get install -y wrk), or use --client asyncio")
    return requested


def _tcp_ports(pid: int) -> set[int]:
    """The local ports of a process's TCP sockets (Linux /proc: its fds' socket inodes, matched in
    /proc/net/tcp and tcp6)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports
