"""Training (培训): courses, lecturers, sessions (班次) and their archive files, trainees (学员),
enrolment and sign-in (签到). Person-times (人次) are counted from sign-ins, never enrolments."""
from __future__ import annotations

import asyncio
import io
import logging
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count

from server.kit import audit, clock, pools, versions
from server.kit import redis as kr
from server.kit.auth import Principal
from server.kit.db import atomic, lock_rows
from server.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.kit.schemas import decode_cursor, encode_cursor
from server.kit.versions import VersionedOut
from server.media import media_url
from server.models.accounts import User
from server.models.merchants import Merchant
from server.models.orders import OrderLine
from server.models.stations import Station
from server.models.training import (
    Course,
    Enrolment,
    Incubation,
    Lecturer,
    SessionFile,
    SessionLecturer,
    SignIn,
    Trainee,
    TrainingSession,
)
from server.training import qr
from server.training.schemas import (
    MAX_SESSION_DAYS,
    CourseIn,
    CourseOut,
    CoursePatch,
    EnrolmentOut,
    IncubationIn,
    IncubationOut,
    LecturerBrief,
    LecturerIn,
    LecturerOut,
    LecturerPatch,
    ManualSignInIn,
    SessionFileOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    SessionQuery,
    SignInOut,
    SignInQrOut,
    SignInSheetOut,
    SignInSheetRow,
    TraineeDetailOut,
    TraineeFields,
    TraineeIn,
    TraineeOfficeIn,
    TraineeOut,
    TraineeQuery,
    TrainingRecord,
)
from server.training.errors import TrainingCode
from server.media import store_upload
from server.media import get_storage

log = logging.getLogger("kazuo.training")

# Order statuses that count as a sale (paid and not fully refunded).
SOLD_STATUSES = ("paid", "in_fulfilment", "ready_for_pickup", "out_for_delivery", "delivered", "completed")
SIGNIN_RATE_PER_MINUTE = 20


# ---- courses ------------------------------------------------------------------------------------
async def create_course(body: CourseIn, *, actor_id: int) -> CourseOut:
    """Create a course in a track."""
    async with atomic() as conn:
        c = await Course.create(track=body.track, name=body.name, description=body.description, using_db=conn)
        await audit.record(actor_id, "training.course.create", "course", c.id, {"track": c.track}, conn=conn)
    return CourseOut.model_validate(c)


async def _patch(model, object_id: int, body, actor_id: int, kind: str, out: type[VersionedOut] | None = None):
    """Apply a patch's given fields to one row under a lock, audited as training.<kind>.update (out:
    the versioned view of the row, when the patch may carry the version its editor read)."""
    changes = body.model_dump(exclude_none=True, exclude={"version"})
    async with atomic() as conn:
        row = await model.filter(id=object_id).using_db(conn).select_for_update().first()
        if row is None:
            raise NotFound(f"{kind} not found")
        if out is not None:
            versions.check(body.version, out.model_validate(row))
        if changes:
            row.update_from_dict(changes)
            await row.save(using_db=conn, update_fields=list(changes))
            await audit.record(actor_id, f"training.{kind}.update", kind, row.id, changes, conn=conn)
    return row


async def update_course(course_id: int, body: CoursePatch, *, actor_id: int) -> CourseOut:
    """Rename, describe, retire or restore a course."""
    return CourseOut.model_validate(await _patch(Course, course_id, body, actor_id, "course"))


async def list_courses(track: str | None, *, active_only: bool = False) -> list[CourseOut]:
    """Courses, optionally of one track."""
    q = Course.all()
    if track:
        q = q.filter(track=track)
    if active_only:
        q = q.filter(is_active=True)
    return [CourseOut.model_validate(c) for c in await q.order_by("track", "id")]


# ---- lecturers ----------------------------------------------------------------------------------
async def merchant_has_sales(merchant_id: int, conn=None) -> bool:
    """Real shop results: at least one paid, not fully refunded order line of the merchant."""
    return await (OrderLine.filter(merchant_id=merchant_id, order__status__in=SOLD_STATUSES)
                  .using_db(conn).exists())


