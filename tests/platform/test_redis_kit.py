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


async def test_merged_calls_are_one_script_call_each_with_its_own_answer(client, monkeypatch):
    from server.kit import redis as kr

    keys = [kr.key("test", "merged", str(i % 3)) for i in range(30)]
    await kr.redis().delete(*set(keys))
    sent = []
    real = kr._run_batch

    async def counted(batch):
        sent.append([command[2] for command, _, _ in batch])  # each EVALSHA's number of keys
        return await real(batch)

    monkeypatch.setattr(kr, "_run_batch", counted)
    answers = await asyncio.gather(*[kr.script_merged("rate_hit", [k], [60_000], 2) for k in keys])
    assert sent == [[30]]  # one pipeline, one call of the script for the thirty callers
    for i in range(3):
        mine = [int(a[0]) for k, a in zip(keys, answers) if k == keys[i]]
        assert mine == list(range(1, 11))  # each key counted each hit, in order
    assert all(0 < int(a[1]) <= 60_000 for a in answers)
