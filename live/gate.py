"""The flash-sale gate (秒杀闸): Redis Lua scripts check and take a tie-in's quota with a per-buyer limit
before any order is written, so a crowd of buyers is turned away without touching the database.

The database stays the truth (LiveTieIn.remaining with a conditional update, LivePurchase per buyer):
when the two disagree the database wins and the gate is reloaded from it. A take opens a hold that
the checkout confirms after its commit; a hold never confirmed (rollback, crash) is given back by the
sweeper, and one whose commit is lost is corrected by the next reload."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from server.kit import clock
from server.kit import redis as kr

log = logging.getLogger("kazuo.live.gate")
LUA_DIR = Path(__file__).parent / "lua"

TAKEN, SOLD_OUT, COLD, OVER_LIMIT = 1, 0, -1, -2
# A hold older than this was never confirmed: its checkout rolled back or its process died.
HOLD_TTL_MS = 30_000
# Sold-out answers check the database at most this often per tie-in (repairs an under-counting gate).
REPAIR_EVERY_S = 1


def _keys(tiein_id: int) -> list[str]:
    base = kr.key("live", "gate", tiein_id)
    return [base, base + ":buyers", base + ":holds", base + ":holdq"]


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


async def take(tiein_id: int, buyer_id: int, qty: int, limit: int) -> tuple[int, str]:
    """Take qty for buyer: (TAKEN, hold id) | (SOLD_OUT | COLD | OVER_LIMIT, "")."""
    hold = secrets.token_hex(8)
    r = int(await kr.script("live_take", _keys(tiein_id), [buyer_id, qty, limit, hold, _now_ms()]))
    return r, (hold if r == TAKEN else "")


async def confirm(tiein_id: int, hold: str) -> None:
    """The checkout committed: the units are in the database now, the hold is done."""
    k = _keys(tiein_id)
    pipe = kr.redis().pipeline(transaction=True)
    pipe.zrem(k[2], hold)
    pipe.hdel(k[3], hold)
    await pipe.execute()


async def give_back(tiein_id: int, buyer_id: int, qty: int, hold: str = "", *,
                    to_quota: int | None = None) -> bool:
    """Return units to the gate (an open hold at most once; hold='' for a cancelled order).
    to_quota: units back into the remaining quota when it differs from the buyer's units."""
    return bool(await kr.script("live_give", _keys(tiein_id),
                                [buyer_id, qty, hold, qty if to_quota is None else to_quota]))


async def load(tiein_id: int) -> int:
    """Reload the gate from the database (the truth); returns the gate's remaining units."""
    from server.models.live import LivePurchase, LiveTieIn

    tiein = await LiveTieIn.get_or_none(id=tiein_id).only("id", "remaining", "is_active")
    remaining = tiein.remaining if tiein is not None and tiein.is_active else 0
    rows = await LivePurchase.filter(tiein_id=tiein_id, quantity__gt=0).values_list("buyer_id", "quantity")
    args: list = [remaining]
    for buyer, q in rows:
        args += [buyer, q]
    return int(await kr.script("live_load", _keys(tiein_id), args))


async def maybe_repair(tiein_id: int) -> bool:
    """On a sold-out answer: at most once a second, reload the gate if the database has more left."""
    if not await kr.redis().set(kr.key("live", "gate", tiein_id, "checked"), 1, nx=True, ex=REPAIR_EVERY_S):
        return False
    from server.models.live import LiveTieIn

    row = await LiveTieIn.filter(id=tiein_id).values_list("remaining", flat=True)
    gate_left = await kr.redis().get(_keys(tiein_id)[0])
    if row and row[0] > int(gate_left or 0):
        left = await load(tiein_id)
        log.warning("flash gate repaired from the database", extra={"tiein_id": tiein_id, "remaining": left})
        return True
    return False


async def expire_holds(tiein_id: int, older_than_ms: int = HOLD_TTL_MS) -> int:
    """Give back holds never confirmed; returns the units given back."""
    return int(await kr.script("live_expire_holds", _keys(tiein_id), [_now_ms() - older_than_ms]))


async def remaining(tiein_id: int) -> int | None:
    v = await kr.redis().get(_keys(tiein_id)[0])
    return None if v is None else int(v)


async def drop(tiein_id: int) -> None:
    """Forget the gate (the tie-in's quota went back to the shelf)."""
    await kr.redis().delete(*_keys(tiein_id))
