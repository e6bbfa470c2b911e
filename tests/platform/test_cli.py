"""The CLI as a user runs it: `python -m server ...` in a subprocess with its own data dir and SQLite."""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COUNTED = ("stations", "merchants", "products", "skus", "categories")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


def cli(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    env.update(PYTHONPATH=str(ROOT), KAZUO_DATA_DIR=str(workdir / "var"),
               KAZUO_DATABASE_URL=f"sqlite://{workdir / 'var' / 'cli.sqlite3'}")
    return subprocess.run([sys.executable, "-m", "server", *args], env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)


def db(workdir: Path) -> sqlite3.Connection:
    return sqlite3.connect(workdir / "var" / "cli.sqlite3")


def counts(workdir: Path) -> dict[str, int]:
    with db(workdir) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in COUNTED if t in names}


def test_migrate_on_sqlite(workdir):
    r = cli(workdir, "migrate")
    assert r.returncode == 0, r.stderr
    assert "SQLite schema generated" in r.stdout
    with db(workdir) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "role_grants", "stations"} <= tables
    assert cli(workdir, "migrate").returncode == 0  # again: nothing breaks


def test_seed_demo_twice_creates_nothing_the_second_time(workdir):
    first = cli(workdir, "seed-demo")
    assert first.returncode == 0, first.stderr
    after_first = counts(workdir)
    assert after_first["stations"] >= 1 + 22 and after_first["products"] > 0, after_first
    second = cli(workdir, "seed-demo")
    assert second.returncode == 0, second.stderr
    assert counts(workdir) == after_first
    created = [int(n) for n in re.findall(r"(\d+) \w+ created", second.stdout)]
    assert created and not any(created), second.stdout


def test_grant_role_admin(workdir):
    r = cli(workdir, "grant-role", "o-cli-admin", "admin")
    assert r.returncode == 0, r.stderr
    assert "granted admin to user" in r.stdout
    assert cli(workdir, "grant-role", "o-cli-admin", "admin").returncode == 0  # idempotent
    with db(workdir) as conn:
        rows = conn.execute("SELECT g.role FROM role_grants g JOIN users u ON u.id = g.user_id "
                            "WHERE u.openid = 'o-cli-admin'").fetchall()
    assert rows == [("admin",)]


def test_grant_role_station_staff_by_station_code(workdir):
    with db(workdir) as conn:
        code, station_id = conn.execute("SELECT code, id FROM stations ORDER BY id LIMIT 1").fetchone()
    r = cli(workdir, "grant-role", "o-cli-staff", "station_staff", "--station", code, "--head")
    assert r.returncode == 0, r.stderr
    assert f"at station {station_id}" in r.stdout


@pytest.mark.parametrize("args, message", [
    (("grant-role", "o-cli-x", "station_staff", "--station", "NO-SUCH-STATION"), "NO-SUCH-STATION"),
    (("grant-role", "o-cli-x", "station_staff"), "station"),
    (("grant-role", "o-cli-x", "merchant", "--merchant", "999999"), "merchant"),
])
def test_grant_role_fails_cleanly(workdir, args, message):
    r = cli(workdir, *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("error: ") and message in r.stderr
    assert "Traceback" not in r.stderr
    with db(workdir) as conn:
        assert conn.execute("SELECT COUNT(*) FROM role_grants g JOIN users u ON u.id = g.user_id "
                            "WHERE u.openid = 'o-cli-x'").fetchone()[0] == 0


def test_unknown_role_is_a_usage_error(workdir):
    r = cli(workdir, "grant-role", "o-cli-y", "emperor")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr


def test_the_standalone_worker_runs_below_the_server():
    """`python -m server worker` lowers its own CPU priority (and its session's, where Linux shares
    CPU by session), so a burst of jobs does not take CPU from the buyers' answers."""
    import subprocess
    import sys

    code = ("import os; from jobs.worker import _yield_cpu; os.setsid(); _yield_cpu(7); print(os.nice(0)); "
            "print(open('/proc/self/autogroup').read().strip() if os.path.exists('/proc/self/autogroup') else '')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    nice, group = (out.stdout.splitlines() + [""])[:2]
    assert nice == "7"
    assert not group or group.endswith("nice 7")


def test_serve_on_a_busy_port_says_so_and_how_to_choose_another(workdir):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli(workdir, "serve", "--port", str(port), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"127.0.0.1:{port}" in r.stderr and "already in use" in r.stderr
    assert "--port" in r.stderr and "KAZUO_PORT=" in r.stderr
    assert "Traceback" not in r.stderr and "serving on" not in r.stderr


def test_seed_demo_history_shows_progress_lines_and_a_readable_summary(tmp_path):
    """Not on a terminal: plain progress lines (no carriage returns), then a summary for people (not a
    dict); a second run says the history is already there."""
    r = cli(tmp_path, "seed-demo", "--history", "--orders", "400", "--days", "40", timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "\r" not in out and "{'" not in out and "Traceback" not in r.stderr
    for step in ("generating orders", "writing", "daily rollups"):
        lines = [ln for ln in out.splitlines() if ln.startswith(step + ": ")]
        assert len(lines) >= 2 and lines[-1].endswith("(100%)"), (step, out)
        assert len(lines) <= 12, lines  # a line per tenth, not per order
    assert "demo history written: 400 paid orders from " in out
    assert re.search(r"\d+ order lines, \d+ refunds, \d+ pickups", out) and re.search(r"took [\d.]+ s", out)
    again = cli(tmp_path, "seed-demo", "--history", "--orders", "400", "--days", "40", timeout=300)
    assert again.returncode == 0 and "demo history already present (400 orders)" in again.stdout
