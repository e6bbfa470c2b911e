"""Cache for the consumer catalog reads, in two tiers.

L2, Redis (shared by every process): each entry records the namespace versions it was computed
under; a change bumps a version, so an entry computed before the change is never served again (even
one written after the bump by a slow loader). One MGET per read.

L1, in this process (a few seconds at most): answers hot pages without a Redis round trip. Every
invalidation is also PUBLISHed; each process listens and drops the affected L1 entries, and runs
without L1 while it is not subscribed (start-up, a lost connection). A generation counter keeps an
entry read from Redis just before an invalidation out of L1.

The checkout reads the database, never this cache."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Awaitable, Callable

import orjson

from server.kit import clock, runtime
from server.kit import redis as kr

log = logging.getLogger("kazuo.catalog.cache")

CATALOG_NS = "catalog"          # every listing, search, home and shop page
L1_SECONDS = 5.0                # upper bound on an L1 entry's life, even if a message were lost
L1_MAX_ENTRIES = 20_000


def product_ns(product_id: int) -> str:
    return f"cp:{product_id}"


class _L1:
    def __init__(self) -> None:
        self.ready = False
        self.generation = 0
        self.entries: dict[str, tuple[tuple[str, ...], float, float, bytes]] = {}
        self.task: asyncio.Task | None = None

    def get(self, name: str) -> bytes | None:
        hit = self.entries.get(name)
        if hit is None or not self.ready:
            return None
        _, until_mono, deadline, body = hit
        if until_mono < time.monotonic() or deadline <= clock.timestamp():
            self.entries.pop(name, None)
            return None
        return body

    def put(self, name: str, namespaces: tuple[str, ...], deadline: float, body: bytes, generation: int) -> None:
        if not self.ready or generation != self.generation:
            return
        if len(self.entries) >= L1_MAX_ENTRIES:
            self.entries.clear()
        # a life between 80% and 100% of L1_SECONDS: entries filled together do not all go back to
        # Redis in the same instant
        life = L1_SECONDS * (0.8 + 0.2 * random.random())
        self.entries[name] = (namespaces, time.monotonic() + life, deadline, body)

    def drop(self, namespaces: set[str]) -> None:
        self.generation += 1
        if CATALOG_NS in namespaces:
            # listings depend on CATALOG_NS; details only on their product's namespace
            self.entries = {k: v for k, v in self.entries.items()
                            if CATALOG_NS not in v[0] and not namespaces.intersection(v[0])}
        else:
            self.entries = {k: v for k, v in self.entries.items() if not namespaces.intersection(v[0])}

    def reset(self) -> None:
        self.generation += 1
        self.entries.clear()


def _channel() -> str:
    return kr.key("catalog", "invalidate")


async def _listen(l1: _L1, rt: runtime.Runtime) -> None:
    while runtime._current is rt:
        pubsub = None
        try:
            pubsub = rt.redis.pubsub()
            await pubsub.subscribe(_channel())
            l1.reset()
            l1.ready = True
            while runtime._current is rt:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg and msg.get("type") == "message":
                    data = msg["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    l1.drop(set(text.split(",")))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - run on L2 alone until subscribed again
            log.warning("catalog L1 listener lost Redis: %r", exc)
        finally:
            l1.ready = False
            l1.reset()
            if pubsub is not None:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001
                    pass
        if runtime._current is rt:
            await asyncio.sleep(1.0)


def _l1() -> _L1 | None:
    rt = runtime.get()
    if not getattr(rt.settings, "catalog_local_cache", True):
        return None
    l1 = rt.extras.get("catalog_l1")
    if l1 is None:
        l1 = rt.extras["catalog_l1"] = _L1()
    if l1.task is None or l1.task.done():
        try:
            l1.task = asyncio.get_running_loop().create_task(_listen(l1, rt))
        except RuntimeError:
            return None
    return l1


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
                l1.put(name, namespaces, int(parts[1]), parts[2], generation)
            return parts[2]
    value = await loader()
    seconds = ttl(value) if callable(ttl) else ttl  # may drop bookkeeping keys from value
    body = orjson.dumps(value)
    if seconds > 0:
        await kr.redis().set(entry, b"%s\n%d\n%s" % (versions, int(now + seconds), body), ex=seconds)
        if l1 is not None:
            l1.put(name, namespaces, now + seconds, body, generation)
    return body


async def _invalidate(*namespaces: str) -> None:
    l1 = runtime.get().extras.get("catalog_l1")
    if l1 is not None:
        l1.drop(set(namespaces))  # this process at once, the others through the message
    await kr.bump_namespace(*namespaces)
    await kr.redis().publish(_channel(), ",".join(namespaces))


async def invalidate_product(product_id: int) -> None:
    """Forget every cached read that shows this product (its detail page and all listings)."""
    await _invalidate(CATALOG_NS, product_ns(product_id))


async def invalidate_products(product_ids: list[int]) -> None:
    """Forget the detail pages of these products and all listings (a merchant's status changed)."""
    await _invalidate(CATALOG_NS, *[product_ns(i) for i in product_ids])


async def invalidate_catalog() -> None:
    """Forget every cached listing (categories or visibility changed)."""
    await _invalidate(CATALOG_NS)
