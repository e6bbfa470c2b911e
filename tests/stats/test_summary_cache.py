"""The statistics page's summary cache: a rollup makes the kept summary stale at once (the next load
sums again); past its seconds the kept one is shown while one background task sums it again, so no
operator's load waits for a year of rollups every minute."""
from __future__ import annotations

import asyncio

from server.kit import clock
from server.kit import redis as kr
from server.stats import rollup
from server.stats import service as stats
from tests.stats.conftest import unique_day


async def _kept(start, end) -> tuple[str, dict]:
    """The kept summary's key and value (summed again when the worker's cron rolled up meanwhile)."""
    for _ in range(5):
        k = kr.key("stats", "summary", str(await kr.namespace_version(rollup.NS)), start.isoformat(),
                   end.isoformat())
        kept = await kr.cache_get(k)
        if kept is not None:
            return k, kept
        await stats.summary_cached(start, end)
    raise AssertionError("no summary kept")


async def test_an_expired_summary_is_shown_while_it_is_summed_again(app):
    day = unique_day()
    first = await stats.summary_cached(day, day)
    k, kept = await _kept(day, day)
    assert kept["summary"] == first
    # An hour old and marked: the next load shows it as it was and does not wait for the recount.
    old = {"at": clock.now().timestamp() - 3600, "summary": {**first, "marker": "as kept"}}
    await kr.cache_set(k, old, 600)
    shown = await stats.summary_cached(day, day)
    assert shown.get("marker") == "as kept"
    await asyncio.gather(*kr.refreshing)   # the background recount
    _, kept = await _kept(day, day)
    assert "marker" not in kept["summary"] and clock.now().timestamp() - kept["at"] < 60
    assert "marker" not in await stats.summary_cached(day, day)


async def test_a_rollup_makes_the_kept_summary_stale_at_once(app):
    day = unique_day()
    await stats.summary_cached(day, day)
    k, kept = await _kept(day, day)
    await kr.cache_set(k, {"at": kept["at"], "summary": {**kept["summary"], "marker": "before the rollup"}}, 600)
    assert (await stats.summary_cached(day, day)).get("marker") == "before the rollup"
    await rollup.rollup_day(day)   # bumps the namespace: the kept one is not shown again
    assert "marker" not in await stats.summary_cached(day, day)
