"""Admins find users, create operators, grant and revoke roles, and disable accounts."""
from sanic import Blueprint, Request

from server.accounts import console as operators
from server.accounts import service as accounts
from server.accounts.schemas import GrantIn, GrantOut, OperatorIn, UserAdminOut, UserBrief, UserSearchQuery
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

bp = Blueprint("console_accounts", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)


@bp.post("/role-grants")
@endpoint(summary="Grant a role", roles=ADMIN, body=GrantIn, response=GrantOut, status=201,
          tags=("console: accounts",), errors=(404,))
async def grant(request: Request, principal, body: GrantIn):
    return await accounts.grant_role(body.user_id, body.role, station_id=body.station_id,
                                     merchant_id=body.merchant_id, is_head=body.is_head,
                                     granted_by=principal.user_id)


@bp.delete("/role-grants/<grant_id:int>")
@endpoint(summary="Revoke a role grant", roles=ADMIN, status=204, tags=("console: accounts",),
          errors=(409,))
async def revoke(request: Request, principal, grant_id: int):
    await accounts.revoke_grant(grant_id, revoked_by=principal.user_id)


@bp.get("/users/<user_id:int>")
@endpoint(summary="A user with their role grants", roles=ADMIN, response=UserAdminOut,
          tags=("console: accounts",))
async def user_detail(request: Request, principal, user_id: int):
    return await accounts.user_detail(user_id)


@bp.post("/users/<user_id:int>/disable")
@endpoint(summary="Disable an account and revoke its tokens (not one's own: 409)", roles=ADMIN,
          response=UserAdminOut, tags=("console: accounts",), errors=(409,))
async def disable(request: Request, principal, user_id: int):
    return await accounts.set_active(user_id, False, actor_id=principal.user_id)


@bp.post("/users/<user_id:int>/enable")
@endpoint(summary="Re-enable an account", roles=ADMIN, response=UserAdminOut,
          tags=("console: accounts",))
async def enable(request: Request, principal, user_id: int):
    return await accounts.set_active(user_id, True, actor_id=principal.user_id)


@bp.get("/users")
@endpoint(summary="Find users by phone (or its start), nickname (part), openid or id, newest first",
          roles=ADMIN, query=UserSearchQuery, response=Page[UserBrief], tags=("console: accounts",))
async def search(request: Request, principal, query: UserSearchQuery):
    return await operators.search_users(query.q, query.role, query.cursor, query.limit)


@bp.post("/operators")
@endpoint(summary="Create an operator by name and phone (they sign in to /console/ by SMS code)",
          roles=ADMIN, body=OperatorIn, response=UserAdminOut, status=201, tags=("console: accounts",),
          errors=(409,))
async def create_operator(request: Request, principal, body: OperatorIn):
    return await operators.create_operator(body.name, body.phone, actor_id=principal.user_id)
