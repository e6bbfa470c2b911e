"""First-mile collection at the county (村级揽收, #26): the warehouse receives arrived collections
against themselves (no inbound note); the office reads the 农产品上行 figures."""
from sanic import Blueprint, Request

from server.collection import service as collection
from server.collection.schemas import (CollectionOut, CollectionQuery, CollectionStatsOut, ReceiveCollectionIn,
                                       StatsQuery)
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

bp = Blueprint("console_collection", url_prefix="/api/v1/console")
WAREHOUSE = (Role.warehouse,)
OFFICE = (Role.admin, Role.warehouse)
TAGS = ("console: collection",)


@bp.get("/warehouse/collections")
@endpoint(summary="Collections (status=arrived: waiting to be received)", roles=OFFICE, query=CollectionQuery,
          response=Page[CollectionOut], tags=TAGS)
async def collections(request: Request, principal, query: CollectionQuery):
    return await collection.warehouse_collections(query)


@bp.get("/warehouse/collections/<collection_id:int>")
@endpoint(summary="One collection with its hops", roles=OFFICE, response=CollectionOut, tags=TAGS, errors=(404,))
async def get_collection(request: Request, principal, collection_id: int):
    return await collection.warehouse_collection(collection_id)


@bp.post("/warehouse/collections/<collection_id:int>/receive")
@endpoint(summary="Receive an arrived collection: the count becomes sellable stock (a difference needs a reason)",
          roles=WAREHOUSE, body=ReceiveCollectionIn, response=CollectionOut, tags=TAGS, errors=(404, 409, 422))
async def receive(request: Request, principal, collection_id: int, body: ReceiveCollectionIn):
    return await collection.receive(collection_id, body, actor_id=principal.user_id)


@bp.get("/stats/collections")
@endpoint(summary="农产品上行: collected volume and value per village and town, poor villages' share",
          roles=(Role.admin,), query=StatsQuery, response=CollectionStatsOut, tags=TAGS, errors=(422,))
async def figures(request: Request, principal, query: StatsQuery):
    return await collection.stats(query.since, query.until)
