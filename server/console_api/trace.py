"""County office (县电商办) traceability: every batch, where it went (去向), recalls and their report,
counterfeit suspicion flags and scan records."""
from sanic import Blueprint, Request
from sanic.response import html

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.trace import flags, recall
from server.trace import service as trace
from server.trace.schemas import (BatchBrief, BatchOut, BatchQuery, CorrectionIn, DestinationsOut, FlagOut, FlagQuery,
                                  FlagResolveIn, LabelsQuery, RecallIn, RecallOut, ScanOut)

bp = Blueprint("console_trace", url_prefix="/api/v1/console/trace")
ADMIN = (Role.admin,)
TAGS = ("console: trace",)


@bp.get("/batches")
@endpoint(summary="Batches, newest first (filter by merchant, product, status)", roles=ADMIN, query=BatchQuery,
          response=Page[BatchBrief], tags=TAGS, errors=(422,))
async def batches(request: Request, principal, query: BatchQuery):
    return await trace.list_batches(None, query)


@bp.get("/batches/<batch_id:int>")
@endpoint(summary="One batch with its full history (steps, inspections, corrections)", roles=ADMIN,
          response=BatchOut, tags=TAGS, errors=(404,))
async def batch(request: Request, principal, batch_id: int):
    return await trace.get_batch(None, batch_id)


@bp.post("/batches/<batch_id:int>/corrections")
@endpoint(summary="Append a correction as the office (who and why are kept)", roles=ADMIN, body=CorrectionIn,
          response=BatchOut, status=201, tags=TAGS, errors=(404, 422))
async def correct(request: Request, principal, batch_id: int, body: CorrectionIn):
    return await trace.correct(None, principal.user_id, batch_id, body)


@bp.get("/batches/<batch_id:int>/destinations")
@endpoint(summary="Where the batch went: every order, parcel, station and buyer that received it",
          roles=ADMIN, response=DestinationsOut, tags=TAGS, errors=(404,))
async def destinations(request: Request, principal, batch_id: int):
    return await recall.destinations(batch_id)


@bp.get("/batches/<batch_id:int>/labels")
@endpoint(summary="A printable label sheet of the batch's codes", roles=ADMIN, query=LabelsQuery,
          response_content={"text/html": {"schema": {"type": "string"}}}, tags=TAGS, errors=(404, 422),
          session_ok=True)
async def labels(request: Request, principal, batch_id: int, query: LabelsQuery):
    return html(await trace.label_sheet(None, batch_id, query.first, query.count), headers={"Cache-Control": "no-store"})


@bp.post("/batches/<batch_id:int>/recall")
@endpoint(summary="Recall a batch: off sale at once (catalogue and live quotas), buyers notified, parcels "
                  "not yet delivered stopped; returns the recall report", roles=ADMIN, body=RecallIn,
          response=RecallOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def recall_batch(request: Request, principal, batch_id: int, body: RecallIn):
    return await recall.recall(principal.user_id, batch_id, body.reason, unpicked=body.unpicked)


@bp.get("/batches/<batch_id:int>/recall")
@endpoint(summary="The recall report of a batch: who was reached, which parcels were stopped", roles=ADMIN,
          response=RecallOut, tags=TAGS, errors=(404,))
async def recall_report(request: Request, principal, batch_id: int):
    return await recall.recall_of_batch(batch_id)


@bp.get("/flags")
@endpoint(summary="Possible counterfeits (疑似假冒): item codes scanned too often or far apart", roles=ADMIN,
          query=FlagQuery, response=Page[FlagOut], tags=TAGS, errors=(422,))
async def list_flags(request: Request, principal, query: FlagQuery):
    return await flags.list_flags(query)


@bp.post("/flags/<flag_id:int>/resolve")
@endpoint(summary="Dismiss or confirm a counterfeit flag", roles=ADMIN, body=FlagResolveIn, response=FlagOut,
          tags=TAGS, errors=(404, 409, 422))
async def resolve_flag(request: Request, principal, flag_id: int, body: FlagResolveIn):
    return await flags.resolve(principal.user_id, flag_id, body)


@bp.get("/codes/<code:str>/scans")
@endpoint(summary="The latest scans of a code (coarse place and time)", roles=ADMIN, response=list[ScanOut],
          tags=TAGS, errors=(404,))
async def scans(request: Request, principal, code: str):
    return [s.model_dump(mode="json") for s in await flags.scans(code)]
