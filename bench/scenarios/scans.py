"""Transfer scans (转运扫描): scan events/s accepted with 100 concurrent scanners, and the time to list
a parcel's full timeline.

Setup (untimed, straight into the database): `scanners` town centres (default 100) under the
county warehouse, one staff account each (token issued as login would), and per town `per` parcels
already dispatched from the county towards it (packed + dispatched events, county->town promise),
plus `full` parcels with a complete record county -> town -> village (packed, dispatched, arrived,
dispatched, arrived, handed over) for the timeline reads. Three timed measurements:
  1. "scan arrived": the 100 scanners each scan their own parcels in as fast as the server answers
     (every request a new, valid event: parcel moved, event written, promise met, next promise set);
  2. "scan duplicate": the same scans sent again -- each must be recognised as one event (200,
     duplicate=true, nothing written);
  3. for scale, GET /api/v1/me by the same clients (token, principal, one row);
  4. "timeline": GET /api/v1/logistics/parcels/<label>/timeline of full-record parcels, for the
     run's duration, then 200 reads by one client.
Verified afterwards from the database: one arrived event per 200, every parcel at its town once.
Options: --opt scanners=100 --opt per=40 --opt full=200 --opt timeline_conns=20"""
from __future__ import annotations

import secrets
import time
from datetime import timedelta

from bench import Req

CONNECTIONS = 100