async def create_lecturer(body: LecturerIn, *, actor_id: int) -> LecturerOut:
    """Record a lecturer with their qualification (a certificate or real shop results)."""
    if body.qualification_kind == "certification":
        if not body.certificate_name or not body.certificate_no:
            field = "certificate_name" if not body.certificate_name else "certificate_no"
            raise ValidationFailed.field(field, "a certification needs the certificate's name and number")
        if body.merchant_id is not None:
            raise ValidationFailed.field("merchant_id", "only shop_results names a merchant")
    else:
        if body.merchant_id is None:
            raise ValidationFailed.field("merchant_id", "shop results need the merchant whose sales count")
    async with atomic() as conn:
        if not await User.filter(id=body.user_id).using_db(conn).exists():
            raise ValidationFailed.field("user_id", "no such user")
        if body.merchant_id is not None:
            if not await Merchant.filter(id=body.merchant_id).using_db(conn).exists():
                raise ValidationFailed.field("merchant_id", "no such merchant")
            if not await merchant_has_sales(body.merchant_id, conn):
                raise ValidationFailed.field("merchant_id", "this merchant has no sales on record yet")
        if await Lecturer.filter(user_id=body.user_id).using_db(conn).exists():
            raise Conflict("this user is already a lecturer", code=TrainingCode.ALREADY_LECTURER)
        try:
            async with atomic() as inner:
                lec = await Lecturer.create(**body.model_dump(), using_db=inner)
        except IntegrityError:
            raise Conflict("this user is already a lecturer", code=TrainingCode.ALREADY_LECTURER) from None
        await audit.record(actor_id, "training.lecturer.create", "lecturer", lec.id,
                           {"user_id": body.user_id, "qualification": body.qualification_kind}, conn=conn)
    return LecturerOut.model_validate(lec)


async def update_lecturer(lecturer_id: int, body: LecturerPatch, *, actor_id: int) -> LecturerOut:
    """Rename, describe, retire or restore a lecturer (the qualification on record does not change);
    with body.version, only if nobody changed the lecturer since it was read."""
    return LecturerOut.model_validate(await _patch(Lecturer, lecturer_id, body, actor_id, "lecturer", LecturerOut))


async def list_lecturers() -> list[LecturerOut]:
    """Every lecturer."""
    return [LecturerOut.model_validate(x) for x in await Lecturer.all().order_by("id")]


async def lecturer_of(principal: Principal) -> Lecturer:
    """The caller's lecturer record (404 when they are none)."""
    lec = await Lecturer.get_or_none(user_id=principal.user_id, is_active=True)
    if lec is None:
        raise NotFound("you are not a lecturer")
    return lec


