"""The benchmarks' built-in HTTP client (bench.loadgen.run_asyncio): responses parsed from a
keep-alive connection by length or in chunks, a server that closes after answering, and a request
never answered counted as an error after the timeout, not waited for."""
import asyncio
import time

from bench.loadgen import Req, _parse_response, run_asyncio

ANSWERS = {
    b"/len": b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello",
    b"/chunked": b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    b"/close": b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
}


async def _server():
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                if path == b"/never":
                    await asyncio.sleep(30)
                # split in two writes: the client must wait for the rest
                answer = ANSWERS[path]
                writer.write(answer[:20])
                await writer.drain()
                await asyncio.sleep(0.01)
                writer.write(answer[20:])
                await writer.drain()
                if path == b"/close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_response_is_parsed_only_when_whole():
    whole = ANSWERS[b"/len"]
    assert _parse_response(bytearray(whole[:-1])) is None
    assert _parse_response(bytearray(whole + b"HTTP/1.1")) == ((200, b"hello", False), len(whole))
    chunked = ANSWERS[b"/chunked"]
    assert _parse_response(bytearray(chunked[:-2])) is None
    assert _parse_response(bytearray(chunked)) == ((409, b"abcde", False), len(chunked))
    assert _parse_response(bytearray(ANSWERS[b"/close"]))[0] == (201, b"ok", True)


async def test_the_client_reads_each_answer_and_counts_a_timeout():
    server, port = await _server()
    try:
        reqs = [Req("GET", p) for p in ("/len", "/chunked", "/close", "/len", "/chunked", "/len")]
        marks = []

        async def ready():  # the scenario's counters are read with the connections open, before the clock
            marks.append(time.perf_counter())

        fig = await run_asyncio(f"http://127.0.0.1:{port}", reqs, connections=2, once=True, name="t",
                                keep_bodies=True, preconnect=True, opener=Req("GET", "/len"), ready=ready)
        assert len(marks) == 1 and marks[0] <= fig.extra["started_at"]
        assert fig.errors == 0 and fig.requests == 6
        assert fig.statuses == {200: 3, 201: 1, 409: 2}
        assert [r[1] for r in fig.extra["responses"]] == [b"hello", b"abcde", b"ok", b"hello", b"abcde", b"hello"]
        assert fig.extra["client_cpu_ms_per_req"] > 0

        slow = await run_asyncio(f"http://127.0.0.1:{port}", [Req("GET", "/never"), Req("GET", "/len")],
                                 connections=1, once=True, name="t", timeout_s=0.5)
        assert slow.errors == 1 and slow.statuses == {200: 1}
        assert slow.duration < 5
    finally:
        server.close()

