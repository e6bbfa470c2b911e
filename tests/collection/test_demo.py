"""The demo data has first-mile collections (#26 gap): households that village stations sell for, with
collections at the station, on the way, arrived and received; seeding again adds none. Seeded through
the CLI into its own throwaway SQLite database (the demo's stations, merchants and products must not
change what the shared suite sees)."""
from __future__ import annotations

import re

from server.collection.demo import HOUSEHOLDS
from tests.platform.test_cli import cli, db


def test_seed_demo_has_collections_once(tmp_path):
    first = cli(tmp_path, "seed-demo", timeout=300)
    assert first.returncode == 0, first.stderr
    expected = sum(len(h[-1]) for h in HOUSEHOLDS)
    assert f"{expected} collections created" in first.stdout
    with db(tmp_path) as conn:
        rows = conn.execute(
            "SELECT c.status, c.quantity, c.received_qty, m.operated_by_station_id FROM collections c "
            "JOIN merchants m ON m.id = c.merchant_id").fetchall()
        stock = conn.execute("SELECT COUNT(*) FROM stock_moves WHERE reason = 'collection'").fetchone()[0]
    assert len(rows) == expected and all(r[3] for r in rows)
    assert {"received", "arrived", "at_station"} <= {r[0] for r in rows}
    received = [r for r in rows if r[0] == "received"]
    assert received and all(r[2] == r[1] for r in received) and stock == len(received)
    second = cli(tmp_path, "seed-demo", timeout=300)
    assert second.returncode == 0, second.stderr
    assert re.search(r"\b0 collections created", second.stdout), second.stdout
    with db(tmp_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM collections").fetchone()[0] == expected
