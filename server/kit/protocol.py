"""The server's HTTP protocol: Sanic's own (websockets included), with requests taken up in the
order they arrived, a slice at a time.

Sanic wakes a connection's task as soon as its bytes are read, and an event loop turn runs every
task woken before it. Under a crowd one read returns every connection that has sent something (a
flash sale: all 500), so the next turn runs all their handlers - tens of milliseconds - before the
loop reads its sockets again. Meanwhile nothing is read: not the next requests, and not the
replies of Redis (or the database) that earlier requests wait for, which therefore wait for a
whole turn, then for their place in the next. And the next turn takes the new requests in the
kernel's order of ready sockets, which is not the order they came in.

Here a connection whose bytes arrive joins a first-in first-out queue, and each turn of the loop
wakes at most SLICE of them. The loop reads its sockets between slices: Redis's replies are read
within a slice of their arrival, and a request is handled after those that came before it."""
from __future__ import annotations

import asyncio
import weakref
from collections import deque

from sanic.server.protocols.websocket_protocol import WebSocketProtocol

# Connections woken per turn of the event loop: 3-4 ms of handlers at a flash sale's request cost.
# Chosen by alternating runs of the flash sale (500 connections): p99 with no slicing 47-63 ms, with
# slices of 64 36-38 ms, of 32 35-45 ms, of 16 38-53 ms; attempts/s 5-10% below no slicing. At 50
# connections (checkout, /healthz) every turn's connections fit in one slice: no difference measured.
SLICE = 64


class _Queue:
    """One event loop's connections with unread requests, oldest first."""

    __slots__ = ("loop", "waiting", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = weakref.ref(loop)  # the registry below is keyed by the loop: not kept alive by it
        self.waiting: deque[_Arrived] = deque()
        self.scheduled = False

    def join(self, event: "_Arrived") -> None:
        self.waiting.append(event)
        if not self.scheduled:
            self.scheduled = True
            self.loop().call_soon(self.wake)

    def wake(self) -> None:
        waiting, woken = self.waiting, 0
        while waiting and woken < SLICE:
            event = waiting.popleft()
            if event.queued:  # not cleared since (its task read the bytes itself)
                event.queued = False
                asyncio.Event.set(event)
                woken += 1
        if waiting:  # the rest after the loop has read its sockets again
            self.loop().call_soon(self.wake)
        else:
            self.scheduled = False


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()


class _Arrived(asyncio.Event):
    """A connection's "bytes arrived" event (SanicProtocol._data_received), set through the queue.
    Cleared before its turn, it is not set by it, as a plain event's clear() undoes an earlier set():
    Sanic clears it before waiting for more bytes than it has read."""

    def __init__(self, queue: _Queue):
        super().__init__()
        self.queue = queue
        self.queued = False

    def set(self) -> None:
        if not self.queued:
            self.queued = True
            self.queue.join(self)

    def clear(self) -> None:
        self.queued = False
        super().clear()


class TrackedHttpProtocol(WebSocketProtocol):
    """Sanic's own protocol as it comes (KAZUO_HTTP_ARRIVAL_ORDER=false), its connections known to
    close_after_response()."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _servers[id(self.connections)] = self.connections


class FairHttpProtocol(TrackedHttpProtocol):
    """Requests in arrival order: replaces SanicProtocol's private `_data_received` event (what
    tests/platform/test_canaries.py checks on every Sanic upgrade)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        queue = _queues.get(self.loop)
        if queue is None:
            queue = _queues[self.loop] = _Queue(self.loop)
        self._data_received = _Arrived(queue)


def protocol_class(arrival_order: bool) -> type[WebSocketProtocol]:
    """The server's protocol: requests in arrival order, or Sanic's own (KAZUO_HTTP_ARRIVAL_ORDER)."""
    return FairHttpProtocol if arrival_order else TrackedHttpProtocol


async def close_after_response() -> None:
    """While the server stops: every open connection closes once its current response is sent
    (`Connection: close`), idle ones at once. Sanic's drain (GRACEFUL_SHUTDOWN_TIMEOUT) waits for
    its connections to close, and a client that keeps sending on a kept-alive connection would keep
    one open, and be served, for the whole grace. Runs until cancelled (after_server_stop); again
    and again, as a connection accepted before the listener closed may still arrive."""
    while True:
        for conn in [c for conns in list(_servers.values()) for c in list(conns)]:
            if conn.transport is None or conn.transport.is_closing():
                continue
            http = getattr(conn, "_http", None)
            if http is not None:
                http.keep_alive = False
            conn.close_if_idle()
        await asyncio.sleep(0.05)


# Each server's set of open connections (Sanic's own, one per server of this process; Sanic adds
# and removes the connections), for close_after_response().
_servers: dict[int, set] = {}
