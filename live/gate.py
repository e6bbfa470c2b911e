"""The flash-sale gate (秒杀闸): Redis Lua scripts check and take a tie-in's quota with a per-buyer limit
before any order is written, so a crowd of buyers is turned away without touching the database.

The database stays the truth (LiveTieIn.remaining with a conditional update, LivePurchase per buyer):
when the two disagree the database wins and the gate is reloaded from it. A take opens a hold that
the checkout confirms after its commit; a hold never confirmed (rollback, crash) is given back by the
sweeper, and one whose commit is lost is corrected by the next reload."""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path

from server.kit import clock, metrics
from server.kit import redis as kr
from server.kit.db import detached
from server.models.live import LivePurchase, LiveTieIn

log = logging.getLogger("kazuo.live.gate")
LUA_DIR = Path(__file__).parent / "lua"

TAKEN, SOLD_OUT, COLD, OVER_LIMIT, KEY_TAKEN = 1, 0, -1, -2, -3
_TAKE_COUNTERS = {r: metrics.FLASH_GATE.labels(name) for r, name in (
    (TAKEN, "taken"), (SOLD_OUT, "sold_out"), (COLD, "cold"), (OVER_LIMIT, "over_limit"), (KEY_TAKEN, "key_taken"))}
# A hold older than this was never confirmed: its checkout rolled back or its process died.
HOLD_TTL_MS = 30_000
# Sold-out answers check the database at most this often per tie-in (repairs an under-counting gate).
REPAIR_EVERY_S = 1


def _keys(tiein_id: int) -> list[str]:
    base = kr.key("live", "gate", tiein_id)
    return [base, base + ":buyers", base + ":holds", base + ":holdq", base + ":epoch"]


def now_ms() -> int:
    return int(clock.timestamp() * 1000)


# Sold out, as this process last heard from the gate: {tiein_id: until (monotonic)}. Once a quota is
# gone the crowd keeps pressing; for a quarter of a second this process answers them without asking
# Redis. A give-back in another process is seen at most that late.
LOCAL_SOLD_OUT_S = 0.25
_sold_out_until: dict[int, float] = {}
# When that memory runs out, one take asks Redis again for the whole process and the crowd keeps the
# answer it had until it is back: {tiein_id: stop waiting for that take after (monotonic)}. Without
# this, every press arriving in the round trip's time (hundreds, at a crowd's pace) went to Redis
# with a whole ticket four times a second.
RECHECK_S = 1.0
_rechecking: dict[int, float] = {}


