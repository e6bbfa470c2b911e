"""County e-commerce office (admins): courses, lecturers, sessions and their archive, trainees,
enrolment, manual sign-in, incubation, outcomes and progress against the county's targets."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.auth import Role
from server.kit.errors import ValidationFailed
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.training import archive, outcomes
from server.training import service as training
from server.training.schemas import (
    ArchiveQuery,
    ArchiveRow,
    CohortQuery,
    CohortRow,
    CourseIn,
    CourseOut,
    CoursePatch,
    CourseQuery,
    EnrolIn,
    EnrolmentOut,
    IncubationIn,
    IncubationOut,
    LecturerIn,
    LecturerOut,
    LecturerPatch,
    ManualSignInIn,
    MilestoneOut,
    OutcomeOut,
    ProgressOut,
    SessionFileOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    SessionQuery,
    SignInOut,
    SignInQrOut,
    SignInSheetOut,
    TraineeDetailOut,
    TraineeIn,
    TraineeOfficeIn,
    TraineeOut,
    TraineeQuery,
    VillagesOut,
)
from server.media import read_upload

bp = Blueprint("console_training", url_prefix="/api/v1/console/training")
ADMIN = (Role.admin,)
TAGS = ("console: training",)
CSV = {"text/csv": {"schema": {"type": "string"}}}
PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
MULTIPART = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["kind", "file"],
    "properties": {"kind": {"type": "string", "enum": list(training.FILE_RULES)},
                   "file": {"type": "string", "format": "binary"}}}}}


# ---- courses ------------------------------------------------------------------------------------
@bp.post("/courses")
@endpoint(summary="Create a course in a track", roles=ADMIN, body=CourseIn, response=CourseOut, status=201,
          tags=TAGS)
async def create_course(request: Request, principal, body: CourseIn):
    return await training.create_course(body, actor_id=principal.user_id)


@bp.get("/courses")
@endpoint(summary="Courses (optionally of one track)", roles=ADMIN, query=CourseQuery,
          response=list[CourseOut], tags=TAGS)
async def list_courses(request: Request, principal, query: CourseQuery):
    return [c.model_dump(mode="json") for c in await training.list_courses(query.track)]


@bp.patch("/courses/<course_id:int>")
@endpoint(summary="Rename, describe, retire or restore a course", roles=ADMIN, body=CoursePatch,
          response=CourseOut, tags=TAGS, errors=(404,))
async def update_course(request: Request, principal, course_id: int, body: CoursePatch):
    return await training.update_course(course_id, body, actor_id=principal.user_id)


# ---- lecturers ----------------------------------------------------------------------------------
@bp.post("/lecturers")
@endpoint(summary="Record a lecturer with a qualification (certificate or real shop results)", roles=ADMIN,
          body=LecturerIn, response=LecturerOut, status=201, tags=TAGS, errors=(409,))
async def create_lecturer(request: Request, principal, body: LecturerIn):
    return await training.create_lecturer(body, actor_id=principal.user_id)


@bp.patch("/lecturers/<lecturer_id:int>")
@endpoint(summary="Rename, describe, retire or restore a lecturer", roles=ADMIN, body=LecturerPatch,
          response=LecturerOut, tags=TAGS, errors=(404, 409))
async def update_lecturer(request: Request, principal, lecturer_id: int, body: LecturerPatch):
    return await training.update_lecturer(lecturer_id, body, actor_id=principal.user_id)


@bp.get("/lecturers")
@endpoint(summary="Lecturers", roles=ADMIN, response=list[LecturerOut], tags=TAGS)
async def list_lecturers(request: Request, principal):
    return [x.model_dump(mode="json") for x in await training.list_lecturers()]


# ---- sessions -----------------------------------------------------------------------------------
@bp.post("/sessions")
@endpoint(summary="Schedule a training session (班次)", roles=ADMIN, body=SessionIn, response=SessionOut,
          status=201, tags=TAGS)
async def create_session(request: Request, principal, body: SessionIn):
    return await training.create_session(body, actor_id=principal.user_id)


@bp.get("/sessions")
@endpoint(summary="Sessions, newest first (keyset pages)", roles=ADMIN, query=SessionQuery,
          response=Page[SessionOut], tags=TAGS)
async def list_sessions(request: Request, principal, query: SessionQuery):
    return await training.list_sessions(query)


@bp.get("/sessions/<session_id:int>")
@endpoint(summary="A session with its lecturers and archive files", roles=ADMIN, response=SessionOut,
          tags=TAGS, errors=(404,))
async def get_session(request: Request, principal, session_id: int):
    return await training.get_session(session_id)


@bp.patch("/sessions/<session_id:int>")
@endpoint(summary="Change a session's dates, venue, capacity or lecturers", roles=ADMIN, body=SessionPatch,
          response=SessionOut, tags=TAGS, errors=(404, 409))
async def update_session(request: Request, principal, session_id: int, body: SessionPatch):
    return await training.update_session(session_id, body, actor_id=principal.user_id)


@bp.post("/sessions/<session_id:int>/cancel")
@endpoint(summary="Cancel a session nobody has signed in to", roles=ADMIN, response=SessionOut, tags=TAGS,
          errors=(404, 409))
async def cancel_session(request: Request, principal, session_id: int):
    return await training.cancel_session(session_id, actor_id=principal.user_id)


@bp.post("/sessions/<session_id:int>/files")
@endpoint(summary="Upload an archive file (plan, notice, syllabus, material, slides, photo, video)",
          roles=ADMIN, response=SessionFileOut, status=201, tags=TAGS, errors=(404, 413),
          request_content=MULTIPART)
async def add_file(request: Request, principal, session_id: int):
    kind = (request.form.get("kind") if request.form else None) or ""
    if not kind:
        raise ValidationFailed.field("kind", "a form field kind is required")
    data, filename = read_upload(request, "file")
    return await training.add_file(session_id, kind, data, filename, actor_id=principal.user_id)


@bp.delete("/sessions/<session_id:int>/files/<file_id:int>")
@endpoint(summary="Remove an archive file", roles=ADMIN, status=204, tags=TAGS, errors=(404,))
async def remove_file(request: Request, principal, session_id: int, file_id: int):
    await training.remove_file(session_id, file_id, actor_id=principal.user_id)


@bp.get("/sessions/<session_id:int>/archive.zip")
@endpoint(summary="The session's archive: CSV sign-in sheet plus its files, zipped", roles=ADMIN,
          tags=TAGS, errors=(404,), response_content=ZIP, session_ok=True)
async def archive_zip(request: Request, principal, session_id: int):
    tmp, size, name = await archive.export_zip(session_id)
    try:
        response = await request.respond(
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size)})
        while True:
            chunk = tmp.read(256 * 1024)
            if not chunk:
                break
            await response.send(chunk)
        await response.eof()
    finally:
        tmp.close()
    return response


@bp.get("/archive/completeness")
@endpoint(summary="What each session's archive still lacks", roles=ADMIN, query=ArchiveQuery,
          response=list[ArchiveRow], tags=TAGS)
async def archive_completeness(request: Request, principal, query: ArchiveQuery):
    return [r.model_dump(mode="json") for r in await archive.completeness(incomplete_only=query.incomplete_only)]


# ---- enrolment and sign-in ----------------------------------------------------------------------
@bp.post("/sessions/<session_id:int>/enrolments")
@endpoint(summary="Enrol a trainee", roles=ADMIN, body=EnrolIn, response=EnrolmentOut, status=201, tags=TAGS,
          errors=(404, 409))
async def enrol(request: Request, principal, session_id: int, body: EnrolIn):
    return await training.enrol(session_id, body.trainee_id, actor_id=principal.user_id, self_service=False)


@bp.delete("/sessions/<session_id:int>/enrolments/<trainee_id:int>")
@endpoint(summary="Withdraw an enrolment without sign-ins", roles=ADMIN, status=204, tags=TAGS,
          errors=(404, 409))
async def unenrol(request: Request, principal, session_id: int, trainee_id: int):
    await training.unenrol(session_id, trainee_id, actor_id=principal.user_id)


@bp.get("/sessions/<session_id:int>/signin-qr")
@endpoint(summary="Today's rotating sign-in QR payload (refresh at refresh_after)", roles=ADMIN,
          response=SignInQrOut, tags=TAGS, errors=(404, 409))
async def signin_qr(request: Request, principal, session_id: int):
    return await training.signin_qr(session_id)


@bp.get("/sessions/<session_id:int>/signin-qr.png")
@endpoint(summary="Today's sign-in QR as a PNG (show it on the classroom screen; refresh at X-Refresh-After)",
          roles=ADMIN, tags=TAGS, errors=(404, 409), response_content=PNG)
async def signin_qr_png(request: Request, principal, session_id: int):
    return qr_png_response(*await training.signin_qr_png(session_id))


def qr_png_response(png: bytes, current) -> HTTPResponse:
    return HTTPResponse(png, content_type="image/png", headers={
        "Cache-Control": "no-store", "X-Refresh-After": current.refresh_after.isoformat(),
        "X-Valid-Until": current.valid_until.isoformat()})


@bp.post("/sessions/<session_id:int>/signins")
@endpoint(summary="Sign a trainee in by hand, with a reason (audited)", roles=ADMIN, body=ManualSignInIn,
          response=SignInOut, status=201, tags=TAGS, errors=(403, 404, 409))
async def manual_signin(request: Request, principal, session_id: int, body: ManualSignInIn):
    return await training.manual_signin(session_id, body, actor_id=principal.user_id)


@bp.get("/sessions/<session_id:int>/signins")
@endpoint(summary="The session's sign-in sheet (签到表)", roles=ADMIN, response=SignInSheetOut, tags=TAGS,
          errors=(404,))
async def signin_sheet(request: Request, principal, session_id: int):
    return await training.signin_sheet(session_id)


# ---- trainees and incubation --------------------------------------------------------------------
@bp.post("/trainees")
@endpoint(summary="Record a trainee", roles=ADMIN, body=TraineeIn, response=TraineeOut, status=201, tags=TAGS,
          errors=(409,))
async def create_trainee(request: Request, principal, body: TraineeIn):
    return await training.create_trainee(body, actor_id=principal.user_id)


@bp.get("/trainees")
@endpoint(summary="Trainees (search by name, phone or village; filter by group)", roles=ADMIN,
          query=TraineeQuery, response=Page[TraineeOut], tags=TAGS)
async def list_trainees(request: Request, principal, query: TraineeQuery):
    return await training.list_trainees(query)


@bp.get("/trainees/<trainee_id:int>")
@endpoint(summary="A trainee with their trainings and person-times", roles=ADMIN, response=TraineeDetailOut,
          tags=TAGS, errors=(404,))
async def trainee_detail(request: Request, principal, trainee_id: int):
    return await training.trainee_detail(trainee_id)


@bp.put("/trainees/<trainee_id:int>")
@endpoint(summary="Correct a trainee's profile (and record the poor-household registration)", roles=ADMIN,
          body=TraineeOfficeIn, response=TraineeOut,
          tags=TAGS, errors=(404,))
async def update_trainee(request: Request, principal, trainee_id: int, body: TraineeOfficeIn):
    return await training.update_trainee(trainee_id, body, actor_id=principal.user_id)


@bp.post("/trainees/<trainee_id:int>/incubations")
@endpoint(summary="Link a trainee to what they became (merchant member, livestreamer, station staff)",
          roles=ADMIN, body=IncubationIn, response=IncubationOut, status=201, tags=TAGS, errors=(404, 409))
async def add_incubation(request: Request, principal, trainee_id: int, body: IncubationIn):
    return await training.add_incubation(trainee_id, body, actor_id=principal.user_id)


@bp.get("/trainees/<trainee_id:int>/incubations")
@endpoint(summary="A trainee's incubation links", roles=ADMIN, response=list[IncubationOut], tags=TAGS,
          errors=(404,))
async def list_incubations(request: Request, principal, trainee_id: int):
    return [i.model_dump(mode="json") for i in await training.list_incubations(trainee_id)]


@bp.get("/trainees/<trainee_id:int>/outcomes")
@endpoint(summary="A trainee's outcomes since their first training (computed)", roles=ADMIN,
          response=OutcomeOut, tags=TAGS, errors=(404,))
async def trainee_outcomes(request: Request, principal, trainee_id: int):
    return await outcomes.trainee_outcomes(trainee_id)


@bp.post("/trainees/<trainee_id:int>/milestones/recompute")
@endpoint(summary="Recompute a trainee's milestones now", roles=ADMIN, response=list[MilestoneOut], tags=TAGS,
          errors=(404,))
async def recompute(request: Request, principal, trainee_id: int):
    return [m.model_dump(mode="json") for m in await outcomes.record_milestones(trainee_id)]


# ---- outcomes and progress ----------------------------------------------------------------------
@bp.get("/outcomes/cohorts")
@endpoint(summary="Per course, session, track or group: share of trainees who went on to sell, and GMV",
          roles=ADMIN, query=CohortQuery, response=list[CohortRow], tags=TAGS)
async def cohort_outcomes(request: Request, principal, query: CohortQuery):
    return [r.model_dump(mode="json") for r in await outcomes.cohorts(query.by)]


@bp.get("/outcomes/poor-villages")
@endpoint(summary="Registered poor villages with and without an e-commerce expert (电商能手)", roles=ADMIN,
          response=VillagesOut, tags=TAGS)
async def poor_villages(request: Request, principal):
    return await outcomes.poor_villages()


@bp.get("/progress")
@endpoint(summary="Person-times by track and group against the county's targets", roles=ADMIN,
          response=ProgressOut, tags=TAGS)
async def progress(request: Request, principal):
    return await outcomes.progress()


@bp.get("/progress.csv")
@endpoint(summary="Progress against targets as CSV", roles=ADMIN, tags=TAGS, response_content=CSV,
          session_ok=True)
async def progress_csv(request: Request, principal):
    body = outcomes.progress_csv(await outcomes.progress())
    return HTTPResponse(body, content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="training-progress.csv"'})
