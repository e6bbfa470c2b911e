"""Station staff (服务站工作人员): workspace, receiving parcels, verifying pickups (核销)."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.stations import service as stations
from server.stations.schemas import PickupListQuery, PickupOut, ReceiveIn, VerifyIn, VerifyOut, WorkspaceOut

bp = Blueprint("mp_station_staff", url_prefix="/api/v1/station/<station_id:int>")
STAFF = (Role.station_staff,)
TAGS = ("station staff",)


@bp.get("/workspace")
@endpoint(summary="Today at my station: arrivals, ready and overdue pickups, verifications, cash, fees",
          roles=STAFF, response=WorkspaceOut, tags=TAGS)
async def workspace(request: Request, principal, station_id: int):
    return await stations.workspace(principal, station_id)


@bp.post("/receive")
@endpoint(summary="Scan a pickup order's parcel in (到站): code issued, buyer notified; idempotent",
          roles=STAFF, body=ReceiveIn, response=PickupOut, tags=TAGS, errors=(409,))
async def receive(request: Request, principal, station_id: int, body: ReceiveIn):
    return await stations.receive_by_order_no(principal, station_id, body.order_no)


@bp.post("/verify")
@endpoint(summary="Verify a pickup by code or QR (核销): picked up once; wrong codes are limited",
          roles=STAFF, body=VerifyIn, response=VerifyOut, tags=TAGS, errors=(400, 409, 423, 429))
async def verify(request: Request, principal, station_id: int, body: VerifyIn):
    return await stations.verify(principal, station_id, body)


@bp.get("/pickups")
@endpoint(summary="My station's pickups by state (ready, overdue, picked_up, returned, arrived_today)",
          roles=STAFF, query=PickupListQuery, response=Page[PickupOut], tags=TAGS)
async def pickups(request: Request, principal, station_id: int, query: PickupListQuery):
    return await stations.list_pickups(principal, station_id, query)


@bp.get("/pickups/<pickup_id:int>")
@endpoint(summary="One pickup at my station", roles=STAFF, response=PickupOut, tags=TAGS)
async def pickup(request: Request, principal, station_id: int, pickup_id: int):
    return await stations.get_pickup(principal, station_id, pickup_id)
