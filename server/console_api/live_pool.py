"""The office's live product pool (选品池): products whose merchants agreed to standard live terms."""
from sanic import Blueprint, Request

from server.consent import service as consent
from server.consent.schemas import PoolIn, PoolOut
from server.kit.auth import Role
from server.kit.http import endpoint

bp = Blueprint("console_live_pool", url_prefix="/api/v1/console/live-pool")
ADMIN = (Role.admin,)
TAGS = ("console: live",)


@bp.get("")
@endpoint(summary="The pool's products, newest first", roles=ADMIN, response=list[PoolOut], tags=TAGS)
async def pool(request: Request, principal):
    return [x.model_dump(mode="json") for x in await consent.pool()]


@bp.post("")
@endpoint(summary="Put a product in the pool (or change its standard terms); audited", roles=ADMIN, body=PoolIn,
          response=PoolOut, status=201, tags=TAGS, errors=(422,))
async def add(request: Request, principal, body: PoolIn):
    return await consent.pool_add(body, actor_id=principal.user_id)


@bp.post("/<pool_id:int>/remove")
@endpoint(summary="Take a product out of the pool (new tie-ins then need a consent)", roles=ADMIN,
          response=PoolOut, tags=TAGS, errors=(404,))
async def remove(request: Request, principal, pool_id: int):
    return await consent.pool_remove(pool_id, actor_id=principal.user_id)
