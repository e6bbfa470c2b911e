"""Outcomes of training (培训成效), computed from orders, products and livestream data — never typed
in: per trainee, per cohort, per registered poor village (电商能手), progress against the county's
targets, and milestones recorded as they happen."""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.functions import Min

from server.kit import clock, runtime
from server.kit.db import atomic
from server.kit.errors import NotFound
from server.kit.money import apply_rate
from server.models.accounts import RoleGrant
from server.models.catalog import Product
from server.models.ledger import LedgerEntry
from server.models.orders import Order, OrderLine
from server.models.stations import Station
from server.models.training import Incubation, Milestone, SignIn, Trainee, TrainingScanMark, TrainingSession
from server.training.schemas import (
    GROUPS,
    TRACKS,
    CohortRow,
    MilestoneOut,
    OutcomeOut,
    ProgressOut,
    ProgressRow,
    VillageRow,
    VillagesOut,
)
from server.training.service import SOLD_STATUSES
from server.models.live import LiveSession, LivestreamerProfile

log = logging.getLogger("kazuo.training")

TRACK_LABELS = {"basic": "基础普及培训", "intermediate": "中级培训", "advanced": "高级培训",
                "cadre": "领导干部培训", "cross_border": "跨境电商培训", "livestream": "直播人才培训",
                "lecturer": "电商讲师培训"}
GROUP_LABELS = {"returning_graduate": "返乡大学生", "returning_migrant": "返乡农民工", "veteran": "退役军人",
                "left_behind_woman": "留守妇女", "disabled": "残疾人", "poor_household": "建档立卡贫困户",
                "village_cadre": "村干部", "station_head": "服务站站长"}
MILESTONES = ("first_product", "first_sale", "first_live_session", "first_gmv_month")


def _live_models():
    """The livestream capability's models (its session table is the better count)."""
    return LiveSession, LivestreamerProfile


def day_start(d: date) -> datetime:
    """Midnight of an Asia/Shanghai day, as aware UTC."""
    return datetime.combine(d, time(0), tzinfo=clock.SHANGHAI).astimezone(clock.UTC)


@dataclass
class Figures:
    trainee_id: int
    since: date | None = None
    merchant_ids: set[int] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)
    products: list[tuple[datetime, int]] = field(default_factory=list)     # (published_at, product id)
    sales: list[tuple[datetime, int, int, int]] = field(default_factory=list)  # (paid_at, line, order, net)
    live_lines: list[tuple[datetime, int, int, int, int]] = field(default_factory=list)
    # (paid_at, line id, order id, net, commission)
    live_sessions: dict[int, datetime] = field(default_factory=dict)        # live session id -> first seen

    @property
    def gmv_fen(self) -> int:
        return sum(s[3] for s in self.sales)

    @property
    def live_gmv_fen(self) -> int:
        return sum(x[3] for x in self.live_lines)

    def sold_lines(self) -> dict[int, int]:
        """Every line this trainee sold, as merchant or on air: line id -> net fen (no double count)."""
        out = {s[1]: s[3] for s in self.sales}
        out.update({x[1]: x[3] for x in self.live_lines})
        return out


async def first_training_days(trainee_ids: list[int] | None = None) -> dict[int, date]:
    """trainee id -> their first sign-in day."""
    q = SignIn.all()
    if trainee_ids is not None:
        q = q.filter(trainee_id__in=trainee_ids)
    rows = await q.annotate(first=Min("day")).group_by("trainee_id").values_list("trainee_id", "first")
    out = {}
    for tid, first in rows:
        out[tid] = first if isinstance(first, date) else date.fromisoformat(str(first)[:10])
    return out


