"""`python -m server settle` as a user runs it (a subprocess on its own SQLite): twice for a period
changes nothing; a date that does not end a period and a malformed date are refused."""
import sqlite3

import pytest

from tests.platform.test_cli import cli


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-settle")
    assert cli(d, "migrate").returncode == 0
    return d


def test_settle_twice_then_bad_dates(workdir):
    first = cli(workdir, "settle", "--period-end", "2026-11-30")  # a Monday
    assert first.returncode == 0, first.stderr
    assert "settled 2026-11-22T16:00:00+00:00 ~ 2026-11-29T16:00:00+00:00" in first.stdout
    second = cli(workdir, "settle", "--period-end", "2026-11-30")
    assert second.returncode == 0 and "0 statement(s) made" in second.stdout, second.stdout
    with sqlite3.connect(workdir / "var" / "cli.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM settlement_statements").fetchone()[0] == 0
    tuesday = cli(workdir, "settle", "--period-end", "2026-12-01")
    assert tuesday.returncode != 0 and "period_end" in tuesday.stderr + tuesday.stdout
    bad = cli(workdir, "settle", "--period-end", "30/11/2026")
    assert bad.returncode == 2 and "--period-end" in bad.stderr
