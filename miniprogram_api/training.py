"""Training in the mini-program: open sessions, the caller's trainee profile, enrolment, QR sign-in,
their trainings and outcomes; lecturers show the sign-in QR of their own sessions."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.http import endpoint
from server.kit.schemas import Page
from server.training import outcomes
from server.training import service as training
from server.training.schemas import (
    EnrolmentOut,
    OutcomeOut,
    SessionOut,
    SessionQuery,
    SignInIn,
    SignInOut,
    SignInQrOut,
    TraineeDetailOut,
    TraineeOut,
    TraineeSelfIn,
)

bp = Blueprint("mp_training", url_prefix="/api/v1/training")
TAGS = ("training",)


@bp.get("/sessions")
@endpoint(summary="Upcoming and running sessions open for enrolment", query=SessionQuery,
          response=Page[SessionOut], tags=TAGS)
async def list_sessions(request: Request, query: SessionQuery):
    return await training.list_sessions(query, public=True)


@bp.get("/sessions/<session_id:int>")
@endpoint(summary="One session", response=SessionOut, tags=TAGS, errors=(404,))
async def get_session(request: Request, session_id: int):
    return await training.get_session(session_id, public=True)


@bp.get("/me")
@endpoint(summary="My trainee profile, trainings and person-times", auth="user", response=TraineeDetailOut,
          tags=TAGS, errors=(404,))
async def me(request: Request, principal):
    t = await training.own_trainee(principal)
    return await training.trainee_detail(t.id)


@bp.put("/me")
@endpoint(summary="Create or update my trainee profile (and give or withdraw consent to tracking)",
          auth="user", body=TraineeSelfIn, response=TraineeOut, tags=TAGS)
async def upsert_me(request: Request, principal, body: TraineeSelfIn):
    return await training.upsert_own_profile(principal, body)


@bp.get("/me/outcomes")
@endpoint(summary="My outcomes since my first training", auth="user", response=OutcomeOut, tags=TAGS,
          errors=(404,))
async def my_outcomes(request: Request, principal):
    t = await training.own_trainee(principal)
    return await outcomes.trainee_outcomes(t.id)


@bp.post("/sessions/<session_id:int>/enrol")
@endpoint(summary="Enrol in a session", auth="user", response=EnrolmentOut, status=201, tags=TAGS,
          errors=(404, 409))
async def enrol(request: Request, principal, session_id: int):
    t = await training.own_trainee(principal)
    return await training.enrol(session_id, t.id, actor_id=principal.user_id, self_service=True)


@bp.delete("/sessions/<session_id:int>/enrol")
@endpoint(summary="Withdraw my enrolment (before I sign in)", auth="user", status=204, tags=TAGS,
          errors=(404, 409))
async def unenrol(request: Request, principal, session_id: int):
    t = await training.own_trainee(principal)
    await training.unenrol(session_id, t.id, actor_id=principal.user_id)


@bp.post("/signin")
@endpoint(summary="Sign in by the scanned QR payload (once per session day)", auth="user", body=SignInIn,
          response=SignInOut, status=201, tags=TAGS, errors=(403, 404, 409, 410, 429))
async def signin(request: Request, principal, body: SignInIn):
    return await training.scan_signin(principal, body.payload)


@bp.get("/lecturer/sessions")
@endpoint(summary="My sessions as a lecturer", auth="user", response=list[SessionOut], tags=TAGS,
          errors=(404,))
async def lecturer_sessions(request: Request, principal):
    return [s.model_dump(mode="json") for s in await training.lecturer_sessions(principal)]


@bp.get("/lecturer/sessions/<session_id:int>/signin-qr")
@endpoint(summary="Today's sign-in QR payload of my own session", auth="user", response=SignInQrOut,
          tags=TAGS, errors=(404, 409))
async def lecturer_qr(request: Request, principal, session_id: int):
    await training.require_own_session(principal, session_id)
    return await training.signin_qr(session_id)


@bp.get("/lecturer/sessions/<session_id:int>/signin-qr.png")
@endpoint(summary="Today's sign-in QR of my own session as a PNG", auth="user", tags=TAGS, errors=(404, 409),
          response_content={"image/png": {"schema": {"type": "string", "format": "binary"}}})
async def lecturer_qr_png(request: Request, principal, session_id: int):
    await training.require_own_session(principal, session_id)
    png, current = await training.signin_qr_png(session_id)
    return HTTPResponse(png, content_type="image/png", headers={
        "Cache-Control": "no-store", "X-Refresh-After": current.refresh_after.isoformat()})
