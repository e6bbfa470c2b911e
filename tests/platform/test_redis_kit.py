"""kit.redis: Lua scripts called in batches (one pipeline per event-loop turn) answer each caller with
its own result, survive a Redis that forgot its scripts, and fail every caller when Redis fails; the
wire that carries the batches to a real Redis speaks its protocol (database, password, errors,
lost connections, silence)."""
import asyncio

import pytest


async def test_batched_calls_each_get_their_own_answer(client):
    from server.kit import redis as kr

    key = kr.key("test", "batched-counter")
    await kr.redis().delete(key)
    # rate_hit.lua counts one hit in a window and returns {count, ttl}: 200 callers at once see 1..200
    answers = await asyncio.gather(*[kr.script_batched("rate_hit", [key], [60_000]) for _ in range(200)])
    assert sorted(int(a[0]) for a in answers) == list(range(1, 201))
    assert int(await kr.redis().get(key)) == 200


async def test_a_batch_reloads_scripts_redis_forgot(client):
    from server.kit import redis as kr

    key = kr.key("test", "batched-flush")
    await kr.redis().delete(key)
    await kr.redis().script_flush()
    answers = await asyncio.gather(*[kr.script_batched("rate_hit", [key], [60_000]) for _ in range(5)])
    assert sorted(int(a[0]) for a in answers) == [1, 2, 3, 4, 5]


