"""Change events for viewers: published on a Redis channel per session, so every server process
fans them out to its own websockets (one pub/sub connection per process, not one per viewer)."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import orjson

from server.kit import redis as kr

log = logging.getLogger("kazuo.live.events")


def channel(session_id: int) -> str:
    return kr.key("live", "ch", session_id)


async def publish(session_id: int, kind: str, data: dict | None = None) -> None:
    """Tell every process's viewers of a session that something changed (best effort)."""
    try:
        await kr.redis().publish(*message(session_id, kind, data))
    except Exception:  # viewers also poll; a lost event is caught up by the next poll
        log.warning("live event publish failed", exc_info=True)


def message(session_id: int, kind: str, data: dict | None = None) -> tuple[str, bytes]:
    """(channel, payload) of an event, for a caller that publishes it in a pipeline of its own."""
    return channel(session_id), orjson.dumps({"type": kind, "data": data or {}})


class Hub:
    """Per-process fan-out: one Redis subscription per watched session, many local queues."""

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue]] = defaultdict(set)
        self._pubsub = None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        if self._pubsub is None:
            self._pubsub = kr.redis().pubsub(ignore_subscribe_messages=True)
            # A placeholder channel so the reader has a subscription to wait on from the start.
            await self._pubsub.subscribe(kr.key("live", "ch", "hub"))
            self._task = asyncio.get_running_loop().create_task(self._reader())

    async def _reader(self) -> None:
        prefix_len = len(kr.key("live", "ch", ""))
        while True:
            try:
                msg = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live hub read failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if not msg or msg.get("type") != "message":
                continue
            ch = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
            try:
                sid = int(ch[prefix_len:])
            except ValueError:
                continue
            for q in list(self._queues.get(sid, ())):
                if q.qsize() < 100:  # a stuck viewer drops events; it re-syncs from snapshots
                    q.put_nowait(msg["data"])

    async def join(self, session_id: int) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue()
        async with self._lock:
            await self._ensure()
            if not self._queues[session_id]:
                await self._pubsub.subscribe(channel(session_id))
            self._queues[session_id].add(q)
        return q

    async def leave(self, session_id: int, q: asyncio.Queue) -> None:
        async with self._lock:
            qs = self._queues.get(session_id)
            if qs is None:
                return
            qs.discard(q)
            if not qs:
                del self._queues[session_id]
                try:
                    await self._pubsub.unsubscribe(channel(session_id))
                except Exception:  # noqa: BLE001 - closing
                    pass

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except Exception:  # noqa: BLE001 - closing
                pass
        self._pubsub = self._task = None
        self._queues.clear()


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub


async def close_hub() -> None:
    global _hub
    if _hub is not None:
        await _hub.close()
        _hub = None
