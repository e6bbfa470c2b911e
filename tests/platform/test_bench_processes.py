"""bench.core reads every process of a server run with several Sanic workers (issue #27): the main
process serves nothing, its workers (SANIC_WORKER_NAME in their environment) do, and the CPU and
memory of live children are not in the main process's /proc figures."""
import os
import subprocess
import sys
import time
from types import SimpleNamespace

from bench.core import BenchContext

# A stand-in for Sanic's main process: two "workers" (started as Sanic starts them, with their name in
# the environment, the second first) and one other child (as multiprocessing's SyncManager).
PARENT = """
import os, subprocess, sys, time
kids = []
for name in ("Sanic-Server-1-0", "Sanic-Server-0-0", None):
    env = dict(os.environ)
    if name:
        env["SANIC_WORKER_NAME"] = name
    kids.append(subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(8 << 20); time.sleep(60)"],
                                 env=env))
print(" ".join(str(k.pid) for k in kids), flush=True)
time.sleep(60)
"""


def _ctx(pid: int, workers: int) -> BenchContext:
    ctx = BenchContext.__new__(BenchContext)
    ctx.stack = SimpleNamespace(server=SimpleNamespace(popen=SimpleNamespace(pid=pid)),
                                opts=SimpleNamespace(workers=workers), procs=[])
    return ctx


def test_server_processes_tell_workers_from_the_main_process_and_helpers():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        w1, w0, other = (int(x) for x in parent.stdout.readline().split())
        ctx = _ctx(parent.pid, 2)
        deadline = time.monotonic() + 10
        while len(ctx.server_processes()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the children have filled their 8 MB
        assert ctx.server_processes() == {parent.pid: "server-main", w0: "server-w0", w1: "server-w1",
                                          other: "server-manager"}
        cpu = ctx.server_cpu()
        assert set(cpu) == {"server-main", "server-w0", "server-w1", "server-manager", "server"}
        assert abs(cpu["server"] - sum(v for k, v in cpu.items() if k != "server")) < 1e-6
        assert ctx.rss_bytes(w0) > 8 << 20
        assert ctx.tree_cpu_seconds(parent.pid) >= ctx.cpu_seconds(parent.pid)
        assert _ctx(parent.pid, 1).server_processes() == {parent.pid: "server"}
    finally:
        for pid in BenchContext.children(parent.pid):
            os.kill(pid, 9)
        parent.kill()
        parent.wait()