async def test_a_failed_batch_fails_every_caller(client, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.kit import redis as kr
    from server.kit import runtime

    class Down:
        def pipeline(self, **_):
            raise RedisConnectionError("down")

    monkeypatch.setattr(runtime.get(), "redis", Down())
    results = await asyncio.gather(*[kr.script_batched("rate_hit", ["k"], [60]) for _ in range(3)],
                                   return_exceptions=True)
    assert all(isinstance(r, RedisConnectionError) for r in results)


async def test_merged_calls_are_one_script_call_each_with_its_own_answer(client, monkeypatch):
    from server.kit import redis as kr

    keys = [kr.key("test", "merged", str(i % 3)) for i in range(30)]
    await kr.redis().delete(*set(keys))
    sent = []
    real = kr._transmit

    def counted(batch):
        sent.append([command[2] for command, _, _ in batch])  # each EVALSHA's number of keys
        return real(batch)

    monkeypatch.setattr(kr, "_transmit", counted)
    answers = await asyncio.gather(*[kr.script_merged("rate_hit", [k], [60_000], 2) for k in keys])
    assert sent == [[30]]  # one pipeline, one call of the script for the thirty callers
    for i in range(3):
        mine = [int(a[0]) for k, a in zip(keys, answers) if k == keys[i]]
        assert mine == list(range(1, 11))  # each key counted each hit, in order
    assert all(0 < int(a[1]) <= 60_000 for a in answers)


async def test_a_merged_script_call_that_fills_the_batch_gets_its_own_answer(client):
    """The merged call that is the batch's FLUSH_AT-th command sends the batch at once: it must be in
    it (a checkout's rate-limit hit answered nothing, a 500, under 200 concurrent buyers)."""
    from server.kit import redis as kr

    key = kr.key("test", "merged-flush-at")
    await kr.redis().delete(key)
    others = [kr.script_batched("rate_hit", [key], [60_000]) for _ in range(kr.FLUSH_AT - 1)]
    mine = kr.script_merged("rate_hit", [key], [60_000], 2)   # the FLUSH_AT-th command of the turn
    answers = await asyncio.gather(*others, mine)
    count, ttl_ms = answers[-1]
    assert 1 <= int(count) <= kr.FLUSH_AT and 0 < int(ttl_ms) <= 60_000
    assert sorted(int(a[0]) for a in answers) == list(range(1, kr.FLUSH_AT + 1))


async def test_a_crowded_turn_is_sent_in_batches_as_it_fills(client, monkeypatch):
    from server.kit import redis as kr

    key = kr.key("test", "batched-flush-at")
    await kr.redis().delete(key)
    sizes = []
    real = kr._transmit

    def counted(batch):
        # Only the batches carrying this test's commands: the server's own background work (the
        # worker, caches) may send a batch of its own meanwhile.
        if any(key in repr(call) for _, call, _ in batch):
            sizes.append(len(batch))
        return real(batch)

    monkeypatch.setattr(kr, "_transmit", counted)
    n = 2 * kr.FLUSH_AT + 22
    answers = await asyncio.gather(*[kr.script_batched("rate_hit", [key], [60_000]) for _ in range(n)])
    assert sizes == [kr.FLUSH_AT, kr.FLUSH_AT, 22]  # two sent while the turn still ran, the rest after
    assert sorted(int(a[0]) for a in answers) == list(range(1, n + 1))


@pytest.fixture
async def wired(monkeypatch):
    """wired(**kw): the runtime's Redis swapped for a client of kw (its batched commands go on its
    own wire); the clients and their wires are closed afterwards."""
    from redis.asyncio import Redis

    from server.kit import redis as kr
    from server.kit import runtime

    made = []

    def make(**kw):
        client = Redis(socket_connect_timeout=1, **kw)
        made.append(client)
        monkeypatch.setattr(runtime.get(), "redis", client)
        return client

    yield make
    monkeypatch.undo()
    for client in made:
        kr.close_wire(client)
        await client.aclose()


async def test_a_wire_that_cannot_connect_fails_every_caller(client, wired):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.kit import redis as kr

    wired(host="127.0.0.1", port=1)  # nothing listens there
    results = await asyncio.gather(*[kr.batched("GET", "x") for _ in range(3)], return_exceptions=True)
    assert all(isinstance(r, RedisConnectionError) for r in results), results


async def test_a_silent_redis_times_out_and_the_next_batch_reconnects(client, wired):
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from server.kit import redis as kr

    accepted = []  # the connections that carried this test's GETs (not a background job's)

    async def silent(reader, writer):  # reads the commands, never answers the first connection
        while data := await reader.read(65536):
            if writer not in accepted and b"GET\r\n$1\r\n" in data:
                accepted.append(writer)
            if writer in accepted[1:]:
                writer.write(b"$2\r\nok\r\n")

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        wired(host="127.0.0.1", port=port, socket_timeout=0.2)
        results = await asyncio.gather(kr.batched("GET", "a"), kr.batched("GET", "b"), return_exceptions=True)
        assert all(isinstance(r, RedisTimeoutError) for r in results), results
        assert await kr.batched("GET", "c") == b"ok"  # a new connection
        assert len(accepted) == 2
    finally:
        for w in accepted:
            w.close()
        server.close()


async def test_a_command_after_a_quiet_spell_gets_its_whole_timeout(client, wired):
    """The timeout counts from the command's own send when nothing was waiting, not from the last
    reply: a command sent just before an old timer fires is not failed by it."""
    from server.kit import redis as kr

    async def answering(reader, writer):  # one reply for each batch it reads, the second one late
        n = 0
        while await reader.read(65536):
            n += 1
            if n == 2:
                await asyncio.sleep(0.2)
            writer.write(b"$2\r\nok\r\n")

    server = await asyncio.start_server(answering, "127.0.0.1", 0)
    try:
        wired(host="127.0.0.1", port=server.sockets[0].getsockname()[1], socket_timeout=0.3)
        assert await kr.batched("GET", "a") == b"ok"  # arms the timer (due at 0.3 s), answered at once
        await asyncio.sleep(0.2)
        # sent at 0.2 s and answered at 0.4 s, within its own 0.3 s but after the old timer
        assert await kr.batched("GET", "b") == b"ok"
    finally:
        server.close()


def _real_redis(settings):
    if settings.embedded_redis:
        pytest.skip("needs a Redis server (KAZUO_TEST_REDIS_URL)")
    from redis.asyncio.connection import parse_url

    return parse_url(settings.redis_url)


async def test_the_wire_uses_the_database_and_password_of_its_url(client, wired, settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.kit import redis as kr

    url = _real_redis(settings)
    host, port = url.get("host", "127.0.0.1"), url.get("port", 6379)
    key = kr.key("test", "wire-db")
    other = wired(host=host, port=port, db=(url.get("db", 0) + 1) % 16)
    await other.delete(key)
    assert await kr.batched("SET", key, "in-the-other-db") == b"OK"
    assert await other.get(key) == b"in-the-other-db"
    await other.delete(key)
    # A password Redis does not expect: the handshake's error fails the batch (no answer without it).
    wired(host=host, port=port, password="not-the-password")
    with pytest.raises(RedisConnectionError):
        await kr.batched("GET", key)


async def test_a_lost_connection_fails_its_callers_and_the_wire_reconnects(client, wired, settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.kit import redis as kr
    from server.kit import runtime

    _real_redis(settings)
    admin = wired(**{k: v for k, v in runtime.get().redis.connection_pool.connection_kwargs.items()
                                   if k in ("host", "port", "db", "password", "username")})
    name, key = "kazuo-wire-test", kr.key("test", "wire-lost")
    await kr.batched("CLIENT", "SETNAME", name)
    # The wire's connection waits in a BLPOP, so the callers behind it wait too; then it is killed.
    pending = asyncio.gather(kr.batched("BLPOP", key, 5), *[kr.batched("GET", key) for _ in range(3)],
                             return_exceptions=True)
    ids = [c["id"] for c in await admin.client_list() if c.get("name") == name]
    assert len(ids) == 1
    await admin.execute_command("CLIENT", "KILL", "ID", ids[0])
    results = await asyncio.wait_for(pending, 2)
    assert all(isinstance(r, RedisConnectionError) for r in results), results
    await admin.set(key, "back")
    assert await kr.batched("GET", key) == b"back"  # the next batch opens a new connection
    assert [c for c in await admin.client_list() if c.get("name") == name] == []
    await admin.delete(key)


def test_the_wire_encodes_commands_as_redis_py_does():
    """_pack writes the bytes redis-py's own connection writes, and refuses what redis-py refuses."""
    from enum import IntEnum

    from redis.asyncio.connection import Connection
    from redis.exceptions import DataError

    from server.kit.redis import _pack

    class Level(IntEnum):
        village = 3

    command = ("EVALSHA", "a" * 40, 2, "kz:key", b"\x00\xffbytes", 0, -7, 2**70, 0.1, 1 / 3, 1e20, "喀左")
    assert _pack(command) == b"".join(Connection().pack_command(*command))
    for odd in (Level.village, memoryview(b"view"), memoryview(b"abcdef")[::2]):  # hiredis's packer
        # refuses an int subclass and packs a strided view wrongly: these take the other packer
        sent = _pack(("SET", "k", odd))
        assert sent == b"".join(Connection().pack_command("SET", "k", odd if not isinstance(odd, memoryview)
                                                          else odd.tobytes()))
    for bad in (True, None, bytearray(b"x"), [1]):
        with pytest.raises(DataError):
            Connection().pack_command("SET", "k", bad)
        with pytest.raises(DataError, match=type(bad).__name__):
            _pack(("SET", "k", bad))


async def test_a_batch_that_cannot_be_built_fails_every_caller_and_the_next_one_works(client):
    """A merged script call the batch cannot build (here: a script that was never loaded) fails the
    whole turn's callers at once, and the next turn's batch is sent as usual (before: the failed
    turn's callers waited for ever and every later batched command with them)."""
    from server.kit import redis as kr

    async def turn():
        return await asyncio.gather(kr.script_merged("no_such_script", ["k"], [1], 1),
                                    kr.batched("PING"), return_exceptions=True)

    results = await asyncio.wait_for(turn(), 2)
    assert all(isinstance(r, KeyError) for r in results), results
    assert await asyncio.wait_for(kr.batched("PING"), 2) in (b"PONG", "PONG", True)
    assert kr._batch == [] and "no_such_script" not in kr._merged


async def test_a_reply_that_is_not_redis_fails_its_callers_at_once(client, wired):
    """A server answering bytes that are not RESP: the wire's callers fail at once, not after the
    socket timeout, and the link is dropped."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.kit import redis as kr

    async def garbage(reader, writer):
        await reader.read(100)
        writer.write(b"!not redis\r\n")
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        wired(host="127.0.0.1", port=port, socket_timeout=30)
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.wait_for(
            asyncio.gather(*[kr.batched("GET", "x") for _ in range(3)], return_exceptions=True), 5)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert loop.time() - start < 2
    finally:
        server.close()