async def setup(ctx):
    n = int(ctx.option("scanners", 100))
    per = int(ctx.option("per", 40))
    full = int(ctx.option("full", 200))
    tag = secrets.token_hex(3).upper()
    async with ctx.services():
        from server.fulfillment import routing
        from server.kit import clock
        from server.kit.auth import issue_token
        from server.models.accounts import RoleGrant, User
        from server.models.catalog import Category, Product, Sku
        from server.models.fulfillment import DeliveryPromise, FulfillmentTask, Parcel, ScanEvent
        from server.models.merchants import Merchant
        from server.models.orders import Order, OrderStatus
        from server.models.stations import Station

        now = clock.now()
        county = await Station.filter(level="county").order_by("id").first()
        if county is None:
            county = await Station.create(code="KZ-COUNTY", name="喀左县电子商务公共服务中心", level="county",
                                          town="大城子街道")
        await Station.bulk_create([Station(code=f"BS-T-{tag}-{i:03d}", name=f"乡镇服务中心{i:03d}", level="town",
                                           parent_id=county.id, town=f"镇{tag}{i:03d}") for i in range(n)],
                                  batch_size=500)
        towns = list(await Station.filter(code__startswith=f"BS-T-{tag}-").order_by("id").values_list("id", flat=True))
        await Station.bulk_create([Station(code=f"BS-V-{tag}-{i:03d}", name=f"村级服务站{i:03d}", level="village",
                                           parent_id=t, town=f"镇{tag}{i:03d}", village=f"村{i:03d}")
                                   for i, t in enumerate(towns)], batch_size=500)
        villages = list(await Station.filter(code__startswith=f"BS-V-{tag}-").order_by("id")
                        .values_list("id", flat=True))
        await User.bulk_create([User(openid=f"o-bs-{tag}-staff-{i}") for i in range(n)]
                               + [User(openid=f"o-bs-{tag}-buyer"), User(openid=f"o-bs-{tag}-wh")], batch_size=1000)
        staff = list(await User.filter(openid__startswith=f"o-bs-{tag}-staff-").order_by("id")
                     .values_list("id", flat=True))
        buyer = await User.get(openid=f"o-bs-{tag}-buyer")
        wh = await User.get(openid=f"o-bs-{tag}-wh")
        await RoleGrant.bulk_create([RoleGrant(user_id=u, role="station_staff", station_id=s,
                                               scope_key=f"station_staff:{s}:") for u, s in zip(staff, towns)]
                                    + [RoleGrant(user_id=wh.id, role="warehouse", scope_key="warehouse::")],
                                    batch_size=1000)
        m = await Merchant.create(name=f"bench {tag}", kind="cooperative", status="active")
        cat, _ = await Category.get_or_create(slug="bench-scans", defaults={"name": "bench"})
        p = await Product.create(merchant=m, category=cat, name="bench 小米", status="on_sale")
        await Sku.create(product=p, spec="1kg", price=1000, list_price=1000, stock=0)

        # (town index, parcel number, full record?) for every parcel
        plan = [(i, k, False) for i in range(n) for k in range(per)] + \
               [(k % n, per + k, True) for k in range(full)]
        await Order.bulk_create([Order(order_no=f"BS{tag}{i:03d}{k:05d}", buyer_id=buyer.id,
                                       status=OrderStatus.READY_FOR_PICKUP if done else OrderStatus.IN_FULFILMENT,
                                       fulfilment="pickup", station_id=villages[i], goods_fen=1000, total_fen=1000,
                                       paid_fen=1000, payment_method="wechat_jsapi", paid_at=now)
                                 for i, k, done in plan], batch_size=1000)
        order_ids = dict(await Order.filter(order_no__startswith=f"BS{tag}").values_list("order_no", "id"))
        await FulfillmentTask.bulk_create([
            FulfillmentTask(order_id=order_ids[f"BS{tag}{i:03d}{k:05d}"], status="shipped", mode="local",
                            fulfilment="pickup", route=[county.id, towns[i], villages[i]],
                            destination_station_id=villages[i], town_station_id=towns[i], shipped_at=now)
            for i, k, _ in plan], batch_size=1000)
        task_ids = dict(await FulfillmentTask.filter(order_id__in=list(order_ids.values()))
                        .values_list("order_id", "id"))
        parcels = []
        for i, k, done in plan:
            oid = order_ids[f"BS{tag}{i:03d}{k:05d}"]
            parcels.append(Parcel(
                label=f"BS{tag}{i:03d}{k:05d}", task_id=task_ids[oid], order_id=oid,
                status="ready_for_pickup" if done else "in_transit", route=[county.id, towns[i], villages[i]],
                position=2 if done else 0, moving=not done, version=5 if done else 1, weight_g=1000,
                packed_at=now - timedelta(hours=2), dispatched_at=now - timedelta(hours=1)))
        await Parcel.bulk_create(parcels, batch_size=1000)
        rows = await Parcel.filter(label__startswith=f"BS{tag}").values("id", "label", "route", "status")
        events, promises = [], []
        for r in rows:
            c, t, v = r["route"]
            hops = [("packed", c), ("dispatched", c)]
            if r["status"] == "ready_for_pickup":
                hops += [("arrived", t), ("dispatched", t), ("arrived", v), ("handed_over", v)]
            for j, (kind, st) in enumerate(hops):
                events.append(ScanEvent(parcel_id=r["id"], kind=kind, direction="forward", station_id=st,
                                        actor_id=wh.id, scan_key=f"{r['id']}:forward:{kind}:{st}" if j else
                                        f"{r['id']}:forward:packed", at=now - timedelta(hours=2) + timedelta(minutes=j)))
            due = routing.county_town_due(now - timedelta(hours=2))
            promises.append(DeliveryPromise(parcel_id=r["id"], leg="county_town", town_station_id=t, due_at=due))
            promises.append(DeliveryPromise(parcel_id=r["id"], leg="county_village", town_station_id=t,
                                            due_at=now + timedelta(hours=46)))
        await ScanEvent.bulk_create(events, batch_size=2000)
        await DeliveryPromise.bulk_create(promises, batch_size=2000)
        tokens = [issue_token(u, ["consumer", "station_staff"], 0) for u in staff]
        wh_token = issue_token(wh.id, ["consumer", "warehouse"], 0)
    labels = {i: [f"BS{tag}{i:03d}{k:05d}" for k in range(per)] for i in range(n)}
    full_labels = [f"BS{tag}{i:03d}{per + k:05d}" for k, (i, _, _) in
                   enumerate([(k % n, 0, 0) for k in range(full)])]
    ctx.state.update(tag=tag, towns=towns, tokens=tokens, wh_token=wh_token, labels=labels, per=per,
                     full_labels=full_labels)
    ctx.log(f"{n} town scanners, {n * per} parcels in transit, {full} with a full record "
            f"({len(events)} events loaded)")