async def _retrying(fn, attempts: int = 5):
    """Confirm and give-back keep the gate true to the database: a momentary loss of Redis (a
    connection that could not be had) is waited out, not turned into a lost hold."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    for i in range(attempts):
        try:
            return await fn()
        except RedisConnectionError:
            if i == attempts - 1:
                raise
            await asyncio.sleep(0.01 * (i + 1))
_repair_after: dict[int, float] = {}


# The buys this process answered with a ticket: {Idempotency-Key's Redis key: ticket}. A winner
# retrying with the same key in the quarter second of sold-out memory gets their ticket, not a 409,
# without a Redis round trip for the crowd (a retry comes back on its keep-alive connection, so to
# this process; one that lands elsewhere is looked up in Redis by the take itself).
_MAX_KEYS = 100_000
_tickets_by_key: dict[str, tuple[str, float]] = {}


def remember_ticket(idem_key: str, ticket: str, ttl_s: float) -> None:
    """Remember the ticket of a key for as long as the ticket itself lives (ttl_s)."""
    if len(_tickets_by_key) >= _MAX_KEYS:
        _tickets_by_key.clear()
    _tickets_by_key[idem_key] = (ticket, time.monotonic() + ttl_s)


def ticket_for_key(idem_key: str | None) -> str | None:
    """The ticket this process gave for this Idempotency-Key, if it gave one that still lives."""
    hit = _tickets_by_key.get(idem_key) if idem_key is not None else None
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def sold_out_here(tiein_id: int) -> bool:
    until = _sold_out_until.get(tiein_id)
    if until is None:
        return False
    now = time.monotonic()
    return until > now or _rechecking.get(tiein_id, 0.0) > now


def _forget_sold_out(tiein_id: int) -> None:
    _sold_out_until.pop(tiein_id, None)


def new_hold() -> str:
    return secrets.token_hex(8)


async def take(tiein_id: int, buyer_id: int, qty: int, limit: int, *, hold: str = "",
               queue: tuple[list[str], list] | None = None) -> tuple[int, str]:
    """Take qty for buyer: (TAKEN, hold id) | (SOLD_OUT | COLD | OVER_LIMIT | KEY_TAKEN, "").
    queue: (keys, args) that live_take.lua writes along with a take (the buy button's ticket and
    job, see live.checkout); calls made in one turn of the event loop go to Redis as one batch."""
    if sold_out_here(tiein_id):
        _TAKE_COUNTERS[SOLD_OUT].inc()
        return SOLD_OUT, ""
    hold = hold or new_hold()
    keys, args = _keys(tiein_id), [buyer_id, qty, limit, hold, now_ms()]
    if queue is not None:
        keys, args = keys + queue[0], args + queue[1]
    recheck = tiein_id in _sold_out_until  # the memory ran out: this take asks for everyone
    if recheck:
        _rechecking[tiein_id] = time.monotonic() + RECHECK_S
    try:
        r = int(await kr.script_batched("live_take", keys, args))
    finally:
        if recheck:
            _rechecking.pop(tiein_id, None)
    _TAKE_COUNTERS[r].inc()
    if r == SOLD_OUT and qty == 1:
        if len(_sold_out_until) > 10_000:
            _sold_out_until.clear()
            _rechecking.clear()
        _sold_out_until[tiein_id] = time.monotonic() + LOCAL_SOLD_OUT_S
    elif r == TAKEN:
        _forget_sold_out(tiein_id)  # units came back: the memory was wrong
    return r, (hold if r == TAKEN else "")


async def confirm_many(holds: list[tuple[int, str]]) -> dict[int, int | None]:
    """The checkouts of these (tiein_id, hold) committed: their units are in the database now, the
    holds are done, in one step. Returns {tiein_id: the gate's remaining (None if it is cold)}, read
    in the same step."""
    tieins = sorted({tid for tid, _ in holds})

    async def run():
        pipe = kr.redis().pipeline(transaction=True)
        for tid, hold in holds:
            k = _keys(tid)
            pipe.zrem(k[2], hold)
            pipe.hdel(k[3], hold)
            pipe.incr(k[4])
        for tid in tieins:
            pipe.get(_keys(tid)[0])
        return (await pipe.execute())[len(holds) * 3:]

    lefts = await _retrying(run)
    return {tid: None if left is None else int(left) for tid, left in zip(tieins, lefts)}


async def give_back(tiein_id: int, buyer_id: int, qty: int, hold: str = "", *,
                    to_quota: int | None = None) -> bool:
    """Return units to the gate (an open hold at most once; hold='' for a cancelled order).
    to_quota: units back into the remaining quota when it differs from the buyer's units."""
    _forget_sold_out(tiein_id)
    args = [buyer_id, qty, hold, qty if to_quota is None else to_quota]
    return bool(await _retrying(lambda: kr.script("live_give", _keys(tiein_id), args)))


async def load(tiein_id: int) -> int:
    """Reload the gate from the database (the truth); returns the gate's remaining units."""
    _forget_sold_out(tiein_id)
    k = _keys(tiein_id)
    left = -1
    for _ in range(5):
        epoch = (await kr.redis().get(k[4])) or b"0"
        tiein = await LiveTieIn.get_or_none(id=tiein_id).only("id", "remaining", "is_active")
        remaining = tiein.remaining if tiein is not None and tiein.is_active else 0
        rows = await LivePurchase.filter(tiein_id=tiein_id, quantity__gt=0).values_list("buyer_id", "quantity")
        args: list = [epoch.decode() if isinstance(epoch, bytes) else str(epoch), remaining]
        for buyer, q in rows:
            args += [buyer, q]
        left = int(await kr.script("live_load", k, args))
        if left >= 0:
            return left
    # Commits kept landing while we read: leave the gate as it is (the database still decides).
    v = await kr.redis().get(k[0])
    return int(v) if v is not None else 0


def repair_soon(tiein_id: int) -> None:
    """On a sold-out answer: at most once a second, check in the background whether the gate is
    behind the database (the buyer's 409 does not wait: during a sale the loop's turns are long and
    the check's round trips would hold that answer for hundreds of milliseconds)."""
    now = time.monotonic()
    if _repair_after.get(tiein_id, 0) > now:
        return
    if len(_repair_after) > 10_000:
        _repair_after.clear()
    _repair_after[tiein_id] = now + REPAIR_EVERY_S
    # not in the checkout's transaction, if it is in one; cancelled if the process stops meanwhile
    detached(maybe_repair(tiein_id)).add_done_callback(_repaired)


def _repaired(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("flash gate repair failed", exc_info=task.exception())


async def maybe_repair(tiein_id: int) -> bool:
    """Reload the gate if the database has more left than the gate and its open holds (at most once
    a second across processes). Returns whether it was behind."""
    if not await kr.redis().set(kr.key("live", "gate", tiein_id, "checked"), 1, nx=True, ex=REPAIR_EVERY_S):
        return False
    row = await LiveTieIn.filter(id=tiein_id).values_list("remaining", flat=True)
    k = _keys(tiein_id)
    pipe = kr.redis().pipeline(transaction=False)
    pipe.get(k[0])
    pipe.hvals(k[3])
    left_raw, holds = await pipe.execute()
    gate_left = int(left_raw or 0)
    # The units of open holds (checkouts in flight, a flash sale's queued tickets) are not in the
    # database yet: only a gate below what the database has beyond them is behind. Without them a
    # sold-out answer during a sale would reload the gate while commits keep landing.
    held = sum(int(h.split(b"|")[1]) for h in holds)
    if row and row[0] > gate_left + held:
        left = await load(tiein_id)
        if left != gate_left:
            log.warning("flash gate repaired from the database",
                        extra={"tiein_id": tiein_id, "was": gate_left, "now": left})
            return True
    return False


async def expire_holds(tiein_id: int, older_than_ms: int = HOLD_TTL_MS) -> int:
    """Give back holds never confirmed; returns the units given back."""
    return int(await kr.script("live_expire_holds", _keys(tiein_id), [now_ms() - older_than_ms]))


async def remaining(tiein_id: int) -> int | None:
    v = await kr.redis().get(_keys(tiein_id)[0])
    return None if v is None else int(v)


async def drop(tiein_id: int) -> None:
    """Forget the gate (the tie-in's quota went back to the shelf)."""
    await kr.redis().delete(*_keys(tiein_id))
