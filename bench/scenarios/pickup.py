"""Pickup verification (核销): 200 village stations verifying pickup codes at once.

Setup (untimed, straight into the database): 200 village stations under a town centre, one staff
account each (token issued as login would), and per station a stock of parcels ready for pickup
(orders ready_for_pickup, each with its own 8-digit code). Two timed measurements, every request a
fresh code (a pickup is handed over once):
  1. "all at once": 200 connections, one per station, each verifying as fast as the server answers
     (closed loop, `rounds` codes per station) -- the worst case, 200 requests always in flight;
  2. "paced": the 200 stations each verify one code every `interval` seconds (open loop, random
     phase), latency measured from the scheduled send -- a busy morning at 200 counters. Each
     counter's connection is open before the phase starts (a scanner keeps its connection; the
     keep-alive outlasts the interval), so its server CPU figure is the verifications', not 200
     connections' opening spread over a few verifications each (which made it fall as --duration grew).
Each phase prints "server cpu ms/verification": the CPU the server's processes used during the phase
(from /proc, every Sanic worker), divided by the verifications it answered.
Verified afterwards from the database: every 200 is one pickup picked up and one order completed,
nothing verified twice. Options: --opt stations=200 --opt rounds=10 --opt interval=2 (seconds)."""
from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import time
from datetime import timedelta

from bench import Req
from bench.loadgen import Figures, _Conn, _loopback, percentile

CONNECTIONS = 200


def _server_cpu(ctx) -> float | None:
    """CPU seconds used so far by the server's process group (every Sanic worker), from /proc: a
    per-verification cost that does not depend on how busy the shared machine is."""
    proc = getattr(ctx.stack, "server", None)
    if proc is None:
        return None
    pgid, tick, total = proc.popen.pid, os.sysconf("SC_CLK_TCK"), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp), after pid and comm
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def setup(ctx):
    n = int(ctx.option("stations", 200))
    rounds = int(ctx.option("rounds", 10))
    interval = float(ctx.option("interval", 2.0))
    paced = math.ceil(ctx.duration / interval) + 2
    per = rounds + paced
    tag = secrets.token_hex(3)
    async with ctx.services():
        from server.kit import clock
        from server.kit.auth import issue_token
        from server.models.accounts import RoleGrant, User
        from server.models.orders import Order, OrderStatus
        from server.models.pickup import Pickup
        from server.models.stations import Station

        now = clock.now()
        town = await Station.create(code=f"BP-T-{tag}", name="南哨街道电商服务中心", level="town", town="南哨街道",
                                    services=["pickup"])
        await Station.bulk_create([Station(code=f"BP-V-{tag}-{i:03d}", name=f"村级服务站{i:03d}", level="village",
                                           parent_id=town.id, town="南哨街道", village=f"村{i:03d}",
                                           services=["pickup"]) for i in range(n)], batch_size=500)
        sids = list(await Station.filter(code__startswith=f"BP-V-{tag}-").order_by("id").values_list("id", flat=True))
        await User.bulk_create([User(openid=f"o-bp-{tag}-staff-{i}") for i in range(n)]
                               + [User(openid=f"o-bp-{tag}-buyer")], batch_size=1000)
        staff = list(await User.filter(openid__startswith=f"o-bp-{tag}-staff-").order_by("id")
                     .values_list("id", flat=True))
        buyer = await User.get(openid=f"o-bp-{tag}-buyer")
        await RoleGrant.bulk_create([RoleGrant(user_id=u, role="station_staff", station_id=s,
                                               scope_key=f"station_staff:{s}:") for u, s in zip(staff, sids)],
                                    batch_size=1000)
        rng = random.Random(5)
        orders = [Order(order_no=f"BP{tag}{s}{k:03d}", buyer_id=buyer.id, status=OrderStatus.READY_FOR_PICKUP,
                        fulfilment="pickup", station_id=s, goods_fen=2800, total_fen=2800, paid_fen=2800,
                        payment_method="wechat_jsapi", paid_at=now) for s in sids for k in range(per)]
        await Order.bulk_create(orders, batch_size=1000)
        rows = await Order.filter(order_no__startswith=f"BP{tag}").values("id", "order_no", "station_id")
        codes_by_station: dict[int, list[str]] = {}
        pickups = []
        for s in sids:
            codes_by_station[s] = [f"{c:08d}" for c in rng.sample(range(10**8), per)]
        used: dict[int, int] = {s: 0 for s in sids}
        for r in rows:
            s = r["station_id"]
            code = codes_by_station[s][used[s]]
            used[s] += 1
            pickups.append(Pickup(order_id=r["id"], order_no=r["order_no"], station_id=s, buyer_id=buyer.id,
                                  code=code, open_code=code, received_at=now, deadline_at=now + timedelta(days=7)))
        await Pickup.bulk_create(pickups, batch_size=1000)
        tokens = [issue_token(u, ["consumer", "station_staff"], 0) for u in staff]
    ctx.state.update(sids=sids, tokens=tokens, codes=codes_by_station, rounds=rounds, interval=interval,
                     order_prefix=f"BP{tag}")
    ctx.log(f"{n} stations, {len(pickups)} pickups ready ({per} per station)")


