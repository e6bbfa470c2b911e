"""The county office's complaint queue as JSON (投诉举报): list, read, assign, acknowledge, resolve with an
outcome (carried out through the owning services), and the figures."""
from sanic import Blueprint, Request

from server.complaints import service as complaints
from server.complaints.schemas import (AssignIn, ComplaintOut, ComplaintQuery, ComplaintsPage, FiguresOut,
                                       FiguresQuery, ResolveIn)
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("console_complaints", url_prefix="/api/v1/console/complaints")
ADMIN = (Role.admin,)
TAGS = ("console: complaints",)


@bp.get("")
@endpoint(summary="Complaints and reports, newest first (filters: status, kind, town, breached)", roles=ADMIN,
          query=ComplaintQuery, response=ComplaintsPage, tags=TAGS)
async def list_complaints(request: Request, principal, query: ComplaintQuery):
    return await complaints.office_list(query)


@bp.get("/figures")
@endpoint(summary="Complaints by kind, town and outcome; breaches; mean hours to acknowledge and resolve",
          roles=ADMIN, query=FiguresQuery, response=FiguresOut, tags=TAGS)
async def figures(request: Request, principal, query: FiguresQuery):
    return await complaints.figures(query.days)


@bp.get("/<complaint_id:int>")
@endpoint(summary="One complaint with its reporter, deadlines and answer", roles=ADMIN, response=ComplaintOut,
          tags=TAGS, errors=(404,))
async def get_complaint(request: Request, principal, complaint_id: int):
    return await complaints.office_get(complaint_id)


@bp.post("/<complaint_id:int>/assign")
@endpoint(summary="Assign to an office member", roles=ADMIN, body=AssignIn, response=ComplaintOut, tags=TAGS,
          errors=(404, 409, 422))
async def assign(request: Request, principal, complaint_id: int, body: AssignIn):
    return await complaints.assign(principal.user_id, complaint_id, body)


@bp.post("/<complaint_id:int>/acknowledge")
@endpoint(summary="Acknowledge (受理) within the deadline", roles=ADMIN, response=ComplaintOut, tags=TAGS,
          errors=(404, 409))
async def acknowledge(request: Request, principal, complaint_id: int):
    return await complaints.acknowledge(principal.user_id, complaint_id)


@bp.post("/<complaint_id:int>/resolve")
@endpoint(summary="Resolve (办结) with an outcome whose action takes effect at once (takedown, suspension, "
                  "refund ordered, ...); the reporter is told", roles=ADMIN, body=ResolveIn, response=ComplaintOut,
          tags=TAGS, errors=(404, 409, 422))
async def resolve(request: Request, principal, complaint_id: int, body: ResolveIn):
    return await complaints.resolve(principal.user_id, complaint_id, body)