async def gather(trainees: list[Trainee]) -> dict[int, Figures]:
    """Figures of consenting trainees since their first training, from a handful of queries."""
    tracked = [t for t in trainees if t.consent]
    firsts = await first_training_days([t.id for t in tracked])
    figs = {t.id: Figures(trainee_id=t.id, since=firsts.get(t.id)) for t in tracked if t.id in firsts}
    if not figs:
        return {}
    by_user = {t.user_id: t.id for t in tracked if t.user_id and t.id in figs}
    for tid, mid in await Incubation.filter(trainee_id__in=list(figs), kind="merchant").values_list(
            "trainee_id", "merchant_id"):
        figs[tid].merchant_ids.add(mid)
    if by_user:
        for uid, mid in await RoleGrant.filter(user_id__in=list(by_user), role="merchant").values_list(
                "user_id", "merchant_id"):
            if mid:
                figs[by_user[uid]].merchant_ids.add(mid)
    for uid, tid in by_user.items():
        figs[tid].user_ids.add(uid)
    LiveSession, Profile = _live_models()
    if Profile is not None:
        for uid, tid in await Profile.filter(trainee_id__in=list(figs)).values_list("user_id", "trainee_id"):
            figs[tid].user_ids.add(uid)
    earliest = day_start(min(f.since for f in figs.values()))

    merchants: dict[int, list[Figures]] = {}
    users: dict[int, list[Figures]] = {}
    for f in figs.values():
        for m in f.merchant_ids:
            merchants.setdefault(m, []).append(f)
        for u in f.user_ids:
            users.setdefault(u, []).append(f)

    if merchants:
        for pid, mid, published in await Product.filter(
                merchant_id__in=list(merchants), published_at__gte=earliest).values_list(
                "id", "merchant_id", "published_at"):
            for f in merchants[mid]:
                if published >= day_start(f.since):
                    f.products.append((published, pid))
        for lid, mid, oid, amount, refunded, paid in await OrderLine.filter(
                merchant_id__in=list(merchants), order__status__in=SOLD_STATUSES,
                order__paid_at__gte=earliest).values_list(
                "id", "merchant_id", "order_id", "amount", "refunded_fen", "order__paid_at"):
            for f in merchants[mid]:
                if paid >= day_start(f.since):
                    f.sales.append((paid, lid, oid, int(amount) - int(refunded)))
    if users:
        for lid, uid, oid, sid, amount, refunded, bp, paid in await OrderLine.filter(
                order__livestreamer_id__in=list(users), order__status__in=SOLD_STATUSES,
                order__paid_at__gte=earliest).values_list(
                "id", "order__livestreamer_id", "order_id", "order__live_session_id", "amount", "refunded_fen",
                "commission_bp", "order__paid_at"):
            net = int(amount) - int(refunded)
            for f in users[uid]:
                if paid >= day_start(f.since):
                    f.live_lines.append((paid, lid, oid, net, apply_rate(net, bp or 0)))
                    if sid:
                        f.live_sessions[sid] = min(paid, f.live_sessions.get(sid, paid))
        if LiveSession is not None:
            for sid, uid, started in await LiveSession.filter(
                    livestreamer_id__in=list(users), started_at__gte=earliest).values_list(
                    "id", "livestreamer_id", "started_at"):
                for f in users[uid]:
                    if started >= day_start(f.since):
                        f.live_sessions[sid] = min(started, f.live_sessions.get(sid, started))
    await _ledger_commission(figs)
    for f in figs.values():
        f.products.sort()
        f.sales.sort()
        f.live_lines.sort()
    return figs


async def _ledger_commission(figs: dict[int, Figures]) -> None:
    """Where the settlement ledger has posted a line's live commission (and its refund reversals), the
    ledger is the truth; lines it has not posted yet keep the rate-based figure."""
    line_ids = {x[1] for f in figs.values() for x in f.live_lines}
    if not line_ids:
        return
    posted: dict[int, int] = {}
    for lid, amount in await LedgerEntry.filter(
            order_line_id__in=list(line_ids), account_type="livestreamer",
            kind__in=("live_commission", "live_commission_reversal")).values_list("order_line_id", "amount_fen"):
        posted[lid] = posted.get(lid, 0) + int(amount)
    for f in figs.values():
        f.live_lines = [(at, lid, oid, net, posted.get(lid, commission))
                        for at, lid, oid, net, commission in f.live_lines]


def compute_milestones(f: Figures, month_threshold: int) -> dict[str, tuple[datetime, dict]]:
    """The milestones the figures show: kind -> (when, data)."""
    out: dict[str, tuple[datetime, dict]] = {}
    if f.products:
        out["first_product"] = (f.products[0][0], {"product_id": f.products[0][1]})
    if f.sales:
        out["first_sale"] = (f.sales[0][0], {"order_id": f.sales[0][2]})
    if f.live_sessions:
        sid, at = min(f.live_sessions.items(), key=lambda kv: (kv[1], kv[0]))
        out["first_live_session"] = (at, {"live_session_id": sid})
    # A month (Asia/Shanghai) in which merchant and on-air sales together pass the threshold.
    events = sorted([(s[0], s[1], s[3]) for s in f.sales] + [(x[0], x[1], x[3]) for x in f.live_lines])
    seen: set[int] = set()
    per_month: dict[str, int] = {}
    for at, line_id, net in events:
        if line_id in seen:
            continue
        seen.add(line_id)
        month = at.astimezone(clock.SHANGHAI).strftime("%Y-%m")
        per_month[month] = per_month.get(month, 0) + net
        if per_month[month] >= month_threshold:
            out["first_gmv_month"] = (at, {"month": month, "threshold_fen": month_threshold})
            break
    return out


