"""Every in-process memory keyed by what clients send has a bound, so a day of distinct searches,
cursors, made-up ids and tokens cannot grow a server process (issue #27: RSS after 100k requests
within 10 MB of RSS after 10k; bench/scenarios/memory.py measures it)."""
import time

from server.catalog import cache as catalog_cache
from server.catalog import query as catalog_query
from server.kit import auth, http
from server.kit.local_cache import LocalCache


def _tier(life: float = 5.0, max_entries: int = 100) -> LocalCache:
    tier = LocalCache("test-bounds", life=life, max_entries=max_entries)
    tier.ready = True
    return tier


def test_local_cache_entries_past_their_life_are_swept_without_being_asked_for_again():
    tier = _tier(life=0.05)
    for i in range(50):  # keys asked for once (unique searches): nobody reads them again
        tier.put(f"once:{i}", b"x" * 100, frozenset(), tier.generation)
    time.sleep(0.08)
    tier.put("later", b"y", frozenset(), tier.generation)
    assert list(tier.entries) == ["later"]


def test_local_cache_full_of_live_entries_drops_its_oldest_not_everything():
    tier = _tier(max_entries=100)
    for i in range(1000):
        tier.put(f"k{i}", i, frozenset(), tier.generation)
        assert len(tier.entries) <= 100
    assert tier.get("k999") == 999 and tier.get("k0") is None
    assert len(tier.entries) > 50  # a quarter at a time: the recent entries survive each eviction


async def test_catalog_l1_is_bounded(app):
    assert catalog_cache.L1_MAX_ENTRIES <= 2_000
    l1 = catalog_cache._l1()
    if l1 is not None:
        assert l1.max_entries == catalog_cache.L1_MAX_ENTRIES


async def test_principal_tier_is_bounded(app):
    tier = LocalCache.of("principal", life=auth.PRINCIPAL_LOCAL_SECONDS, max_entries=auth.PRINCIPAL_LOCAL_MAX)
    assert tier is not None and tier.max_entries == auth.PRINCIPAL_LOCAL_MAX <= 50_000
    assert tier.life <= 5.0  # and entries past it are swept (the LocalCache tests above)


async def test_verified_tokens_are_bounded_and_the_recent_ones_stay(app, monkeypatch):
    from server.kit import runtime

    monkeypatch.setattr(auth, "VERIFIED_MAX", 8)
    verified = runtime.get().extras.setdefault("verified_tokens", {})
    verified.clear()
    tokens = [auth.issue_token(1000 + i, ["consumer"], 0) for i in range(30)]
    for t in tokens:
        assert auth.decode_token(t)["sub"] == str(tokens.index(t) + 1000)
        assert len(verified) <= 8
    assert tokens[-1] in verified and tokens[0] not in verified


def test_the_verified_token_bound_holds_a_flash_crowd_and_no_more():
    # a ten-times flash sale's 20,000 buyers stay verified; ~0.5 KB each, 25 MB at most
    assert 20_000 <= auth.VERIFIED_MAX <= 50_000


def test_parsed_queries_and_cache_names_are_bounded():
    assert http.PARSED_MAX <= 256
    assert catalog_query._cache_name.cache_info().maxsize <= 256


class _Req:
    def __init__(self, qs: str):
        self.query_string = qs
        self.args = {}


def test_parsed_query_memo_stays_within_its_bound(monkeypatch):
    from server.catalog.schemas import ProductListQuery

    monkeypatch.setattr(http, "PARSED_MAX", 16)
    monkeypatch.setattr(http, "_PARSED", {})
    for i in range(100):  # a distinct query string each (a cursor, a made-up search)
        http.parse_query(_Req(f"cursor=c{i}"), ProductListQuery)
        assert len(http._PARSED) <= 16
