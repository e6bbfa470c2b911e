"""Complaints and reports (投诉举报) for the mini-program: a buyer's complaint about an order, photos,
their own complaints; station staff filing for a villager and answering complaints about their
station; merchants reading and answering complaints about them; anonymous reports from a trace code."""
from sanic import Blueprint, Request
from sanic.exceptions import PayloadTooLarge
from sanic.response import html

from server.complaints import service as complaints
from server.complaints.schemas import (AnswerIn, BuyerComplaintIn, ComplaintOut, ComplaintQuery, ComplaintsPage,
                                       ComplaintSubjectOut, FiledOut, PhotoOut, PublicReportIn,
                                       StationComplaintIn, StationComplaintQuery, SubjectPage)
from server.complaints import pages
from server.kit import audit, runtime
from server.kit.auth import Role
from server.kit.errors import AppError, NotFound, RateLimited, ValidationFailed
from server.kit.http import endpoint, validate
from server.media import read_upload

api = Blueprint("mp_complaints", url_prefix="/api/v1")
pages_bp = Blueprint("mp_complaint_pages")  # /report/{code}: beside the trace page /t/{code}
TAGS = ("complaints",)
STAFF = (Role.station_staff,)
MERCHANT = (Role.merchant,)
HTML = {"text/html": {"schema": {"type": "string"}}}
REPORT_FORM = {"multipart/form-data": {"schema": {"type": "object", "required": ["kind", "text"], "properties": {
    "kind": {"type": "string", "enum": ["counterfeit", "quality", "other"]}, "text": {"type": "string"},
    "phone": {"type": "string"}, "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}
MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@api.post("/complaints/photos")
@endpoint(summary="Upload one complaint photo (JPEG, PNG or WebP; wx.uploadFile); quote its key when "
                  "filing. Anonymous reporters may upload too (limited per network)",
          response=PhotoOut, status=201, tags=TAGS, request_content=MULTIPART, errors=(413, 422, 429))
async def upload_photo(request: Request):
    await complaints.photo_upload_allowed(audit.client_ip(request))
    data, filename = read_upload(request, "file")
    return await complaints.store_photo(data, filename)


@api.post("/complaints")
@endpoint(summary="A buyer complains about one of their orders (linked); the office answers within the "
                  "deadlines and the outcome comes as a subscribe message (scene complaint_filed)",
          auth="user", body=BuyerComplaintIn, response=FiledOut, status=201, tags=TAGS, errors=(404, 422, 429))
async def file_complaint(request: Request, principal, body: BuyerComplaintIn):
    return await complaints.file_by_buyer(principal, body)


@api.get("/complaints")
@endpoint(summary="My complaints, newest first, with their outcome", auth="user", query=ComplaintQuery,
          response=ComplaintsPage, tags=TAGS)
async def my_complaints(request: Request, principal, query: ComplaintQuery):
    return await complaints.my_complaints(principal.user_id, query)


@api.get("/complaints/<complaint_id:int>")
@endpoint(summary="One of my complaints", auth="user", response=ComplaintOut, tags=TAGS, errors=(404,))
async def my_complaint(request: Request, principal, complaint_id: int):
    return await complaints.my_complaint(principal.user_id, complaint_id)


@api.post("/trace/<code:str>/reports")
@endpoint(summary="Anyone reports a product or batch from its trace code (counterfeit, quality, wrong "
                  "origin), no account needed; limited per network and per code; a counterfeit report "
                  "joins the code's counterfeit flag", body=PublicReportIn, response=FiledOut, status=201,
          tags=TAGS, errors=(404, 422, 429))
async def public_report(request: Request, code: str, body: PublicReportIn):
    return await complaints.file_public(code, body, audit.client_ip(request))


# ---- station staff ------------------------------------------------------------------------------
@api.post("/station/<station_id:int>/complaints")
@endpoint(summary="File a complaint for a villager (代为投诉, by phone: the outcome goes by SMS)",
          roles=STAFF, body=StationComplaintIn, response=FiledOut, status=201, tags=TAGS, errors=(404, 422))
async def station_file(request: Request, principal, station_id: int, body: StationComplaintIn):
    return await complaints.file_by_station(principal, station_id, body)


@api.get("/station/<station_id:int>/complaints")
@endpoint(summary="Complaints my station filed (with the villager) and those about my station (without "
                  "the reporter), a page of each (cursor / filed_next, about_cursor / about_next)", roles=STAFF,
          query=StationComplaintQuery, response=dict, tags=TAGS, errors=(404,))
async def station_list(request: Request, principal, station_id: int, query: StationComplaintQuery):
    got = await complaints.station_list(principal, station_id, query, query.about_cursor)
    return {"filed": [c.model_dump(mode="json") for c in got["filed"]], "filed_next": got["filed_next"],
            "about": [c.model_dump(mode="json") for c in got["about"]], "about_next": got["about_next"]}


@api.get("/station/<station_id:int>/complaints/<complaint_id:int>")
@endpoint(summary="One complaint my station filed or that is about it", roles=STAFF,
          response=ComplaintSubjectOut, tags=TAGS, errors=(404,))
async def station_get(request: Request, principal, station_id: int, complaint_id: int):
    return await complaints.station_get(principal, station_id, complaint_id)


@api.post("/station/<station_id:int>/complaints/<complaint_id:int>/answer")
@endpoint(summary="Answer a complaint about my station (until it is resolved)", roles=STAFF, body=AnswerIn,
          response=ComplaintSubjectOut, tags=TAGS, errors=(404, 409))
async def station_answer(request: Request, principal, station_id: int, complaint_id: int, body: AnswerIn):
    return await complaints.station_answer(principal, station_id, complaint_id, body)


# ---- merchants ----------------------------------------------------------------------------------
@api.get("/merchant/complaints")
@endpoint(summary="Complaints about my merchants (never who filed them)", roles=MERCHANT, query=ComplaintQuery,
          response=SubjectPage, tags=TAGS)
async def merchant_list(request: Request, principal, query: ComplaintQuery):
    return await complaints.merchant_list(principal, query)


@api.get("/merchant/complaints/<complaint_id:int>")
@endpoint(summary="One complaint about my merchants", roles=MERCHANT, response=ComplaintSubjectOut, tags=TAGS,
          errors=(404,))
async def merchant_get(request: Request, principal, complaint_id: int):
    return await complaints.merchant_get(principal, complaint_id)


@api.post("/merchant/complaints/<complaint_id:int>/answer")
@endpoint(summary="Answer a complaint about my merchants (until it is resolved)", roles=MERCHANT, body=AnswerIn,
          response=ComplaintSubjectOut, tags=TAGS, errors=(404, 409))
async def merchant_answer(request: Request, principal, complaint_id: int, body: AnswerIn):
    return await complaints.merchant_answer(principal, complaint_id, body)


# ---- the public report page (reached from the trace page /t/{code}) -----------------------------
@pages_bp.get("/report/<code:str>", name="report_page")
@endpoint(summary="The public report form of a trace code (Chinese, no script)", response_content=HTML,
          tags=TAGS, errors=(404,))
async def report_page(request: Request, code: str):
    try:
        code, product = await complaints.report_target(code)
    except NotFound:
        return html(pages.refused("未找到该溯源码，请核对包装上的溯源码。"), status=404, headers=pages.HEADERS)
    return html(pages.form(code, product, max_photos=runtime.settings().complaint_max_photos),
                headers=pages.HEADERS)


def _field_words(exc: ValidationFailed) -> dict[str, str]:
    s = runtime.settings()
    out = {}
    for d in exc.details or [{"field": "text"}]:
        name = str(d.get("field", "")).split(".")[0] if isinstance(d, dict) else "text"
        word = pages.FIELD_WORDS.get(name, "输入有误，请检查。")
        out.setdefault(name, word.format(max=s.complaint_max_photos, mb=s.media_image_max_bytes // (1024 * 1024)))
    return out


@pages_bp.post("/report/<code:str>", name="report_submit")
@endpoint(summary="Submit the public report form (multipart: kind, text, phone, photos); refusals are shown "
                  "on the form with what was typed", request_content=REPORT_FORM, response_content=HTML,
          status=201, tags=TAGS, errors=(404, 413, 422, 429))
async def report_submit(request: Request, code: str):
    raw = request.form or {}
    values = {k: (raw.get(k) or "").strip() for k in ("kind", "text", "phone")}
    files = request.files
    uploads = [(f.body, f.name or "") for f in (files.getlist("photos") or [] if files else [])
               if f.body or f.name]
    s = runtime.settings()
    try:
        code, product = await complaints.report_target(code)
    except NotFound:
        return html(pages.refused("未找到该溯源码，请核对包装上的溯源码。"), status=404, headers=pages.HEADERS)
    try:
        body = validate(PublicReportIn, {k: v for k, v in values.items() if v}, "form")
        filed = await complaints.file_public(code, body, audit.client_ip(request), uploads)
    except RateLimited:
        return html(pages.refused("举报提交过于频繁，请稍后再试。如情况紧急，请拨打县电商办电话。"), status=429,
                    headers=pages.HEADERS)
    except AppError as exc:
        if exc.status not in (413, 422):
            raise
        errors = _field_words(exc) if isinstance(exc, ValidationFailed) or exc.details else {"text": "输入有误。"}
        return html(pages.form(code, product, values=values, errors=errors, max_photos=s.complaint_max_photos,
                               notice="举报未提交，请按提示修改后重新提交（照片需重新选择）。"),
                    status=exc.status, headers=pages.HEADERS)
    return html(pages.done(filed.no), status=201, headers=pages.HEADERS)


@pages_bp.exception(PayloadTooLarge)
async def report_too_large(request: Request, exc: PayloadTooLarge):
    """A form over the server's body limit (a 30 MB photo) is refused from its declared length, before
    it is read: the form again with the refusal beside the photos, not the API's JSON. What was typed
    cannot be kept (the body was never read); nothing is written."""
    try:
        code, product = await complaints.report_target(request.match_info.get("code", ""))
    except NotFound:
        return html(pages.refused("未找到该溯源码，请核对包装上的溯源码。"), status=404, headers=pages.HEADERS)
    s = runtime.settings()
    word = pages.FIELD_WORDS["file"].format(mb=s.media_image_max_bytes // (1024 * 1024))
    return html(pages.form(code, product, errors={"file": word}, max_photos=s.complaint_max_photos,
                           notice="举报未提交：照片太大。请重新填写，并选择较小的照片。"),
                status=413, headers=pages.HEADERS)


bp = Blueprint.group(api, pages_bp)
