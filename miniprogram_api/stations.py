"""Consumers: stations near a point, one station, and the buyer's own pickup card."""
from sanic import Blueprint, Request

from server.kit.http import endpoint
from server.stations import network
from server.stations import service as stations
from server.stations.schemas import BuyerPickupOut, NearbyQuery, PublicStationOut

bp = Blueprint("mp_stations", url_prefix="/api/v1")
TAGS = ("stations",)


@bp.get("/stations/nearby")
@endpoint(summary="Active stations near a point, nearest first", query=NearbyQuery,
          response=list[PublicStationOut], tags=TAGS)
async def nearby(request: Request, query: NearbyQuery):
    return [s.model_dump(mode="json") for s in await network.nearby(query)]


@bp.get("/stations/<station_id:int>")
@endpoint(summary="One active station", response=PublicStationOut, tags=TAGS)
async def detail(request: Request, station_id: int):
    return await network.public_station(station_id)


@bp.get("/orders/<order_id:int>/pickup")
@endpoint(summary="My pickup code, QR payload, station and deadline for an order", auth="user",
          response=BuyerPickupOut, tags=TAGS)
async def my_pickup(request: Request, principal, order_id: int):
    return await stations.buyer_pickup(principal, order_id)
