"""An in-process tier in front of Redis for values every request reads and few change (a catalogue
page, a signed-in user's roles), kept honest across processes by PUBLISH.

Each entry carries tags; `invalidate(name, *tags)` drops the entries with any of them here at once and
PUBLISHes the tags, and every process's listener drops its own. While a process is not subscribed
(start-up, a lost connection) its tier answers nothing, so nothing it missed is served. An entry
lives `life` seconds at most (80-100% of it, so entries filled together do not expire together),
in case a message were lost, and never past its own deadline on the service clock. A generation
counter keeps a value read from Redis just before an invalidation out of the tier: take
`generation` before the read and hand it to `put`."""
from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import time
from typing import Any, Collection, Hashable

from server.kit import clock, runtime
from server.kit import redis as kr

log = logging.getLogger("kazuo.local_cache")


class LocalCache:
    def __init__(self, name: str, *, life: float, max_entries: int) -> None:
        self.name = name
        self.life = life
        self.max_entries = max_entries
        self.ready = False
        self.generation = 0
        self.entries: dict[Hashable, tuple[Collection[str], float, float, Any]] = {}
        self.next_sweep = time.monotonic() + life
        self.task: asyncio.Task | None = None

    @classmethod
    def of(cls, name: str, *, life: float, max_entries: int) -> "LocalCache | None":
        """This runtime's tier called name, listening (None outside an event loop)."""
        rt = runtime.get()
        tier = rt.extras.get(("local_cache", name))
        if tier is None:
            tier = rt.extras[("local_cache", name)] = cls(name, life=life, max_entries=max_entries)
        if tier.task is None or tier.task.done():
            try:
                tier.task = asyncio.get_running_loop().create_task(tier._listen(rt))
            except RuntimeError:
                return None
        return tier

    def get(self, key: Hashable) -> Any | None:
        hit = self.entries.get(key)
        if hit is None or not self.ready:
            return None
        _, until_mono, deadline, value = hit
        if until_mono < time.monotonic() or deadline <= clock.timestamp():
            self.entries.pop(key, None)
            return None
        return value

    def put(self, key: Hashable, value: Any, tags: Collection[str], generation: int,
            deadline: float = math.inf) -> None:
        """tags: what drop() matches (a tuple of strings is the cheapest to keep: the collector stops
        tracking it)."""
        if not self.ready or generation != self.generation:
            return
        now = time.monotonic()
        # An entry past its life is only dropped when its key is asked for again: one asked for once
        # (a unique search, a cursor page, a bot's made-up id) would stay until the tier filled up,
        # so the process grew by every distinct key of the last max_entries. Sweep them every life.
        if now >= self.next_sweep or len(self.entries) >= self.max_entries:
            self.sweep(now)
        if len(self.entries) >= self.max_entries:
            # Full of live entries: drop the oldest quarter (not all, so the hot pages stay).
            for k in list(itertools.islice(self.entries, max(1, self.max_entries // 4))):
                del self.entries[k]
        life = self.life * (0.8 + 0.2 * random.random())
        self.entries[key] = (tags, now + life, deadline, value)

    def sweep(self, now: float | None = None) -> None:
        """Drop the entries past their life or their deadline."""
        now = time.monotonic() if now is None else now
        wall = clock.timestamp()
        self.entries = {k: v for k, v in self.entries.items() if v[1] >= now and v[2] > wall}
        self.next_sweep = now + self.life

    def drop(self, tags: set[str]) -> None:
        self.generation += 1
        self.entries = {k: v for k, v in self.entries.items() if not tags.intersection(v[0])}

    def reset(self) -> None:
        self.generation += 1
        self.entries.clear()

    async def _listen(self, rt: runtime.Runtime) -> None:
        while runtime._current is rt:
            pubsub = None
            try:
                pubsub = rt.redis.pubsub()
                await pubsub.subscribe(_channel(self.name))
                self.reset()
                self.ready = True
                while runtime._current is rt:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg and msg.get("type") == "message":
                        data = msg["data"]
                        self.drop(set((data.decode() if isinstance(data, bytes) else str(data)).split(",")))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - run on Redis alone until subscribed again
                log.warning("%s local cache lost Redis: %r", self.name, exc)
            finally:
                self.ready = False
                self.reset()
                if pubsub is not None:
                    try:
                        await pubsub.aclose()
                    except Exception:  # noqa: BLE001
                        pass
            if runtime._current is rt:
                await asyncio.sleep(1.0)


def _channel(name: str) -> str:
    return kr.key(name, "invalidate")


async def invalidate(name: str, *tags: str) -> None:
    """Drop the entries of the tier called name with any of these tags: here at once, in every other
    process through the message."""
    tier = runtime.get().extras.get(("local_cache", name))
    if tier is not None:
        tier.drop(set(tags))
    await kr.redis().publish(_channel(name), ",".join(tags))
