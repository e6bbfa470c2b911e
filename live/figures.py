"""Real-time figures (实时数据) of a session in Redis while it runs, stored in the database when it
ends: viewers (websocket presence), peak, distinct viewers, orders, buyers, units, GMV, conversion,
per-product sales."""
from __future__ import annotations

from server.kit import clock
from server.kit import redis as kr

PRESENCE_TTL_MS = 60_000  # a websocket heartbeats every 20 s; three missed beats and it is gone
FIG_TTL = 40 * 86400      # the Redis copy outlives the session; the stored copy is the record


def _k(session_id: int, *parts) -> str:
    return kr.key("live", "fig", session_id, *parts)


async def heartbeat(session_id: int, conn_id: str, viewer: str) -> int:
    """A viewer is (still) watching; returns the number watching now."""
    now = int(clock.now().timestamp() * 1000)
    n = int(await kr.script("live_presence", [kr.key("live", "presence", session_id), _k(session_id)],
                            [conn_id, now + PRESENCE_TTL_MS, now]))
    await kr.redis().pfadd(_k(session_id, "uv"), viewer)
    return n


async def leave(session_id: int, conn_id: str) -> int:
    now = int(clock.now().timestamp() * 1000)
    return int(await kr.script("live_presence", [kr.key("live", "presence", session_id), _k(session_id)],
                               [conn_id, "", now]))


async def viewers_now(session_id: int) -> int:
    now = int(clock.now().timestamp() * 1000)
    return int(await kr.redis().zcount(kr.key("live", "presence", session_id), now, "+inf"))


def record_orders(pipe, session_id: int, orders: list[tuple[int, list[tuple[int, int, int]]]]) -> None:
    """Orders placed from the session, (buyer_id, lines) each, added to pipe as one set of sums (a
    batch of a flash sale's queued winners costs a few commands, not a dozen per order)."""
    fk, pk = _k(session_id), _k(session_id, "p")
    units = gmv = 0
    per: dict[str, int] = {}
    for _, lines in orders:
        for tiein_id, n, amount in lines:
            units += n
            gmv += amount
            for field, v in ((f"{tiein_id}:units", n), (f"{tiein_id}:gmv", amount), (f"{tiein_id}:orders", 1)):
                per[field] = per.get(field, 0) + v
    pipe.hincrby(fk, "orders", len(orders))
    if units or gmv:
        pipe.hincrby(fk, "units", units)
        pipe.hincrby(fk, "gmv", gmv)
    for field, v in per.items():
        pipe.hincrby(pk, field, v)
    pipe.pfadd(_k(session_id, "ub"), *{buyer for buyer, _ in orders})
    for k in (fk, pk, _k(session_id, "ub"), _k(session_id, "uv")):
        pipe.expire(k, FIG_TTL)


async def record_cancel(session_id: int, tiein_id: int, units: int, amount: int) -> None:
    """An unpaid order gave its units back: placed figures become net of it."""
    pipe = kr.redis().pipeline(transaction=False)
    fk, pk = _k(session_id), _k(session_id, "p")
    pipe.hincrby(fk, "units", -units)
    pipe.hincrby(fk, "gmv", -amount)
    pipe.hincrby(fk, "cancelled_units", units)
    pipe.hincrby(pk, f"{tiein_id}:units", -units)
    pipe.hincrby(pk, f"{tiein_id}:gmv", -amount)
    await pipe.execute()


async def read(session_id: int) -> dict:
    """The live figures: totals plus {tiein_id: {orders, units, gmv_fen}}."""
    pipe = kr.redis().pipeline(transaction=False)
    pipe.hgetall(_k(session_id))
    pipe.hgetall(_k(session_id, "p"))
    pipe.pfcount(_k(session_id, "uv"))
    pipe.pfcount(_k(session_id, "ub"))
    tot, per, uv, ub = await pipe.execute()
    tot = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in tot.items()}
    products: dict[int, dict] = {}
    for k, v in per.items():
        k = k.decode() if isinstance(k, bytes) else k
        tid, name = k.split(":")
        row = products.setdefault(int(tid), {"orders": 0, "units": 0, "gmv_fen": 0})
        row["gmv_fen" if name == "gmv" else name] = int(v)
    viewers = int(uv)
    buyers = int(ub)
    return {"viewers_now": await viewers_now(session_id), "viewers": viewers,
            "peak_viewers": tot.get("peak", 0), "orders": tot.get("orders", 0), "buyers": buyers,
            "units": tot.get("units", 0), "gmv_fen": tot.get("gmv", 0),
            "cancelled_units": tot.get("cancelled_units", 0),
            "conversion_bp": (buyers * 10_000 // viewers) if viewers else 0, "products": products}
