"""Redis read-through cache for the consumer catalog reads. Keys embed namespace versions: a change
bumps the version, so an entry computed before the change is never read again (even one written
after the bump by a slow loader). The checkout always reads the database, never this cache."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

from server.kit import clock, runtime
from server.kit import redis as kr

CATALOG_NS = "catalog"          # every listing, search, home and shop page
# One round trip: read the namespace versions and the entry stored under them.
_GET_VERSIONED = """
local parts = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then v = '0' end
  parts[i] = v
end
local key = ARGV[1] .. ':' .. table.concat(parts, '.')
return {key, redis.call('GET', key)}
"""


def _script():
    rt = runtime.get()
    s = rt.extras.get("catalog_cache_script")
    if s is None or rt.extras.get("catalog_cache_client") is not rt.redis:
        s = rt.redis.register_script(_GET_VERSIONED)
        rt.extras["catalog_cache_script"] = s
        rt.extras["catalog_cache_client"] = rt.redis
    return s


def product_ns(product_id: int) -> str:
    return f"cp:{product_id}"


async def cached_bytes(namespaces: tuple[str, ...], name: str, loader: Callable[[], Awaitable[Any]],
                       ttl: int | Callable[[Any], int]) -> bytes:
    """The JSON bytes for `name` under the given namespaces, loading and storing them on a miss.

    Entries carry their own deadline (service clock) in front of the JSON, so an entry never
    outlives what it shows (a certificate's expiry day) even when Redis keeps the key longer."""
    keys = [kr.key("nsv", ns) for ns in namespaces]
    full_key, raw = await _script()(keys=keys, args=[kr.key("cc", name)])
    now = clock.now().timestamp()
    if raw is not None:
        deadline, _, body = raw.partition(b"\n")
        if deadline.isdigit() and int(deadline) > now:
            return body
    value = await loader()
    seconds = ttl(value) if callable(ttl) else ttl  # may drop bookkeeping keys from value
    body = orjson.dumps(value)
    if seconds > 0:
        k = full_key.decode() if isinstance(full_key, bytes) else full_key
        await kr.redis().set(k, b"%d\n" % int(now + seconds) + body, ex=seconds)
    return body


async def invalidate_product(product_id: int) -> None:
    """Forget every cached read that shows this product (its detail page and all listings)."""
    await kr.bump_namespace(CATALOG_NS, product_ns(product_id))


async def invalidate_catalog() -> None:
    """Forget every cached listing (a merchant's or category's visibility changed)."""
    await kr.bump_namespace(CATALOG_NS)
