"""After-sales (售后, issue #25) in the mini-program: the buyer applies (with photos), follows, ships a
return, escalates or withdraws; the merchant answers and confirms a courier return; station staff
receive a return over the counter. Every handler checks the caller's scope in the service."""
from sanic import Blueprint, Request

from server.aftersales import service as aftersales
from server.aftersales.schemas import (ApplyIn, CaseList, CaseOut, CaseQuery, DecisionIn, PhotoOut, PolicyIn,
                                       PolicyOut, ReasonIn, ShipReturnIn, StationReceiveIn)
from server.kit.auth import Role
from server.kit.http import endpoint
from server.media import read_upload

bp = Blueprint("mp_aftersales", url_prefix="/api/v1")
TAGS = ("after-sales",)
MERCHANT_TAGS = ("merchant: after-sales",)
MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@bp.post("/aftersales/photos")
@endpoint(summary="Upload a photo for an after-sales case (JPEG/PNG/WebP, checked by content)", auth="user",
          response=PhotoOut, status=201, tags=TAGS, request_content=MULTIPART, errors=(413, 422))
async def upload_photo(request: Request, principal):
    data, filename = read_upload(request, "file")
    return await aftersales.store_photo(data, filename)


@bp.post("/aftersales")
@endpoint(summary="Apply for after-sales on lines of my order (仅退款 / 退货退款 / 换货)", auth="user", body=ApplyIn,
          response=CaseOut, status=201, tags=TAGS, errors=(404, 409, 422),
          description="kind: refund_only | return_refund | replacement; reason: damaged | spoiled | short | "
                      "wrong_item | not_as_described | not_received | changed_mind; up to 9 photos uploaded first.")
async def apply(request: Request, principal, body: ApplyIn):
    return await aftersales.apply(principal.user_id, body)


@bp.get("/aftersales")
@endpoint(summary="My after-sales cases, newest first", auth="user", response=CaseList, tags=TAGS)
async def my_cases(request: Request, principal):
    return await aftersales.buyer_cases(principal.user_id)


@bp.get("/aftersales/<case_id:int>")
@endpoint(summary="One of my after-sales cases with its timeline", auth="user", response=CaseOut, tags=TAGS,
          errors=(404,))
async def my_case(request: Request, principal, case_id: int):
    return await aftersales.buyer_case(principal.user_id, case_id)


@bp.post("/aftersales/<case_id:int>/return")
@endpoint(summary="I sent the goods back by courier (tracking number)", auth="user", body=ShipReturnIn,
          response=CaseOut, tags=TAGS, errors=(404, 409, 422))
async def ship_return(request: Request, principal, case_id: int, body: ShipReturnIn):
    return await aftersales.ship_return(principal.user_id, case_id, body.company, body.tracking_no)


@bp.post("/aftersales/<case_id:int>/escalate")
@endpoint(summary="Ask the county office to decide a refused case (平台介入)", auth="user", body=ReasonIn,
          response=CaseOut, tags=TAGS, errors=(404, 409, 422))
async def escalate(request: Request, principal, case_id: int, body: ReasonIn):
    return await aftersales.escalate(principal.user_id, case_id, body.reason)


@bp.post("/aftersales/<case_id:int>/cancel")
@endpoint(summary="Withdraw my case (before it became a refund)", auth="user", response=CaseOut, tags=TAGS,
          errors=(404, 409))
async def cancel(request: Request, principal, case_id: int):
    return await aftersales.cancel(principal.user_id, case_id)


# ---- the merchant ----------------------------------------------------------------------------------
@bp.get("/merchant/aftersales")
@endpoint(summary="After-sales cases about my goods", roles=(Role.merchant,), query=CaseQuery, response=CaseList,
          tags=MERCHANT_TAGS)
async def merchant_cases(request: Request, principal, query: CaseQuery):
    return CaseList(items=await aftersales.merchant_cases(principal.merchant_ids, query.status))


@bp.get("/merchant/aftersales/<case_id:int>")
@endpoint(summary="One case about my goods", roles=(Role.merchant,), response=CaseOut, tags=MERCHANT_TAGS,
          errors=(404,))
async def merchant_case(request: Request, principal, case_id: int):
    return await aftersales.merchant_case(principal.merchant_ids, case_id)


@bp.post("/merchant/aftersales/<case_id:int>/answer")
@endpoint(summary="Approve or refuse a case (a refusal needs a reason)", roles=(Role.merchant,), body=DecisionIn,
          response=CaseOut, tags=MERCHANT_TAGS, errors=(404, 409, 422))
async def merchant_answer(request: Request, principal, case_id: int, body: DecisionIn):
    return await aftersales.merchant_answer(principal.merchant_ids, case_id, approve=body.approve,
                                            reason=body.reason, actor_id=principal.user_id)


@bp.post("/merchant/aftersales/<case_id:int>/received")
@endpoint(summary="The courier return arrived: refund (or replace) now", roles=(Role.merchant,), response=CaseOut,
          tags=MERCHANT_TAGS, errors=(404, 409))
async def merchant_received(request: Request, principal, case_id: int):
    return await aftersales.merchant_receive(principal.merchant_ids, case_id, actor_id=principal.user_id)


@bp.get("/merchants/<merchant_id:int>/aftersales-policy")
@endpoint(summary="What my shop offers: replacement, changed-mind returns", roles=(Role.merchant,),
          response=PolicyOut, tags=MERCHANT_TAGS, errors=(404,))
async def get_policy(request: Request, principal, merchant_id: int):
    return await aftersales.policy_out(principal.merchant_ids, merchant_id)


@bp.put("/merchants/<merchant_id:int>/aftersales-policy")
@endpoint(summary="Set what my shop offers: replacement, changed-mind returns", roles=(Role.merchant,),
          body=PolicyIn, response=PolicyOut, tags=MERCHANT_TAGS, errors=(404, 422))
async def set_policy(request: Request, principal, merchant_id: int, body: PolicyIn):
    await aftersales.set_policy(principal.merchant_ids, merchant_id, offers_replacement=body.offers_replacement,
                                accepts_changed_mind=body.accepts_changed_mind, actor_id=principal.user_id)
    return await aftersales.policy_out(principal.merchant_ids, merchant_id)


# ---- the station ----------------------------------------------------------------------------------
@bp.get("/station/aftersales-returns")
@endpoint(summary="Approved returns my stations may receive", roles=(Role.station_staff,), response=CaseList,
          tags=("station",))
async def station_returns(request: Request, principal):
    return CaseList(items=await aftersales.station_returns(principal.station_ids))


@bp.post("/station/aftersales/<case_id:int>/receive")
@endpoint(summary="Receive a buyer's return at my station (it goes up the return path)",
          roles=(Role.station_staff,), body=StationReceiveIn, response=CaseOut, tags=("station",),
          errors=(404, 409, 422))
async def station_receive(request: Request, principal, case_id: int, body: StationReceiveIn):
    return await aftersales.station_receive(principal.station_ids, case_id, body.station_id,
                                            actor_id=principal.user_id)