def _verify_req(ctx, i: int, k: int) -> Req:
    st = ctx.state
    sid = st["sids"][i]
    return Req("POST", f"/api/v1/station/{sid}/verify", headers={"Authorization": f"Bearer {st['tokens'][i]}"},
               body={"code": st["codes"][sid][k]})


async def _paced(ctx, first_k: int) -> Figures:
    st = ctx.state
    host, port = _loopback(ctx.base_url)
    hostport = f"{host}:{port}"
    interval, duration = st["interval"], ctx.duration
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    start = 0.0
    rng = random.Random(11)
    conns = [_Conn(host, port) for _ in st["sids"]]

    async def station(i: int, phase: float) -> None:
        nonlocal errors
        conn = conns[i]
        k = 0
        try:
            while True:
                due = start + phase + k * interval
                if due - start >= duration or first_k + k >= len(st["codes"][st["sids"][i]]):
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                raw = _verify_req(ctx, i, first_k + k).raw(hostport)
                try:
                    status, _, close = await asyncio.wait_for(conn.send(raw), 10)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                    errors += 1
                    conn.close()
                    k += 1
                    continue
                # From the scheduled moment, so a server that falls behind shows its queueing.
                latencies.append(time.perf_counter() - due)
                statuses[status] = statuses.get(status, 0) + 1
                if close:
                    conn.close()
                k += 1
        finally:
            conn.close()

    await asyncio.gather(*(c.open() for c in conns))
    await asyncio.sleep(0.3)  # the server has taken the connections in before the CPU is read
    cpu0 = _server_cpu(ctx)
    start = time.perf_counter() + 0.5
    t0 = time.perf_counter()
    await asyncio.gather(*(station(i, rng.random() * interval) for i in range(len(st["sids"]))))
    elapsed = time.perf_counter() - t0
    cpu1 = _server_cpu(ctx)
    latencies.sort()
    fig = Figures(name="pickup_verify paced", connections=len(st["sids"]), duration=elapsed,
                  requests=len(latencies), p50_ms=percentile(latencies, 50) * 1000,
                  p99_ms=percentile(latencies, 99) * 1000,
                  non2xx=sum(v for s, v in statuses.items() if not 200 <= s < 300), errors=errors,
                  client="asyncio", statuses=dict(sorted(statuses.items())))
    if latencies:
        fig.extra["max_ms"] = latencies[-1] * 1000
    fig.extra["offered/s"] = round(len(st["sids"]) / interval, 1)
    if cpu0 is not None and latencies:
        fig.extra["server cpu ms/verification"] = round((cpu1 - cpu0) / len(latencies) * 1000, 2)
    return fig


async def run(ctx):
    st = ctx.state
    n = len(st["sids"])
    # The staff have been using the workspace: their sessions (principals) are warm.
    warm = [Req("GET", f"/api/v1/station/{sid}/pickups?limit=1", headers={"Authorization": f"Bearer {t}"})
            for sid, t in zip(st["sids"], st["tokens"])]
    await ctx.drive(warm, name="warm staff", connections=min(50, n))
    rounds = st["rounds"]
    reqs = [_verify_req(ctx, i, k) for k in range(rounds) for i in range(n)]
    cpu0, t0 = _server_cpu(ctx), time.perf_counter()
    burst = await ctx.drive(reqs, name="pickup_verify all at once", connections=n)
    wall, cpu1 = time.perf_counter() - t0, _server_cpu(ctx)
    burst.extra.update({"verifications": len(reqs), "verified/s": round(burst.statuses.get(200, 0) / wall, 1)})
    if cpu0 is not None:
        burst.extra["server cpu ms/verification"] = round((cpu1 - cpu0) / len(reqs) * 1000, 2)
    paced = await _paced(ctx, rounds)
    for fig in (burst, paced):
        bad = {k: v for k, v in fig.statuses.items() if k != 200}
        if bad or fig.errors:
            fig.extra["unexpected"] = f"statuses {bad}, socket errors {fig.errors}"
    ctx.state["ok"] = burst.statuses.get(200, 0) + paced.statuses.get(200, 0)
    return [burst, paced]


async def verify(ctx):
    st = ctx.state
    async with ctx.services():
        from server.models.orders import Order, OrderStatus
        from server.models.pickup import Pickup

        picked = await Pickup.filter(station_id__in=st["sids"], status="picked_up").count()
        still_open = await Pickup.filter(station_id__in=st["sids"], status="picked_up",
                                         open_code__not_isnull=True).count()
        completed = await Order.filter(order_no__startswith=st["order_prefix"], status=OrderStatus.COMPLETED).count()
    problems = []
    if picked != st["ok"]:
        problems.append(f"{picked} pickups picked up but {st['ok']} verifications answered 200")
    if completed != picked:
        problems.append(f"{completed} orders completed for {picked} pickups")
    if still_open:
        problems.append(f"{still_open} picked-up pickups still hold an open code")
    if problems:
        raise AssertionError("pickup verification inconsistent: " + "; ".join(problems))
    return {"picked_up": picked, "orders_completed": completed}
