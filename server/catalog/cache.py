"""Redis read-through cache for the consumer catalog reads. Each entry records the namespace versions
it was computed under; a change bumps a version, so an entry computed before the change is never
served again (even one written after the bump by a slow loader). The checkout reads the database."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

from server.kit import clock
from server.kit import redis as kr

CATALOG_NS = "catalog"          # every listing, search, home and shop page


def product_ns(product_id: int) -> str:
    return f"cp:{product_id}"


async def cached_bytes(namespaces: tuple[str, ...], name: str, loader: Callable[[], Awaitable[Any]],
                       ttl: int | Callable[[Any], int]) -> bytes:
    """The JSON bytes for `name` under the given namespaces, loading and storing them on a miss.

    One round trip (MGET of the namespace versions and the entry). An entry is stored as
    "<versions>\n<deadline>\n<json>": it counts only while the versions still match (a change
    bumps them; a slow loader that read before the change stores the old versions, so its result is
    never served) and until its deadline on the service clock (so an entry never outlives what it
    shows, such as a certificate's last valid day)."""
    entry = kr.key("cc", name)
    vals = await kr.redis().mget([kr.key("nsv", ns) for ns in namespaces] + [entry])
    versions = b".".join(v or b"0" for v in vals[:-1])
    raw = vals[-1]
    now = clock.now().timestamp()
    if raw is not None:
        parts = raw.split(b"\n", 2)
        if len(parts) == 3 and parts[0] == versions and parts[1].isdigit() and int(parts[1]) > now:
            return parts[2]
    value = await loader()
    seconds = ttl(value) if callable(ttl) else ttl  # may drop bookkeeping keys from value
    body = orjson.dumps(value)
    if seconds > 0:
        await kr.redis().set(entry, b"%s\n%d\n%s" % (versions, int(now + seconds), body), ex=seconds)
    return body


async def invalidate_product(product_id: int) -> None:
    """Forget every cached read that shows this product (its detail page and all listings)."""
    await kr.bump_namespace(CATALOG_NS, product_ns(product_id))


async def invalidate_catalog() -> None:
    """Forget every cached listing (a merchant's or category's visibility changed)."""
    await kr.bump_namespace(CATALOG_NS)
