"""kit.redis: Lua scripts called in batches (one pipeline per event-loop turn) answer each caller with
its own result, survive a Redis that forgot its scripts, and fail every caller when Redis fails."""
import asyncio


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
