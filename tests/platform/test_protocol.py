"""kit.protocol: connections with unread requests are woken oldest first, at most a slice per turn
of the event loop (so the loop reads its sockets between slices), and a crowd is answered in full."""
import asyncio

from server.kit import protocol


async def _woken(events: list, then=None) -> list[tuple[int, int]]:
    """(event index, loop turn) in the order the events' waiters woke; then() runs once all wait."""
    loop = asyncio.get_running_loop()
    turn, woken, done = [0], [], [False]

    def tick():
        turn[0] += 1
        if not done[0]:
            loop.call_soon(tick)

    async def waiter(i, event):
        await event.wait()
        woken.append((i, turn[0]))

    tasks = [asyncio.ensure_future(waiter(i, e)) for i, e in enumerate(events)]
    await asyncio.sleep(0)  # every waiter is waiting
    tick()
    if then is not None:
        then()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    done[0] = True
    return woken


async def test_connections_are_woken_oldest_first_a_slice_a_turn():
    queue = protocol._Queue(asyncio.get_running_loop())
    events = [protocol._Arrived(queue) for _ in range(protocol.SLICE * 3 + 5)]
    order = list(range(len(events)))
    order[3], order[40] = order[40], order[3]  # arrivals need not follow creation

    woken = await _woken(events, then=lambda: [events[i].set() for i in order])
    assert [i for i, _ in woken] == order
    per_turn: dict[int, int] = {}
    for _, t in woken:
        per_turn[t] = per_turn.get(t, 0) + 1
    assert max(per_turn.values()) <= protocol.SLICE
    assert len(per_turn) >= 4  # the loop turned (and read its sockets) between the slices


async def test_bytes_arriving_twice_before_the_turn_wake_the_connection_once():
    queue = protocol._Queue(asyncio.get_running_loop())
    event = protocol._Arrived(queue)
    event.set()
    event.set()
    assert len(queue.waiting) == 1
    await asyncio.wait_for(event.wait(), 1)
    event.clear()
    event.set()  # bytes after the wake queue it again
    await asyncio.wait_for(event.wait(), 1)
    assert not queue.waiting and not queue.scheduled


async def test_bytes_read_by_their_task_before_the_turn_do_not_wake_it_again():
    """Sanic clears the event before it waits for more bytes than it has: a wake queued for bytes
    its task has read since is dropped, as a plain event's clear() drops an earlier set()."""
    queue = protocol._Queue(asyncio.get_running_loop())
    event = protocol._Arrived(queue)
    event.set()
    event.clear()
    for _ in range(3):
        await asyncio.sleep(0)  # the queue's turns pass
    assert not event.is_set() and not queue.waiting and not queue.scheduled
    event.set()
    await asyncio.wait_for(event.wait(), 1)


async def test_a_crowd_of_connections_is_answered_in_full(client, settings):
    """300 keep-alive connections each send two requests at once (pipelined) and a third after the
    answers: every one is answered, in order, through the fair protocol (the test server runs it,
    as `python -m server serve` does)."""
    def request(i, k):
        return b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-ID: c%d-%d\r\n\r\n" % (i, k)

    async def visitor(i):
        reader, writer = await asyncio.open_connection(settings.host, settings.port)
        try:
            statuses = []
            writer.write(request(i, 0) + request(i, 1))
            for k in range(3):
                if k == 2:
                    writer.write(request(i, 2))
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n")
                                  if ln.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                statuses.append((int(head.split(b" ")[1]), b"X-Request-ID: c%d-%d" % (i, k) in head))
            return statuses
        finally:
            writer.close()

    answers = await asyncio.wait_for(asyncio.gather(*[visitor(i) for i in range(300)]), 30)
    assert all(a == [(200, True)] * 3 for a in answers)
    assert protocol._queues.get(asyncio.get_running_loop()) is not None
