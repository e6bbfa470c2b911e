"""After-sales (售后, issue #25) for the county office (escalated cases, final decisions, category
windows) and the warehouse (the un-pick list of refunded units already picked)."""
from sanic import Blueprint, Request

from server.aftersales import service as aftersales
from server.aftersales.schemas import (CaseList, CaseOut, CaseQuery, DecisionIn, UnpickDoneOut, UnpickList, WindowIn,
                                       WindowList)
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("console_aftersales", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: after-sales",)


@bp.get("/aftersales")
@endpoint(summary="After-sales cases (by default the escalated ones, oldest first)", roles=ADMIN, query=CaseQuery,
          response=CaseList, tags=TAGS)
async def cases(request: Request, principal, query: CaseQuery):
    return CaseList(items=await aftersales.office_cases(query.status or "escalated"))


@bp.get("/aftersales/<case_id:int>")
@endpoint(summary="One after-sales case with its timeline", roles=ADMIN, response=CaseOut, tags=TAGS, errors=(404,))
async def case(request: Request, principal, case_id: int):
    return await aftersales.office_case(case_id)


@bp.post("/aftersales/<case_id:int>/decide")
@endpoint(summary="The office's final decision on an escalated case (audited; a reason is required)", roles=ADMIN,
          body=DecisionIn, response=CaseOut, tags=TAGS, errors=(404, 409, 422))
async def decide(request: Request, principal, case_id: int, body: DecisionIn):
    return await aftersales.office_decide(case_id, approve=body.approve, note=body.reason, actor_id=principal.user_id)


@bp.get("/aftersales-windows")
@endpoint(summary="After-sales windows per category (hours after completion)", roles=ADMIN, response=WindowList,
          tags=TAGS)
async def windows(request: Request, principal):
    return await aftersales.window_rows()


@bp.put("/aftersales-windows")
@endpoint(summary="Set a category's after-sales window (hours after completion)", roles=ADMIN, body=WindowIn,
          response=WindowList, tags=TAGS, errors=(422,))
async def set_window(request: Request, principal, body: WindowIn):
    await aftersales.set_window(body.category_id, body.hours, actor_id=principal.user_id)
    return await aftersales.window_rows()


@bp.get("/warehouse/unpicks")
@endpoint(summary="Refunded units already picked, to put back on the shelf", roles=(Role.warehouse, Role.admin),
          response=UnpickList, tags=("console: warehouse",))
async def unpicks(request: Request, principal):
    return await aftersales.unpick_rows()


@bp.post("/warehouse/unpicks/<item_id:int>/done")
@endpoint(summary="These units are back on the shelf (the refund proceeds once all are)",
          roles=(Role.warehouse, Role.admin), response=UnpickDoneOut, tags=("console: warehouse",), errors=(404, 409))
async def unpick_done(request: Request, principal, item_id: int):
    return UnpickDoneOut(item_id=item_id, refund_id=await aftersales.confirm_unpick(item_id, actor_id=principal.user_id))