async def _save_milestones(figs: Figures, have: dict[str, Milestone], month_threshold: int) -> int:
    """Record what the figures show; returns how many milestones are new."""
    new = 0
    for kind, (at, data) in compute_milestones(figs, month_threshold).items():
        m = have.get(kind)
        if m is None:
            try:
                async with atomic() as conn:
                    await Milestone.create(trainee_id=figs.trainee_id, kind=kind, occurred_at=at, data=data,
                                           using_db=conn)
                new += 1
            except IntegrityError:  # a concurrent run recorded it first: same facts
                pass
        elif at < m.occurred_at:
            # Late data (an order paid earlier but seen now) moves the milestone back, never forward.
            await Milestone.filter(id=m.id, occurred_at__gt=at).update(occurred_at=at, data=data)
    return new


async def record_milestones_many(trainee_ids: list[int], *, batch: int = 200) -> int:
    """Recompute and record milestones of many trainees, a batch of them per set of queries."""
    threshold = runtime.settings().training_month_gmv_fen
    new = 0
    ids = sorted(set(trainee_ids))
    for k in range(0, len(ids), batch):
        trainees = await Trainee.filter(id__in=ids[k:k + batch])
        figs = await gather(trainees)
        have: dict[int, dict[str, Milestone]] = {}
        for m in await Milestone.filter(trainee_id__in=list(figs)):
            have.setdefault(m.trainee_id, {})[m.kind] = m
        for tid, f in figs.items():
            new += await _save_milestones(f, have.get(tid, {}), threshold)
    return new


async def record_milestones(trainee_id: int) -> list[MilestoneOut]:
    """Recompute a trainee's milestones from the data and record the new ones (idempotent)."""
    if not await Trainee.filter(id=trainee_id).exists():
        raise NotFound("trainee not found")
    await record_milestones_many([trainee_id])
    return await milestones_of(trainee_id)


async def milestones_of(trainee_id: int) -> list[MilestoneOut]:
    rows = await Milestone.filter(trainee_id=trainee_id).order_by("occurred_at", "id")
    return [MilestoneOut(kind=m.kind, occurred_at=m.occurred_at, data=m.data) for m in rows]


async def trainee_outcomes(trainee_id: int) -> OutcomeOut:
    """A trainee's products, orders, GMV, live sessions, live GMV and commission since their first training."""
    t = await Trainee.get_or_none(id=trainee_id)
    if t is None:
        raise NotFound("trainee not found")
    if not t.consent:
        return OutcomeOut(trainee_id=t.id, tracked=False)
    f = (await gather([t])).get(t.id)
    if f is None:
        return OutcomeOut(trainee_id=t.id, tracked=True, milestones=await milestones_of(t.id))
    return OutcomeOut(
        trainee_id=t.id, tracked=True, since=f.since, products_listed=len(f.products),
        orders=len({s[2] for s in f.sales}), gmv_fen=f.gmv_fen, live_sessions=len(f.live_sessions),
        live_gmv_fen=f.live_gmv_fen, commission_fen=sum(x[4] for x in f.live_lines),
        milestones=await milestones_of(t.id))


