"""County office: the station network, coverage numbers, guessing alerts and pickup locks."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.media.upload import read_upload
from server.stations import importer, network
from server.stations import service as stations
from server.stations import staff
from server.stations.schemas import (AlertOut, AlertQuery, CoverageOut, HeadIn, StaffOut, StationIn, StationListQuery,
                                     StationOut, StationPatch)

bp = Blueprint("console_stations", url_prefix="/api/v1/console")
SHEET = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "a .csv (UTF-8 or GBK) or .xlsx sheet"}}}}}
ADMIN = (Role.admin,)
TAGS = ("console: stations",)


@bp.post("/stations")
@endpoint(summary="Add a station (county / town / village)", roles=ADMIN, body=StationIn, response=StationOut,
          status=201, tags=TAGS, errors=(409,))
async def create(request: Request, principal, body: StationIn):
    return await network.create_station(body, actor_id=principal.user_id)


@bp.post("/stations/import")
@endpoint(summary="Check a station sheet (CSV/xlsx) without writing: every row's problems; a clean one gets a token",
          roles=ADMIN, request_content=SHEET, response=importer.ImportReport, tags=TAGS, errors=(422,))
async def import_check(request: Request, principal):
    data, name = read_upload(request)
    return await importer.dry_run(name, data)


@bp.post("/stations/import/<token:str>/apply")
@endpoint(summary="Write a checked sheet: all its stations in one transaction, or none", roles=ADMIN,
          response=importer.ImportReport, tags=TAGS, errors=(409, 410, 422))
async def import_apply(request: Request, principal, token: str):
    return await importer.apply(token, actor_id=principal.user_id)


@bp.get("/stations")
@endpoint(summary="List stations", roles=ADMIN, query=StationListQuery, response=Page[StationOut], tags=TAGS)
async def list_(request: Request, principal, query: StationListQuery):
    return await network.list_stations(query)


@bp.get("/stations/<station_id:int>")
@endpoint(summary="One station", roles=ADMIN, response=StationOut, tags=TAGS)
async def detail(request: Request, principal, station_id: int):
    return await network.get_station(station_id)


@bp.patch("/stations/<station_id:int>")
@endpoint(summary="Change a station (details, parent, active/suspended)", roles=ADMIN, body=StationPatch,
          response=StationOut, tags=TAGS, errors=(404, 409, 422))
async def update(request: Request, principal, station_id: int, body: StationPatch):
    return await network.update_station(station_id, body, actor_id=principal.user_id)


@bp.post("/stations/<station_id:int>/unlock-pickups")
@endpoint(summary="Lift a station's pickup lock after code guessing", roles=ADMIN, response=StationOut,
          tags=TAGS)
async def unlock(request: Request, principal, station_id: int):
    return await stations.unlock_pickups(station_id, actor_id=principal.user_id)


@bp.get("/station-coverage")
@endpoint(summary="Coverage: stations by level and town, villages and poor villages covered", roles=ADMIN,
          response=CoverageOut, tags=TAGS)
async def coverage(request: Request, principal):
    return await network.coverage()


@bp.get("/station-alerts")
@endpoint(summary="Station alerts (e.g. pickup-code guessing), newest first", roles=ADMIN, query=AlertQuery,
          response=Page[AlertOut], tags=TAGS)
async def alerts(request: Request, principal, query: AlertQuery):
    return await stations.list_alerts(query)


@bp.post("/station-alerts/<alert_id:int>/acknowledge")
@endpoint(summary="Acknowledge an alert", roles=ADMIN, response=AlertOut, tags=TAGS)
async def acknowledge(request: Request, principal, alert_id: int):
    return await stations.acknowledge_alert(alert_id, actor_id=principal.user_id)


@bp.get("/stations/<station_id:int>/staff")
@endpoint(summary="A station's staff, the head first", roles=ADMIN, response=list[StaffOut], tags=TAGS)
async def station_staff(request: Request, principal, station_id: int):
    return [s.model_dump(mode="json") for s in await staff.station_staff(station_id)]


@bp.put("/stations/<station_id:int>/head")
@endpoint(summary="Name the station head (站长); the previous head stays staff", roles=ADMIN, body=HeadIn,
          response=list[StaffOut], tags=TAGS)
async def set_head(request: Request, principal, station_id: int, body: HeadIn):
    return [s.model_dump(mode="json") for s in await staff.set_head(station_id, body.user_id,
                                                                     actor_id=principal.user_id)]
