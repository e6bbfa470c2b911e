"""Transfer scans by station staff (and warehouse operators) in the mini-program: dispatched,
arrived, handed over, out for delivery, delivered with the buyer's code, returns; a parcel's
timeline. Station staff scan only at their own stations (404 otherwise)."""
from sanic import Blueprint, Request

from server.collection import service as collection
from server.collection.schemas import CollectionScanResultOut
from server.fulfillment import scans
from server.fulfillment.schemas import DeliverIn, ReturnIn, ScanIn, ScanResultOut, TimelineOut
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("mp_station_scans", url_prefix="/api/v1/logistics")
SCANNERS = (Role.station_staff, Role.warehouse)
TAGS = ("logistics",)


@bp.post("/scans")
@endpoint(summary="Scan a parcel (or a first-mile collection label, CL…) at a station (the same scan twice is "
                  "one event)", roles=SCANNERS,
          body=ScanIn, response=ScanResultOut | CollectionScanResultOut, tags=TAGS, errors=(404, 409))
async def scan(request: Request, principal, body: ScanIn):
    return await collection.scan_parcel_or_collection(principal, body.label, body.kind, body.station_id)


@bp.post("/deliveries")
@endpoint(summary="Home delivery done: the buyer's proof-of-delivery code", roles=SCANNERS, body=DeliverIn,
          response=ScanResultOut, tags=TAGS, errors=(404, 409, 429))
async def deliver(request: Request, principal, body: DeliverIn):
    return await scans.deliver(principal, body.label, body.station_id, body.code)


@bp.post("/returns")
@endpoint(summary="Send a parcel back to the county warehouse (uncollected, refused ...)", roles=SCANNERS,
          body=ReturnIn, response=ScanResultOut, tags=TAGS, errors=(404, 409))
async def start_return(request: Request, principal, body: ReturnIn):
    return await scans.request_return(principal, body.label, body.station_id, body.reason)


@bp.get("/parcels/<label:str>/timeline")
@endpoint(summary="A parcel's transfer record, first scan to last", roles=SCANNERS, response=TimelineOut,
          tags=TAGS, errors=(404,))
async def timeline(request: Request, principal, label: str):
    return await scans.timeline(principal, label)