# ---- cohorts and villages -----------------------------------------------------------------------
async def cohorts(by: str) -> list[CohortRow]:
    """Per course, session, track or group: how many trained, consenting trainees went on to sell, and GMV."""
    pairs = await SignIn.all().distinct().values_list("session_id", "trainee_id")
    trainee_ids = sorted({tid for _, tid in pairs})
    trainees = {t.id: t for t in await Trainee.filter(id__in=trainee_ids, consent=True)}
    figs = await gather(list(trainees.values()))
    members: dict[str, set[int]] = {}
    labels: dict[str, str] = {}
    if by == "group":
        for t in trainees.values():
            for g in t.groups or []:
                members.setdefault(g, set()).add(t.id)
        labels = dict(GROUP_LABELS)
    else:
        sessions = {s["id"]: s for s in await TrainingSession.filter(
            id__in={sid for sid, _ in pairs}).values("id", "title", "course_id", "course__name", "course__track")}
        for sid, tid in pairs:
            if tid not in trainees or sid not in sessions:
                continue
            s = sessions[sid]
            if by == "session":
                key, label = str(sid), s["title"]
            elif by == "course":
                key, label = str(s["course_id"]), s["course__name"]
            else:
                key, label = s["course__track"], TRACK_LABELS.get(s["course__track"], s["course__track"])
            members.setdefault(key, set()).add(tid)
            labels[key] = label
    rows = []
    for key in sorted(members, key=lambda k: (len(k), k)):
        ids = members[key]
        sellers = [i for i in ids if i in figs and figs[i].sold_lines()]
        lines: dict[int, int] = {}
        for i in sellers:
            lines.update(figs[i].sold_lines())
        n = len(ids)
        rows.append(CohortRow(key=key, label=labels.get(key, key), trainees=n, sellers=len(sellers),
                              seller_share_bp=(len(sellers) * 10_000 // n) if n else 0, gmv_fen=sum(lines.values())))
    return rows


async def poor_villages() -> VillagesOut:
    """Every registered poor village, whether it has an e-commerce expert (电商能手), and those that lack one."""
    threshold = runtime.settings().training_expert_gmv_fen
    villages = await Station.filter(level="village", is_poor_village=True).order_by("town", "village", "id")
    by_id = {v.id: v for v in villages}
    by_name = {(v.town, v.village): v.id for v in villages}
    trainees = await Trainee.filter(consent=True)
    home: dict[int, int] = {}
    for t in trainees:
        sid = t.village_station_id if t.village_station_id in by_id else by_name.get((t.town, t.village))
        if sid is not None:
            home[t.id] = sid
    figs = await gather([t for t in trainees if t.id in home])
    names = {t.id: t.name for t in trainees}
    experts: dict[int, list[dict]] = {}
    for tid, f in figs.items():
        total = sum(f.sold_lines().values())
        if total >= threshold:
            experts.setdefault(home[tid], []).append({"trainee_id": tid, "name": names[tid], "gmv_fen": total})
    rows = [VillageRow(station_id=v.id, town=v.town, village=v.village, has_expert=v.id in experts,
                       experts=sorted(experts.get(v.id, []), key=lambda e: -e["gmv_fen"])) for v in villages]
    return VillagesOut(threshold_fen=threshold, villages=rows, lacking=[r for r in rows if not r.has_expert])


# ---- progress against targets -------------------------------------------------------------------
def _row(key: str, label: str, target: int | None, actual: int) -> ProgressRow:
    pct = round(actual * 100 / target, 1) if target else None
    return ProgressRow(key=key, label=label, target=target, actual=actual, percent=pct)


async def progress() -> ProgressOut:
    """Person-times (人次: a trainee signed in to a session at least once) by track and group vs the targets."""
    s = runtime.settings()
    pairs = await SignIn.all().distinct().values_list("session_id", "trainee_id")
    track_of = dict(await TrainingSession.filter(id__in={sid for sid, _ in pairs}).values_list(
        "id", "course__track"))
    people = {t["id"]: t for t in await Trainee.filter(id__in={tid for _, tid in pairs}).values(
        "id", "groups", "is_poor_household")}
    by_track = {k: 0 for k in TRACKS}
    by_group = {k: 0 for k in GROUPS}
    basic_poor = 0
    for sid, tid in pairs:
        track = track_of.get(sid)
        if track is None or tid not in people:
            continue
        by_track[track] = by_track.get(track, 0) + 1
        p = people[tid]
        for g in set(p["groups"] or []):
            if g in by_group:
                by_group[g] += 1
        if track == "basic" and p["is_poor_household"]:
            basic_poor += 1
    targets = s.training_targets
    tracks = [_row(k, TRACK_LABELS.get(k, k), targets.get(k), by_track.get(k, 0)) for k in TRACKS]
    tracks.append(_row("basic_poor_household", "基础普及培训·建档立卡贫困户", s.training_target_basic_poor,
                       basic_poor))
    groups = [_row(k, GROUP_LABELS[k], None, by_group[k]) for k in GROUPS]
    total = _row("total", "合计", sum(targets.get(k, 0) for k in TRACKS) or None, sum(by_track.values()))
    return ProgressOut(total=total, tracks=tracks, groups=groups)


def progress_csv(p: ProgressOut) -> bytes:
    """The progress report as CSV (UTF-8 with BOM so Excel shows the Chinese labels)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "label", "target", "actual", "percent"])
    w.writerow(["total", p.total.key, p.total.label, p.total.target, p.total.actual, p.total.percent])
    for r in p.tracks:
        w.writerow(["track", r.key, r.label, r.target if r.target is not None else "", r.actual,
                    r.percent if r.percent is not None else ""])
    for r in p.groups:
        w.writerow(["group", r.key, r.label, "", r.actual, ""])
    return ("\ufeff" + buf.getvalue()).encode()


# ---- the incremental milestone scan -------------------------------------------------------------
SCAN_MARK = "milestones"
SCAN_OVERLAP = timedelta(minutes=10)


async def affected_trainees(since: datetime, until: datetime) -> set[int]:
    """Trainees whose milestones may have changed between since and until."""
    merchants: set[int] = set()
    users: set[int] = set()
    merchants.update(await Product.filter(published_at__gte=since, published_at__lt=until).values_list(
        "merchant_id", flat=True))
    sold = Order.filter(paid_at__gte=since, paid_at__lt=until, status__in=SOLD_STATUSES)
    merchants.update(await OrderLine.filter(order__paid_at__gte=since, order__paid_at__lt=until,
                                            order__status__in=SOLD_STATUSES).values_list("merchant_id", flat=True))
    users.update(u for u in await sold.filter(livestreamer_id__isnull=False).values_list(
        "livestreamer_id", flat=True) if u)
    LiveSession, Profile = _live_models()
    if LiveSession is not None:
        users.update(await LiveSession.filter(started_at__gte=since, started_at__lt=until).values_list(
            "livestreamer_id", flat=True))
    out: set[int] = set()
    out.update(await SignIn.filter(created_at__gte=since, created_at__lt=until).values_list("trainee_id", flat=True))
    out.update(await Incubation.filter(created_at__gte=since, created_at__lt=until).values_list(
        "trainee_id", flat=True))
    if merchants:
        out.update(await Incubation.filter(kind="merchant", merchant_id__in=merchants).values_list(
            "trainee_id", flat=True))
        member_users = await RoleGrant.filter(role="merchant", merchant_id__in=merchants).values_list(
            "user_id", flat=True)
        users.update(member_users)
    if users:
        out.update(await Trainee.filter(user_id__in=users).values_list("id", flat=True))
        if Profile is not None:
            out.update(t for t in await Profile.filter(user_id__in=users).values_list("trainee_id", flat=True) if t)
    return out


async def scan_milestones() -> dict:
    """Record milestones for every trainee touched since the last scan (safe to run twice or concurrently)."""
    started = clock.now()
    mark = await TrainingScanMark.get_or_none(name=SCAN_MARK)
    # A mark ahead of the clock (set while the clock ran ahead, since set back) hides nothing that
    # happens now: the scan still covers the overlap before this run.
    since = (min(mark.scanned_to, started) - SCAN_OVERLAP) if mark else datetime(2000, 1, 1, tzinfo=clock.UTC)
    ids = await affected_trainees(since, started + timedelta(seconds=1))
    full = set()
    if ids:
        counts: dict[int, int] = {}
        for tid in await Milestone.filter(trainee_id__in=list(ids)).values_list("trainee_id", flat=True):
            counts[tid] = counts.get(tid, 0) + 1
        full = {tid for tid, n in counts.items() if n >= len(MILESTONES)}
    new = await record_milestones_many(sorted(ids - full))
    # The mark only moves forward; a concurrent older run cannot pull it back.
    if mark is None:
        try:
            async with atomic() as conn:
                await TrainingScanMark.create(name=SCAN_MARK, scanned_to=started, using_db=conn)
        except IntegrityError:
            pass
    await TrainingScanMark.filter(name=SCAN_MARK, scanned_to__lt=started).update(scanned_to=started)
    return {"from": since.isoformat(), "to": started.isoformat(), "trainees": len(ids - full),
            "new_milestones": new}