# ---- sessions -----------------------------------------------------------------------------------
def _check_span(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValidationFailed.field("ends_on", "ends before it starts")
    if (ends_on - starts_on).days + 1 > MAX_SESSION_DAYS:
        raise ValidationFailed.field("ends_on", f"a session lasts at most {MAX_SESSION_DAYS} days")


async def _check_venue(online: bool, station_id: int | None, conn) -> None:
    if station_id is None:
        if not online:
            raise ValidationFailed.field("venue_station_id", "an offline session needs a venue station")
        return
    if not await Station.filter(id=station_id).using_db(conn).exists():
        raise ValidationFailed.field("venue_station_id", "no such station")


async def _check_lecturers(ids: list[int], conn) -> list[int]:
    ids = sorted(set(ids))
    if not ids:
        return ids
    found = await Lecturer.filter(id__in=ids, is_active=True).using_db(conn).values(
        "id", "qualification_kind", "certificate_no", "merchant_id")
    known = {r["id"]: r for r in found}
    for i in ids:
        r = known.get(i)
        if r is None:
            raise ValidationFailed.field("lecturer_ids", f"no such lecturer: {i}")
        # Qualification is re-checked at assignment: a record without one never teaches.
        if not (r["certificate_no"] if r["qualification_kind"] == "certification" else r["merchant_id"]):
            raise ValidationFailed.field("lecturer_ids", f"lecturer {i} has no recorded qualification")
    return ids


async def create_session(body: SessionIn, *, actor_id: int) -> SessionOut:
    """Schedule a training session (班次) of a course."""
    _check_span(body.starts_on, body.ends_on)
    async with atomic() as conn:
        course = await Course.get_or_none(id=body.course_id, using_db=conn)
        if course is None:
            raise ValidationFailed.field("course_id", "no such course")
        if not course.is_active:
            raise ValidationFailed.field("course_id", "the course is retired")
        await _check_venue(body.online, body.venue_station_id, conn)
        lecturer_ids = await _check_lecturers(body.lecturer_ids, conn)
        s = await TrainingSession.create(
            course_id=course.id, title=body.title, starts_on=body.starts_on, ends_on=body.ends_on,
            online=body.online, venue_station_id=body.venue_station_id, venue_detail=body.venue_detail,
            capacity=body.capacity, created_by_id=actor_id, using_db=conn)
        for lid in lecturer_ids:
            await SessionLecturer.create(session_id=s.id, lecturer_id=lid, using_db=conn)
        await audit.record(actor_id, "training.session.create", "training_session", s.id,
                           {"course_id": course.id, "lecturers": lecturer_ids}, conn=conn)
    return (await sessions_out([s.id], with_files=True))[0]


async def update_session(session_id: int, body: SessionPatch, *, actor_id: int) -> SessionOut:
    """Change a session's dates, venue, capacity or lecturers. Days with sign-ins cannot be dropped."""
    changes = body.model_dump(exclude_unset=True)
    lecturer_ids = changes.pop("lecturer_ids", None)
    async with atomic() as conn:
        rows = await lock_rows(TrainingSession, [session_id], conn)
        if not rows:
            raise NotFound("session not found")
        s = rows[0]
        for k in ("title", "starts_on", "ends_on", "online", "venue_detail", "capacity"):
            if k in changes and changes[k] is None:
                raise ValidationFailed.field(k, "may not be null")
        s.update_from_dict(changes)
        _check_span(s.starts_on, s.ends_on)
        await _check_venue(s.online, s.venue_station_id, conn)
        outside = await SignIn.filter(session_id=s.id).using_db(conn).filter(
            day__lt=s.starts_on).exists() or await SignIn.filter(session_id=s.id, day__gt=s.ends_on).using_db(
            conn).exists()
        if outside:
            raise Conflict("trainees already signed in on days outside the new dates",
                           code=TrainingCode.SIGNINS_OUTSIDE)
        if changes:
            await s.save(using_db=conn, update_fields=list(changes))
        if lecturer_ids is not None:
            ids = await _check_lecturers(lecturer_ids, conn)
            await SessionLecturer.filter(session_id=s.id).using_db(conn).exclude(lecturer_id__in=ids).delete()
            have = set(await SessionLecturer.filter(session_id=s.id).using_db(conn).values_list(
                "lecturer_id", flat=True))
            for lid in ids:
                if lid not in have:
                    await SessionLecturer.create(session_id=s.id, lecturer_id=lid, using_db=conn)
            changes["lecturer_ids"] = ids
        await audit.record(actor_id, "training.session.update", "training_session", s.id,
                           {k: str(v) for k, v in changes.items()}, conn=conn)
    return (await sessions_out([s.id], with_files=True))[0]


async def cancel_session(session_id: int, *, actor_id: int) -> SessionOut:
    """Cancel a session that nobody has signed in to."""
    async with atomic() as conn:
        rows = await lock_rows(TrainingSession, [session_id], conn)
        if not rows:
            raise NotFound("session not found")
        if await SignIn.filter(session_id=session_id).using_db(conn).exists():
            raise Conflict("trainees have signed in; the session took place", code=TrainingCode.SESSION_HELD)
        if rows[0].status != "cancelled":
            await TrainingSession.filter(id=session_id).using_db(conn).update(status="cancelled")
            await audit.record(actor_id, "training.session.cancel", "training_session", session_id, conn=conn)
    return (await sessions_out([session_id], with_files=True))[0]


# A session as the lists show it: its course's name and track and its venue's name come in the same
# statement (joins), not in lookups after it.
_SESSION_VALUES = ("id", "course_id", "course__name", "course__track", "title", "starts_on", "ends_on",
                   "online", "venue_station_id", "venue_station__name", "venue_detail", "capacity", "status")


async def sessions_out(ids: list[int], *, with_files: bool = False) -> list[SessionOut]:
    """Sessions with course, venue, lecturers and enrolment counts, in the order of ids."""
    if not ids:
        return []
    rows = {r["id"]: r for r in await TrainingSession.filter(id__in=ids).values(*_SESSION_VALUES)}
    return await _sessions_out([rows[i] for i in ids if i in rows], with_files=with_files)


async def _sessions_out(rows: list[dict], *, with_files: bool = False) -> list[SessionOut]:
    """SessionOut of sessions read with _SESSION_VALUES, in their order."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    reads = [SessionLecturer.filter(session_id__in=ids).order_by("id").values(
                 "session_id", "lecturer_id", "lecturer__name"),
             Enrolment.filter(session_id__in=ids).annotate(n=Count("id")).group_by(
                 "session_id").values_list("session_id", "n")]
    if with_files:
        reads.append(SessionFile.filter(session_id__in=ids).order_by("id"))
    # side by side: each sequential read is one more event-loop turn under load
    lecturer_rows, count_rows, *file_rows = await asyncio.gather(*reads)
    lect: dict[int, list[LecturerBrief]] = {}
    for r in lecturer_rows:
        lect.setdefault(r["session_id"], []).append(LecturerBrief(id=r["lecturer_id"], name=r["lecturer__name"]))
    counts = dict(count_rows)
    files: dict[int, list[SessionFileOut]] = {}
    for f in file_rows[0] if file_rows else []:
        files.setdefault(f.session_id, []).append(_file_out(f))
    return [SessionOut(
        id=s["id"], course_id=s["course_id"], course_name=s["course__name"], track=s["course__track"],
        title=s["title"], starts_on=s["starts_on"], ends_on=s["ends_on"], online=s["online"],
        venue_station_id=s["venue_station_id"], venue_name=s["venue_station__name"] or "",
        venue_detail=s["venue_detail"], capacity=s["capacity"], status=s["status"],
        enrolled=counts.get(s["id"], 0), lecturers=lect.get(s["id"], []), files=files.get(s["id"], []))
        for s in rows]


async def get_session(session_id: int, *, public: bool = False) -> SessionOut:
    """One session (public: only sessions that are not cancelled, without archive files)."""
    q = TrainingSession.filter(id=session_id)
    if public:
        q = q.exclude(status="cancelled")
    rows = await q.values(*_SESSION_VALUES)   # the row itself, not a check that it exists and then the row
    if not rows:
        raise NotFound("session not found")
    return (await _sessions_out(rows, with_files=not public))[0]


async def list_sessions(query: SessionQuery, *, public: bool = False) -> dict:
    """Sessions by start day (newest first), keyset-paged."""
    q = TrainingSession.all()
    if public:
        q = q.filter(status="open", ends_on__gte=clock.local_today())
    if query.course_id:
        q = q.filter(course_id=query.course_id)
    if query.track:
        q = q.filter(course__track=query.track)
    if query.from_day:
        q = q.filter(ends_on__gte=query.from_day)
    cur = decode_cursor(query.cursor, 2)
    if cur:
        if not isinstance(cur[0], str) or not isinstance(cur[1], int):
            raise ValidationFailed.field("cursor", "malformed cursor")
        try:
            d = date.fromisoformat(cur[0])
        except ValueError:
            raise ValidationFailed.field("cursor", "malformed cursor") from None
        q = q.filter(Q(starts_on__lt=d) | Q(starts_on=d, id__lt=cur[1]))
    # The page's sessions with their course and venue in one statement (an ids query, then the rows).
    rows = await q.order_by("-starts_on", "-id").limit(query.limit + 1).values(*_SESSION_VALUES)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    items = await _sessions_out(rows)
    nxt = encode_cursor([rows[-1]["starts_on"].isoformat(), rows[-1]["id"]]) if more else None
    return {"items": [i.model_dump(mode="json") for i in items], "next_cursor": nxt}


async def lecturer_sessions(principal: Principal) -> list[SessionOut]:
    """The caller's own sessions as a lecturer."""
    lec = await lecturer_of(principal)
    ids = await SessionLecturer.filter(lecturer_id=lec.id).order_by("-session_id").values_list(
        "session_id", flat=True)
    return await sessions_out(list(ids))


async def require_own_session(principal: Principal, session_id: int) -> None:
    """A lecturer may run only their own sessions (404 for the others)."""
    lec = await lecturer_of(principal)
    if not await SessionLecturer.filter(lecturer_id=lec.id, session_id=session_id).exists():
        raise NotFound("session not found")


# ---- archive files ------------------------------------------------------------------------------
FILE_RULES = {
    # kind: (accepted content kinds, max bytes)
    "plan": (frozenset({"pdf", "zip-office", "jpeg", "png"}), 20 * 2**20),
    "notice": (frozenset({"pdf", "zip-office", "jpeg", "png"}), 20 * 2**20),
    "syllabus": (frozenset({"pdf", "zip-office", "jpeg", "png"}), 20 * 2**20),
    "material": (frozenset({"pdf", "zip-office", "jpeg", "png"}), 50 * 2**20),
    "slides": (frozenset({"pdf", "zip-office"}), 50 * 2**20),
    "photo": (frozenset({"jpeg", "png", "webp"}), 10 * 2**20),
    "video": (frozenset({"mp4"}), 200 * 2**20),
}


async def add_file(session_id: int, kind: str, data: bytes, filename: str, *, actor_id: int) -> SessionFileOut:
    """Store an archive file (checked by content) and attach it to the session."""
    if kind not in FILE_RULES:
        raise ValidationFailed.field("kind", "one of: " + ", ".join(FILE_RULES))
    if not await TrainingSession.filter(id=session_id).exists():
        raise NotFound("session not found")
    allowed, max_bytes = FILE_RULES[kind]
    stored = await store_upload(data, kind="training", filename=filename, allowed=allowed, max_bytes=max_bytes)
    safe_name = "".join(ch for ch in filename if ch.isprintable() and ch not in "/\\")[:200]
    async with atomic() as conn:
        f = await SessionFile.create(session_id=session_id, kind=kind, media_key=stored.key, url=stored.url,
                                     filename=safe_name, content_type=stored.content_type, size=stored.size,
                                     uploaded_by_id=actor_id, using_db=conn)
        await audit.record(actor_id, "training.file.add", "training_session", session_id,
                           {"file_id": f.id, "kind": kind, "key": stored.key}, conn=conn)
    return _file_out(f)


def _file_out(f: SessionFile) -> SessionFileOut:
    """The file with its URL made now: an archive is private, its URL signed and expiring on OSS."""
    return SessionFileOut.model_validate(f).model_copy(update={"url": media_url(f.media_key)})


async def remove_file(session_id: int, file_id: int, *, actor_id: int) -> None:
    """Detach an archive file (the bytes stay while another record still points at them)."""
    async with atomic() as conn:
        f = await SessionFile.get_or_none(id=file_id, session_id=session_id, using_db=conn)
        if f is None:
            raise NotFound("file not found")
        await f.delete(using_db=conn)
        await audit.record(actor_id, "training.file.remove", "training_session", session_id,
                           {"file_id": file_id, "kind": f.kind, "key": f.media_key}, conn=conn)
    # Content-addressed keys are shared by identical uploads: delete only the last reference.
    if not await SessionFile.filter(media_key=f.media_key).exists():
        try:
            await get_storage().delete(f.media_key)
        except Exception:  # noqa: BLE001 - an orphaned file is harmless; the record is gone
            log.warning("could not delete media %s", f.media_key)


# ---- trainees -----------------------------------------------------------------------------------
def _normalise(body: TraineeFields, *, poor: bool | None = None) -> dict:
    """Profile fields to store; poor is the registration flag when the body does not carry it."""
    data = body.model_dump(exclude={"user_id"})
    flag = data.get("is_poor_household", poor if poor is not None else False)
    # The registered-poor-household flag and the group say the same thing: keep them in step.
    data["is_poor_household"] = bool(flag)
    groups = set(data["groups"]) - {"poor_household"}
    if flag:
        groups.add("poor_household")
    data["groups"] = sorted(groups)
    return data


async def _fill_village(data: dict, conn) -> None:
    sid = data.get("village_station_id")
    if sid is None:
        return
    st = await Station.get_or_none(id=sid, using_db=conn)
    if st is None or st.level != "village":
        raise ValidationFailed.field("village_station_id", "no such village station")
    data["town"] = data.get("town") or st.town
    data["village"] = data.get("village") or st.village


async def create_trainee(body: TraineeIn, *, actor_id: int) -> TraineeOut:
    """The office records a trainee (with or without a WeChat account)."""
    data = _normalise(body)
    async with atomic() as conn:
        await _fill_village(data, conn)
        if body.user_id is not None:
            if not await User.filter(id=body.user_id).using_db(conn).exists():
                raise ValidationFailed.field("user_id", "no such user")
            if await Trainee.filter(user_id=body.user_id).using_db(conn).exists():
                raise Conflict("this user already has a trainee profile", code=TrainingCode.TRAINEE_EXISTS)
        try:
            async with atomic() as inner:
                t = await Trainee.create(**data, user_id=body.user_id, created_by_id=actor_id,
                                         consent_at=clock.now() if data["consent"] else None, using_db=inner)
        except IntegrityError:
            raise Conflict("this user already has a trainee profile",
                           code=TrainingCode.TRAINEE_EXISTS) from None
        await audit.record(actor_id, "training.trainee.create", "trainee", t.id, conn=conn)
    return TraineeOut.model_validate(t)


async def _update_trainee(t: Trainee, body: TraineeFields, actor_id: int, conn) -> Trainee:
    data = _normalise(body, poor=t.is_poor_household)
    await _fill_village(data, conn)
    if data["consent"] and not t.consent:
        data["consent_at"] = clock.now()
    elif not data["consent"]:
        data["consent_at"] = None
    t.update_from_dict(data)
    await t.save(using_db=conn)
    await audit.record(actor_id, "training.trainee.update", "trainee", t.id,
                       {"consent": t.consent}, conn=conn)
    return t


async def update_trainee(trainee_id: int, body: TraineeOfficeIn, *, actor_id: int) -> TraineeOut:
    """The office corrects a trainee's profile."""
    async with atomic() as conn:
        t = await Trainee.filter(id=trainee_id).using_db(conn).select_for_update().first()
        if t is None:
            raise NotFound("trainee not found")
        t = await _update_trainee(t, body, actor_id, conn)
    return TraineeOut.model_validate(t)


async def upsert_own_profile(principal: Principal, body: TraineeFields) -> TraineeOut:
    """A user creates or updates their own trainee profile (and gives or withdraws consent)."""
    async with atomic() as conn:
        t = await Trainee.filter(user_id=principal.user_id).using_db(conn).select_for_update().first()
        if t is not None:
            t = await _update_trainee(t, body, principal.user_id, conn)
            return TraineeOut.model_validate(t)
        user = await User.get(id=principal.user_id, using_db=conn)
        if user.phone and user.phone_verified_at:
            # 线下登记: a profile the office recorded under this (SMS-verified) phone becomes theirs, with
            # its sign-in history, instead of a second record of the same person.
            t = await (Trainee.filter(user_id=None, phone=user.phone).using_db(conn).order_by("id")
                       .select_for_update().first())
            if t is not None:
                t.user_id = principal.user_id
                t = await _update_trainee(t, body, principal.user_id, conn)
                await audit.record(principal.user_id, "training.trainee.claim", "trainee", t.id, conn=conn)
                return TraineeOut.model_validate(t)
        data = _normalise(body)
        await _fill_village(data, conn)
        try:
            async with atomic() as inner:
                t = await Trainee.create(**data, user_id=principal.user_id, created_by_id=principal.user_id,
                                         consent_at=clock.now() if data["consent"] else None, using_db=inner)
        except IntegrityError:
            raise Conflict("your profile was created by another request; retry",
                           code=TrainingCode.TRAINEE_EXISTS) from None
        await audit.record(principal.user_id, "training.trainee.create", "trainee", t.id, conn=conn)
    return TraineeOut.model_validate(t)


async def own_trainee(principal: Principal) -> Trainee:
    """The caller's trainee profile (404 when they have none)."""
    t = await Trainee.get_or_none(user_id=principal.user_id)
    if t is None:
        raise NotFound("no trainee profile; create one first", code=TrainingCode.NO_TRAINEE_PROFILE)
    return t


async def trainings_of(trainee_id: int) -> tuple[list[TrainingRecord], int]:
    """A trainee's sessions with the days they signed in, and their person-times."""
    enrolled = set(await Enrolment.filter(trainee_id=trainee_id).values_list("session_id", flat=True))
    days: dict[int, list[date]] = {}
    for r in await SignIn.filter(trainee_id=trainee_id).order_by("day").values("session_id", "day"):
        days.setdefault(r["session_id"], []).append(r["day"])
    ids = enrolled | set(days)
    sessions = await TrainingSession.filter(id__in=ids).order_by("-starts_on", "-id").values(
        "id", "course_id", "course__track", "title", "starts_on", "ends_on")
    records = [TrainingRecord(session_id=s["id"], course_id=s["course_id"], track=s["course__track"],
                              title=s["title"], starts_on=s["starts_on"], ends_on=s["ends_on"],
                              days_signed=days.get(s["id"], [])) for s in sessions]
    return records, len(days)


async def trainee_detail(trainee_id: int) -> TraineeDetailOut:
    """A trainee's profile, trainings and person-times (office, or the trainee themself)."""
    t = await Trainee.get_or_none(id=trainee_id)
    if t is None:
        raise NotFound("trainee not found")
    records, person_times = await trainings_of(t.id)
    return TraineeDetailOut(**TraineeOut.model_validate(t).model_dump(), trainings=records,
                            person_times=person_times)


async def list_trainees(query: TraineeQuery) -> dict:
    """Trainees (office), newest first, keyset-paged; q matches name, phone or village."""
    q = Trainee.all()
    if query.q:
        q = q.filter(Q(name__icontains=query.q) | Q(phone__startswith=query.q) | Q(village__icontains=query.q))
    cur = decode_cursor(query.cursor, 1)
    if cur:
        if not isinstance(cur[0], int):
            raise ValidationFailed.field("cursor", "malformed cursor")
        q = q.filter(id__lt=cur[0])
    items: list[Trainee] = []
    # The group filter runs in Python (a JSON list): fetch in batches until the page is full.
    while len(items) <= query.limit:
        batch = await q.order_by("-id").limit(200)
        if not batch:
            break
        items.extend(t for t in batch if query.group is None or query.group in (t.groups or []))
        q = q.filter(id__lt=batch[-1].id)
    more = len(items) > query.limit
    items = items[:query.limit]
    return {"items": [TraineeOut.model_validate(t).model_dump(mode="json") for t in items],
            "next_cursor": encode_cursor([items[-1].id]) if more and items else None}


# ---- enrolment ----------------------------------------------------------------------------------
async def enrol(session_id: int, trainee_id: int, *, actor_id: int, self_service: bool) -> EnrolmentOut:
    """Enrol a trainee in a session (capacity checked under the session's row lock)."""
    async with atomic() as conn:
        rows = await lock_rows(TrainingSession, [session_id], conn)
        if not rows or (self_service and rows[0].status == "cancelled"):
            raise NotFound("session not found")
        s = rows[0]
        if s.status == "cancelled":
            raise Conflict("the session is cancelled", code=TrainingCode.SESSION_CANCELLED)
        if self_service and s.ends_on < clock.local_today():
            raise Conflict("the session is over", code=TrainingCode.SESSION_OVER)
        if not await Trainee.filter(id=trainee_id).using_db(conn).exists():
            raise ValidationFailed.field("trainee_id", "no such trainee")
        existing = await Enrolment.get_or_none(session_id=s.id, trainee_id=trainee_id, using_db=conn)
        if existing is not None:
            return EnrolmentOut.model_validate(existing)
        if s.capacity and await Enrolment.filter(session_id=s.id).using_db(conn).count() >= s.capacity:
            raise Conflict("the session is full", code=TrainingCode.SESSION_FULL)
        e = await Enrolment.create(session_id=s.id, trainee_id=trainee_id, using_db=conn)
        await audit.record(actor_id, "training.enrol", "training_session", s.id, {"trainee_id": trainee_id},
                           conn=conn)
    return EnrolmentOut.model_validate(e)


async def unenrol(session_id: int, trainee_id: int, *, actor_id: int) -> None:
    """Withdraw an enrolment that has no sign-ins (attendance is a record, not undone)."""
    async with atomic() as conn:
        e = await Enrolment.get_or_none(session_id=session_id, trainee_id=trainee_id, using_db=conn)
        if e is None:
            raise NotFound("enrolment not found")
        if await SignIn.filter(session_id=session_id, trainee_id=trainee_id).using_db(conn).exists():
            raise Conflict("the trainee has signed in to this session", code=TrainingCode.ALREADY_ATTENDED)
        await e.delete(using_db=conn)
        await audit.record(actor_id, "training.unenrol", "training_session", session_id,
                           {"trainee_id": trainee_id}, conn=conn)


# ---- sign-in ------------------------------------------------------------------------------------
async def signin_qr(session_id: int) -> SignInQrOut:
    """The rotating sign-in payload for today (only on a day of an open session)."""
    s = await TrainingSession.get_or_none(id=session_id)
    if s is None:
        raise NotFound("session not found")
    today = clock.local_today()
    if s.status == "cancelled":
        raise Conflict("the session is cancelled", code=TrainingCode.SESSION_CANCELLED)
    if not (s.starts_on <= today <= s.ends_on):
        raise Conflict(f"today is not a day of this session ({s.starts_on}..{s.ends_on})",
                       code=TrainingCode.NOT_A_SESSION_DAY)
    issued = qr.issue(s.id, today)
    return SignInQrOut(session_id=s.id, day=today, payload=issued.payload, valid_until=issued.valid_until,
                       refresh_after=issued.refresh_after,
                       signed_today=await SignIn.filter(session_id=s.id, day=today).count(),
                       enrolled=await Enrolment.filter(session_id=s.id).count())


def _qr_png(payload: str) -> bytes:
    import qrcode

    img = qrcode.make(payload, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def signin_qr_png(session_id: int) -> tuple[bytes, SignInQrOut]:
    """Today's sign-in payload drawn as a PNG QR code, for the screen in the classroom."""
    current = await signin_qr(session_id)
    return await pools.cpu(_qr_png, current.payload), current


async def _insert_signin(session: TrainingSession, trainee_id: int, day: date, *, method: str,
                         actor_id: int, reason: str = "") -> SignIn:
    if session.status == "cancelled":
        raise Conflict("the session is cancelled", code=TrainingCode.SESSION_CANCELLED)
    if not (session.starts_on <= day <= session.ends_on):
        raise Conflict(f"{day} is not a day of this session ({session.starts_on}..{session.ends_on})",
                       code=TrainingCode.NOT_A_SESSION_DAY)
    if day > clock.local_today():
        raise Conflict("cannot sign in for a day that has not come", code=TrainingCode.NOT_A_SESSION_DAY)
    if not await Enrolment.filter(session_id=session.id, trainee_id=trainee_id).exists():
        raise Forbidden("not enrolled in this session", code=TrainingCode.NOT_ENROLLED)
    try:
        async with atomic() as conn:
            row = await SignIn.create(session_id=session.id, trainee_id=trainee_id, day=day, method=method,
                                      signed_by_id=actor_id, reason=reason, using_db=conn)
            if method == "manual":
                await audit.record(actor_id, "training.signin.manual", "training_session", session.id,
                                   {"trainee_id": trainee_id, "day": day.isoformat(), "reason": reason},
                                   conn=conn)
            # Milestones count from the first training: a first sign-in may start the clock.
            enqueue("training.recompute_trainee", trainee_id, job_id=f"training:recompute:{trainee_id}:{day}")
    except IntegrityError:
        raise Conflict(f"already signed in for {day}", code=TrainingCode.ALREADY_SIGNED_IN) from None
    return row


async def scan_signin(principal: Principal, payload: str) -> SignInOut:
    """A trainee signs in by scanning the session's current QR payload."""
    await kr.hit_limit("training_signin", principal.user_id, SIGNIN_RATE_PER_MINUTE, 60,
                       message="too many sign-in attempts")
    v = qr.verify(payload)
    trainee = await Trainee.get_or_none(user_id=principal.user_id)
    if trainee is None:
        raise Conflict("create your trainee profile before signing in", code=TrainingCode.NO_TRAINEE_PROFILE)
    session = await TrainingSession.get_or_none(id=v.session_id)
    if session is None:  # a genuine signature for a deleted session
        raise NotFound("session not found")
    row = await _insert_signin(session, trainee.id, v.day, method="qr", actor_id=principal.user_id)
    return SignInOut.model_validate(row)


async def manual_signin(session_id: int, body: ManualSignInIn, *, actor_id: int) -> SignInOut:
    """Staff sign a trainee in by hand, with a reason (audited)."""
    session = await TrainingSession.get_or_none(id=session_id)
    if session is None:
        raise NotFound("session not found")
    if not await Trainee.filter(id=body.trainee_id).exists():
        raise ValidationFailed.field("trainee_id", "no such trainee")
    row = await _insert_signin(session, body.trainee_id, body.day or clock.local_today(), method="manual",
                               actor_id=actor_id, reason=body.reason)
    return SignInOut.model_validate(row)


async def signin_sheet(session_id: int) -> SignInSheetOut:
    """The sign-in sheet (签到表) of a session: who signed in on which day, and how."""
    s = await TrainingSession.get_or_none(id=session_id)
    if s is None:
        raise NotFound("session not found")
    rows = await SignIn.filter(session_id=s.id).order_by("day", "id").values(
        "trainee_id", "trainee__name", "trainee__phone", "trainee__town", "trainee__village", "day", "method",
        "reason", "created_at")
    days = [s.starts_on + timedelta(days=i) for i in range((s.ends_on - s.starts_on).days + 1)]
    return SignInSheetOut(
        session_id=s.id, days=days, person_times=len({r["trainee_id"] for r in rows}),
        rows=[SignInSheetRow(trainee_id=r["trainee_id"], name=r["trainee__name"], phone=r["trainee__phone"],
                             town=r["trainee__town"], village=r["trainee__village"], day=r["day"],
                             method=r["method"], reason=r["reason"], signed_at=r["created_at"]) for r in rows])


# ---- incubation ---------------------------------------------------------------------------------
async def add_incubation(trainee_id: int, body: IncubationIn, *, actor_id: int) -> IncubationOut:
    """Record what a trainee became: a merchant member, a livestreamer or station staff."""
    if body.kind == "merchant" and body.merchant_id is None:
        raise ValidationFailed.field("merchant_id", "a merchant incubation names the merchant")
    if body.kind != "merchant" and body.merchant_id is not None:
        raise ValidationFailed.field("merchant_id", "only a merchant incubation names a merchant")
    if body.kind == "station_staff" and body.station_id is None:
        raise ValidationFailed.field("station_id", "a station incubation names the station")
    if body.kind != "station_staff" and body.station_id is not None:
        raise ValidationFailed.field("station_id", "only a station incubation names a station")
    async with atomic() as conn:
        t = await Trainee.get_or_none(id=trainee_id, using_db=conn)
        if t is None:
            raise NotFound("trainee not found")
        if body.kind == "livestreamer" and t.user_id is None:
            raise ValidationFailed.field("kind", "a livestreamer needs a WeChat account on the trainee profile")
        if body.merchant_id is not None and not await Merchant.filter(id=body.merchant_id).using_db(conn).exists():
            raise ValidationFailed.field("merchant_id", "no such merchant")
        if body.station_id is not None and not await Station.filter(id=body.station_id).using_db(conn).exists():
            raise ValidationFailed.field("station_id", "no such station")
        if body.mentor_id is not None and not await Lecturer.filter(id=body.mentor_id).using_db(conn).exists():
            raise ValidationFailed.field("mentor_id", "no such lecturer")
        key = f"{body.kind}:{body.merchant_id or ''}:{body.station_id or ''}"
        inc = await Incubation.get_or_none(trainee_id=t.id, scope_key=key, using_db=conn)
        if inc is None:
            try:
                async with atomic() as inner:
                    inc = await Incubation.create(trainee_id=t.id, kind=body.kind, merchant_id=body.merchant_id,
                                                  station_id=body.station_id, mentor_id=body.mentor_id,
                                                  note=body.note, scope_key=key, created_by_id=actor_id,
                                                  using_db=inner)
            except IntegrityError:
                raise Conflict("this incubation is already recorded",
                               code=TrainingCode.INCUBATION_EXISTS) from None
        else:
            inc.mentor_id, inc.note = body.mentor_id, body.note
            await inc.save(using_db=conn, update_fields=["mentor_id", "note"])
        await audit.record(actor_id, "training.incubation", "trainee", t.id,
                           {"kind": body.kind, "merchant_id": body.merchant_id, "station_id": body.station_id},
                           conn=conn)
        # What the trainee already did through this link shows up as milestones now, not at the next scan.
        enqueue("training.recompute_trainee", t.id, job_id=f"training:recompute:{t.id}:inc{inc.id}")
    return IncubationOut.model_validate(inc)


async def list_incubations(trainee_id: int) -> list[IncubationOut]:
    """A trainee's incubation links."""
    if not await Trainee.filter(id=trainee_id).exists():
        raise NotFound("trainee not found")
    return [IncubationOut.model_validate(i) for i in await Incubation.filter(trainee_id=trainee_id).order_by("id")]
