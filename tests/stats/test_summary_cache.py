"""The statistics page's summary cache: past its seconds, or once a rollup changed the data under it,
the kept summary is shown while one background task sums it again, so no operator's load waits for a
year of rollups (every minute, or after every rollup)."""
from __future__ import annotations

import asyncio

from server.kit import clock
from server.kit import redis as kr
from server.stats import rollup
from server.stats import service as stats
from tests.stats.conftest import unique_day


def _key(start, end) -> str:
    return kr.key("stats", "summary", start.isoformat(), end.isoformat())


async def _version() -> str:
    return str(await kr.namespace_version(rollup.NS))


async def test_an_expired_summary_is_shown_while_it_is_summed_again(app):
    day = unique_day()
    first = await stats.summary_cached(day, day)
    k = _key(day, day)
    kept = await kr.cache_get(k)
    assert kept["summary"] == first
    # An hour old and marked: the next load shows it as it was and does not wait for the recount.
    old = {"at": clock.now().timestamp() - 3600, "v": await _version(), "summary": {**first, "marker": "as kept"}}
    await kr.cache_set(k, old, 600)
    shown = await stats.summary_cached(day, day)
    assert shown.get("marker") == "as kept"
    await asyncio.gather(*kr.refreshing)   # the background recount
    kept = await kr.cache_get(k)
    assert "marker" not in kept["summary"] and clock.now().timestamp() - kept["at"] < 60
    assert "marker" not in await stats.summary_cached(day, day)


async def test_after_a_rollup_the_kept_summary_is_shown_once_while_it_is_summed_again(app, monkeypatch):
    day = unique_day()
    await stats.summary_cached(day, day)
    k = _key(day, day)
    kept = await kr.cache_get(k)
    fresh = {"at": clock.now().timestamp(), "v": await _version(),
             "summary": {**kept["summary"], "marker": "before the rollup"}}
    await kr.cache_set(k, fresh, 600)
    assert (await stats.summary_cached(day, day)).get("marker") == "before the rollup"
    await rollup.rollup_day(day)   # bumps the namespace: the kept one is of an older version now
    sums = 0
    real = stats.summary

    async def counted(start, end):
        nonlocal sums
        sums += 1
        return await real(start, end)

    monkeypatch.setattr(stats, "summary", counted)
    # shown as kept (the load does not wait), summed again in the background, once
    assert (await stats.summary_cached(day, day)).get("marker") == "before the rollup"
    await asyncio.gather(*kr.refreshing)
    assert sums == 1
    assert "marker" not in await stats.summary_cached(day, day)
