"""Traceability for consumers and merchants: the public scan page /t/{code} and its JSON, QR images,
the inbound SMS lookup, and merchants' batches (生产批次), corrections, item codes and label sheets."""
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import html

from server.kit.auth import Role
from server.kit.errors import NotFound, ValidationFailed
from server.kit.http import endpoint, parse_query
from server.kit.schemas import Page
from server.trace import pages, public
from server.trace import service as trace
from server.trace.schemas import (BatchBrief, BatchIn, BatchOut, BatchPatch, BatchQuery, CodeOut, CodesQuery,
                                  CorrectionIn, InspectionIn, ItemCodesIn, ItemCodesOut, LabelsQuery, ScanHint,
                                  SmsInboundAck, StepIn, TraceView)

bp = Blueprint("mp_trace")
TAGS = ("trace",)
MTAGS = ("merchant: trace",)
MANAGERS = (Role.merchant, Role.station_staff)
HTML = {"text/html": {"schema": {"type": "string"}}}
PNG = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
SVG = {"image/svg+xml": {"schema": {"type": "string"}}}
SMS_PUSH = {"application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
    "phone_number": {"type": "string"}, "content": {"type": "string"}, "send_time": {"type": "string"},
    "sign_name": {"type": "string"}, "dest_code": {"type": "string"}, "sequence_id": {"type": "integer"}}}}}}


# ---- public -------------------------------------------------------------------------------------
@bp.get("/t/<code:path>")
@endpoint(summary="The trace page a QR code opens (Chinese, server-rendered; counts the scan). Optional "
                  "?city= / ?lat=&lng= hints; malformed hints are ignored, the page still shows",
          response_content=HTML, tags=TAGS, errors=(404,))
async def trace_page(request: Request, code: str):
    try:
        hint = parse_query(request, ScanHint)
    except ValidationFailed:
        hint = None  # a person scanning a label never sees an API error for a bad hint
    try:
        view = await public.lookup(code, channel="web", hint=hint, ip=public.client_ip(request))
    except NotFound:
        return html(pages.not_found(code), status=404, headers=pages.HEADERS)
    return html(pages.render(view), headers=pages.HEADERS)


@bp.get("/api/v1/trace/<code:str>")
@endpoint(summary="A trace code's product, origin, process, inspections, certifications and where it was "
                  "sold (never the buyer); counts the scan with the coarse place the mini-program sends",
          query=ScanHint, response=TraceView, tags=TAGS, errors=(404, 422))
async def trace_json(request: Request, code: str, query: ScanHint):
    return await public.lookup(code, channel="api", hint=query, ip=public.client_ip(request))


@bp.get("/api/v1/trace/<code:str>/qr.png")
@endpoint(summary="The QR image (PNG) of a trace code: its short URL", response_content=PNG, tags=TAGS,
          errors=(404,))