def _scan_reqs(ctx) -> list[Req]:
    st = ctx.state
    # round k: every scanner scans its k-th parcel, so the 100 connections each carry one scanner
    return [Req("POST", "/api/v1/logistics/scans", headers={"Authorization": f"Bearer {st['tokens'][i]}"},
                body={"label": st["labels"][i][k], "kind": "arrived", "station_id": st["towns"][i]})
            for k in range(st["per"]) for i in range(len(st["towns"]))]


async def run(ctx):
    st = ctx.state
    n = len(st["towns"])
    # The staff have been scanning already: their sessions (principals) are warm.
    warm = [Req("GET", f"/api/v1/logistics/parcels/{st['full_labels'][0]}/timeline",
                headers={"Authorization": f"Bearer {t}"}) for t in st["tokens"]]
    await ctx.drive(warm, name="warm staff", connections=min(50, n))
    reqs = _scan_reqs(ctx)
    t0 = time.perf_counter()
    scans = await ctx.drive(reqs, name="scan arrived (new events)", connections=n)
    wall = time.perf_counter() - t0
    scans.extra.update({"scans": len(reqs), "accepted events/s": round(scans.statuses.get(200, 0) / wall, 1)})
    t0 = time.perf_counter()
    dups = await ctx.drive(reqs, name="scan duplicate (same scan again)", connections=n, keep_bodies=True)
    wall = time.perf_counter() - t0
    responses = dups.extra.pop("responses", [])
    not_dup = sum(1 for x in responses if x and x[0] == 200 and b'"duplicate":true' not in x[1])
    dups.extra.update({"duplicates/s": round(dups.statuses.get(200, 0) / wall, 1),
                       "answered as new": not_dup})
    # For scale: the same clients on GET /api/v1/me (token check, principal, one row) in this run.
    me = await ctx.drive([Req("GET", "/api/v1/me", headers=r.headers) for r in reqs],
                         name="for scale: GET /me, same clients", connections=n)
    tl_reqs = [Req("GET", f"/api/v1/logistics/parcels/{label}/timeline",
                   headers={"Authorization": f"Bearer {st['wh_token']}"}) for label in st["full_labels"]]
    conns = int(ctx.option("timeline_conns", 20))
    await ctx.warmup(tl_reqs, 1.0)
    timeline = await ctx.load(tl_reqs, name="timeline (6 events, 2 promises)", connections=conns)
    single = await ctx.drive(tl_reqs[:200], name="timeline, one client", connections=1)
    for fig in (scans, dups, me, timeline, single):
        bad = {k: v for k, v in fig.statuses.items() if k != 200}
        if bad or fig.errors or fig.non2xx:
            fig.extra["unexpected"] = f"statuses {bad}, non-2xx {fig.non2xx}, socket errors {fig.errors}"
    st["accepted"] = scans.statuses.get(200, 0)
    return [scans, dups, me, timeline, single]


async def verify(ctx):
    st = ctx.state
    async with ctx.services():
        from server.models.fulfillment import DeliveryPromise, Parcel, ScanEvent

        prefix = f"BS{st['tag']}"
        moved = Parcel.filter(label__startswith=prefix, status="at_station", position=1)
        at_town = await moved.count()
        ids = list(await moved.values_list("id", flat=True))
        arrived = await ScanEvent.filter(parcel_id__in=ids, kind="arrived").count() if ids else 0
        met = await DeliveryPromise.filter(parcel_id__in=ids, leg="county_town", met_at__not_isnull=True).count() \
            if ids else 0
        nxt = await DeliveryPromise.filter(parcel_id__in=ids, leg="town_village").count() if ids else 0
    problems = []
    if at_town != st["accepted"]:
        problems.append(f"{at_town} parcels at their town but {st['accepted']} scans answered 200")
    if arrived != at_town:
        problems.append(f"{arrived} arrived events for {at_town} parcels")
    if met != at_town or nxt != at_town:
        problems.append(f"promises: {met} met, {nxt} next legs for {at_town} parcels")
    if problems:
        raise AssertionError("scan record inconsistent: " + "; ".join(problems))
    return {"parcels_at_town": at_town, "arrived_events": arrived}
