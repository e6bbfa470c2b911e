"""Cache for the consumer catalog reads, in two tiers.

L2, Redis (shared by every process): each entry records the namespace versions it was computed
under; a change bumps a version, so an entry computed before the change is never served again (even
one written after the bump by a slow loader). One MGET per read.

L1, in this process (server.kit.local_cache, a few seconds at most): answers hot pages without a
Redis round trip; every invalidation is also PUBLISHed and each process drops the affected entries.

The checkout reads the database, never this cache."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

from server.kit import clock, local_cache, runtime
from server.kit import redis as kr
from server.kit.local_cache import LocalCache

CATALOG_NS = "catalog"          # every listing, search, home and shop page
L1_SECONDS = 5.0                # upper bound on an L1 entry's life, even if a message were lost
# A page is a few KB: 2,000 entries bound the tier to ~15 MB a process, and every hot page of the
# last L1_SECONDS fits (20,000 let a stream of distinct cursors and searches hold ~150 MB).
L1_MAX_ENTRIES = 2_000


def product_ns(product_id: int) -> str:
    return f"cp:{product_id}"


def _l1() -> LocalCache | None:
    if not getattr(runtime.get().settings, "catalog_local_cache", True):
        return None
    return LocalCache.of("catalog", life=L1_SECONDS, max_entries=L1_MAX_ENTRIES)


async def cached_bytes(namespaces: tuple[str, ...], name: str, loader: Callable[[], Awaitable[Any]],
                       ttl: int | Callable[[Any], int]) -> bytes:
    """The JSON bytes for `name` under the given namespaces, loading and storing them on a miss.

    A Redis entry is "<versions>\\n<deadline>\\n<json>": it counts only while the versions still
    match and until its deadline on the service clock (so an entry never outlives what it shows,
    such as a certificate's last valid day)."""
    l1 = _l1()
    if l1 is not None:
        body = l1.get(name)
        if body is not None:
            return body
        generation = l1.generation
    entry = kr.key("cc", name)
    vals = await kr.redis().mget([kr.key("nsv", ns) for ns in namespaces] + [entry])
    versions = b".".join(v or b"0" for v in vals[:-1])
    raw = vals[-1]
    now = clock.timestamp()
    if raw is not None:
        parts = raw.split(b"\n", 2)
        if len(parts) == 3 and parts[0] == versions and parts[1].isdigit() and int(parts[1]) > now:
            if l1 is not None:
                l1.put(name, parts[2], frozenset(namespaces), generation, int(parts[1]))
            return parts[2]
    value = await loader()
    seconds = ttl(value) if callable(ttl) else ttl  # may drop bookkeeping keys from value
    body = orjson.dumps(value)
    if seconds > 0:
        await kr.redis().set(entry, b"%s\n%d\n%s" % (versions, int(now + seconds), body), ex=seconds)
        if l1 is not None:
            l1.put(name, body, frozenset(namespaces), generation, now + seconds)
    return body


async def _invalidate(*namespaces: str) -> None:
    await kr.bump_namespace(*namespaces)
    await local_cache.invalidate("catalog", *namespaces)


async def invalidate_product(product_id: int) -> None:
    """Forget every cached read that shows this product (its detail page and all listings)."""
    await _invalidate(CATALOG_NS, product_ns(product_id))


async def invalidate_products(product_ids: list[int]) -> None:
    """Forget the detail pages of these products and all listings (a merchant's status changed)."""
    await _invalidate(CATALOG_NS, *[product_ns(i) for i in product_ids])


async def invalidate_catalog() -> None:
    """Forget every cached listing (categories or visibility changed)."""
    await _invalidate(CATALOG_NS)


async def invalidate_product_only(product_id: int) -> None:
    """Forget this product's detail page and its review pages, leaving the listings (#30: a new
    review's rating reaches the cards within catalog_list_ttl)."""
    await _invalidate(product_ns(product_id))