async def qr_png(request: Request, code: str):
    return HTTPResponse(await trace.code_image(code, "png"), content_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/api/v1/trace/<code:str>/qr.svg")
@endpoint(summary="The QR image (SVG) of a trace code: its short URL", response_content=SVG, tags=TAGS,
          errors=(404,))
async def qr_svg(request: Request, code: str):
    return HTTPResponse(await trace.code_image(code, "svg"), content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@bp.post("/api/v1/trace/sms/inbound")
@endpoint(summary="Inbound SMS push (Aliyun SmsUp, HTTP batch mode): a consumer texted a trace code; "
                  "answered by SMS. Signed with X-Kazuo-Signature when a key is configured",
          request_content=SMS_PUSH, response=SmsInboundAck, tags=TAGS, errors=(401, 422))
async def sms_inbound(request: Request):
    public.check_sms_signature(request.body or b"", request.headers.get("x-kazuo-signature"))
    await public.sms_inbound(public.parse_sms_push(request.body or b""))
    return SmsInboundAck()


# ---- merchants ----------------------------------------------------------------------------------
@bp.post("/api/v1/merchant/merchants/<merchant_id:int>/batches")
@endpoint(summary="Record a production batch (its batch trace code is issued at once)", roles=MANAGERS,
          body=BatchIn, response=BatchOut, status=201, tags=MTAGS, errors=(404, 409, 422))
async def create_batch(request: Request, principal, merchant_id: int, body: BatchIn):
    return await trace.create_batch(principal, merchant_id, body)


@bp.get("/api/v1/merchant/merchants/<merchant_id:int>/batches")
@endpoint(summary="A merchant's batches, newest first", roles=MANAGERS, query=BatchQuery,
          response=Page[BatchBrief], tags=MTAGS, errors=(404, 422))
async def list_batches(request: Request, principal, merchant_id: int, query: BatchQuery):
    return await trace.list_batches(principal, query, merchant_id)


@bp.get("/api/v1/merchant/batches/<batch_id:int>")
@endpoint(summary="One batch with steps, inspections and corrections", roles=MANAGERS, response=BatchOut,
          tags=MTAGS, errors=(404,))
async def get_batch(request: Request, principal, batch_id: int):
    return await trace.get_batch(principal, batch_id)


@bp.patch("/api/v1/merchant/batches/<batch_id:int>")
@endpoint(summary="Edit an open batch (409 batch_locked once goods from it were sold)", roles=MANAGERS,
          body=BatchPatch, response=BatchOut, tags=MTAGS, errors=(404, 409, 422))
async def update_batch(request: Request, principal, batch_id: int, body: BatchPatch):
    return await trace.update_batch(principal, batch_id, body)


@bp.post("/api/v1/merchant/batches/<batch_id:int>/steps")
@endpoint(summary="Add a process step to an open batch", roles=MANAGERS, body=StepIn, response=BatchOut,
          status=201, tags=MTAGS, errors=(404, 409, 422))
async def add_step(request: Request, principal, batch_id: int, body: StepIn):
    return await trace.add_step(principal, batch_id, body)


@bp.post("/api/v1/merchant/batches/<batch_id:int>/inspections")
@endpoint(summary="Add an inspection report to an open batch", roles=MANAGERS, body=InspectionIn,
          response=BatchOut, status=201, tags=MTAGS, errors=(404, 409, 422))
async def add_inspection(request: Request, principal, batch_id: int, body: InspectionIn):
    return await trace.add_inspection(principal, batch_id, body)


@bp.post("/api/v1/merchant/batches/<batch_id:int>/corrections")
@endpoint(summary="Append a correction (who, why, old and new value) — the way to change a locked batch",
          roles=MANAGERS, body=CorrectionIn, response=BatchOut, status=201, tags=MTAGS, errors=(404, 422))
async def correct(request: Request, principal, batch_id: int, body: CorrectionIn):
    return await trace.correct(principal, principal.user_id, batch_id, body)


@bp.post("/api/v1/merchant/batches/<batch_id:int>/item-codes")
@endpoint(summary="Issue item codes (一物一码), serials continuing from the last", roles=MANAGERS,
          body=ItemCodesIn, response=ItemCodesOut, status=201, tags=MTAGS, errors=(404, 409, 422))
async def item_codes(request: Request, principal, batch_id: int, body: ItemCodesIn):
    return await trace.issue_item_codes(principal, batch_id, body.count)


@bp.get("/api/v1/merchant/batches/<batch_id:int>/codes")
@endpoint(summary="The batch's codes by serial (0 = the batch code)", roles=MANAGERS, query=CodesQuery,
          response=list[CodeOut], tags=MTAGS, errors=(404, 422))
async def list_codes(request: Request, principal, batch_id: int, query: CodesQuery):
    return [c.model_dump(mode="json") for c in await trace.list_codes(principal, batch_id, query)]


@bp.get("/api/v1/merchant/batches/<batch_id:int>/labels")
@endpoint(summary="A printable A4 sheet of labels (QR, short URL, serial) — print from the browser",
          roles=MANAGERS, query=LabelsQuery, response_content=HTML, tags=MTAGS, errors=(404, 422))
async def labels(request: Request, principal, batch_id: int, query: LabelsQuery):
    return html(await trace.label_sheet(principal, batch_id, query.first, query.count),
                headers={"Cache-Control": "no-store"})
