"""First-mile collection in the mini-program (村级揽收, #26): station staff record a collection from a
producer their station sells for (代卖) and scan it up village → town → county; the household
(merchant) follows its collections and what sold. Everything is scoped: a station sees only its own
collections, a household only its own (404 otherwise)."""
from sanic import Blueprint, Request

from server.collection import service as collection
from server.collection.schemas import (CollectionIn, CollectionOut, CollectionQuery, CollectionScanIn,
                                       CollectionScanResultOut, OpenBatchOut, OpenBatchQuery, PhotoOut)
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.media import read_upload

bp = Blueprint("mp_collection")
STAFF = (Role.station_staff,)
SCANNERS = (Role.station_staff, Role.warehouse)
HOUSEHOLD = (Role.merchant, Role.station_staff)
TAGS = ("collection",)
ST = "/api/v1/station/<station_id:int>/collections"
MULTIPART = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@bp.post(ST)
@endpoint(summary="Record a collection from a producer the station sells for (揽收登记): opens or adds to a batch",
          roles=STAFF, body=CollectionIn, response=CollectionOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def record(request: Request, principal, station_id: int, body: CollectionIn):
    return await collection.record(principal, station_id, body)


@bp.get(ST)
@endpoint(summary="My station's collections, newest first", roles=STAFF, query=CollectionQuery,
          response=Page[CollectionOut], tags=TAGS)
async def station_list(request: Request, principal, station_id: int, query: CollectionQuery):
    return await collection.station_collections(principal, station_id, query)


@bp.post(ST + "/photos")
@endpoint(summary="Upload a photo of the collected goods (JPEG, PNG, WebP, HEIC); returns its key", roles=STAFF,
          response=PhotoOut, status=201, tags=TAGS, request_content=MULTIPART, errors=(404, 413, 422))
async def photo(request: Request, principal, station_id: int):
    principal.require_station(station_id)  # another station is a 404 before the upload is looked at
    data, filename = read_upload(request, "file")
    return await collection.store_photo(principal, station_id, data, filename)


@bp.get(ST + "/open-batches")
@endpoint(summary="The producer's open, unsold batches a collection may add to", roles=STAFF,
          query=OpenBatchQuery, response=list[OpenBatchOut], tags=TAGS, errors=(404, 422))
async def open_batches(request: Request, principal, station_id: int, query: OpenBatchQuery):
    return [b.model_dump(mode="json") for b in await collection.open_batches(principal, station_id, query.merchant_id,
                                                                           query.sku_id)]


@bp.get(ST + "/<collection_id:int>")
@endpoint(summary="One collection of my station: its hops, receipt and what sold", roles=STAFF,
          response=CollectionOut, tags=TAGS, errors=(404,))
async def station_get(request: Request, principal, station_id: int, collection_id: int):
    return await collection.station_collection(principal, station_id, collection_id)


@bp.post("/api/v1/collections/scans")
@endpoint(summary="Scan a collection on its way up (dispatched, arrived); the same scan twice is one event",
          roles=SCANNERS, body=CollectionScanIn, response=CollectionScanResultOut, tags=TAGS, errors=(404, 409))
async def scan(request: Request, principal, body: CollectionScanIn):
    return await collection.scan(principal, body.label, body.kind, body.station_id)


@bp.get("/api/v1/merchant/merchants/<merchant_id:int>/collections")
@endpoint(summary="The household's collections and their status", roles=HOUSEHOLD, query=CollectionQuery,
          response=Page[CollectionOut], tags=TAGS, errors=(404,))
async def merchant_list(request: Request, principal, merchant_id: int, query: CollectionQuery):
    return await collection.merchant_collections(principal, merchant_id, query)


@bp.get("/api/v1/merchant/merchants/<merchant_id:int>/collections/<collection_id:int>")
@endpoint(summary="One of the household's collections: hops, receipt, what sold (代卖 figures)",
          roles=HOUSEHOLD, response=CollectionOut, tags=TAGS, errors=(404,))
async def merchant_get(request: Request, principal, merchant_id: int, collection_id: int):
    return await collection.merchant_collection(principal, merchant_id, collection_id)
