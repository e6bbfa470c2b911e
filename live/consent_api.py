"""Live selling consent over HTTP: a livestreamer proposes (and withdraws), a merchant member accepts
or declines proposals to its merchants, and livestreamers see the live product pool (选品池)."""
from sanic import Blueprint, Request

from server.consent import service as consent
from server.consent.schemas import ConsentOut, ConsentsQuery, DecisionIn, PoolOut, ProposalIn
from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page

_live = Blueprint("live_consent", url_prefix="/api/v1/live")
_merchant = Blueprint("merchant_live_consent", url_prefix="/api/v1/merchant/live-consents")
STREAMER = (Role.livestreamer,)
MERCHANT = (Role.merchant,)
TAGS = ("live: consent",)


@_live.post("/consents")
@endpoint(summary="Propose to sell a merchant's SKU on air (live price, commission, quota, days)", roles=STREAMER,
          body=ProposalIn, response=ConsentOut, status=201, tags=TAGS, errors=(404, 422))
async def propose(request: Request, principal, body: ProposalIn):
    return await consent.propose(principal, body)


@_live.get("/consents")
@endpoint(summary="My proposals and consents, newest first", roles=STREAMER, query=ConsentsQuery,
          response=Page[ConsentOut], tags=TAGS, errors=(422,))
async def mine(request: Request, principal, query: ConsentsQuery):
    return await consent.my_proposals(principal, query)


@_live.post("/consents/<consent_id:int>/withdraw")
@endpoint(summary="Withdraw my proposal or consent", roles=STREAMER, response=ConsentOut, tags=TAGS,
          errors=(404, 409))
async def withdraw(request: Request, principal, consent_id: int):
    return await consent.withdraw(principal, consent_id)


@_live.get("/pool")
@endpoint(summary="The live product pool: products any livestreamer may sell within standard terms",
          roles=STREAMER, response=list[PoolOut], tags=TAGS)
async def pool(request: Request, principal):
    return [x.model_dump(mode="json") for x in await consent.pool()]


@_merchant.get("")
@endpoint(summary="Proposals to my merchants, newest first", roles=MERCHANT, query=ConsentsQuery,
          response=Page[ConsentOut], tags=TAGS, errors=(422,))
async def proposals(request: Request, principal, query: ConsentsQuery):
    return await consent.merchant_proposals(principal, query)


@_merchant.post("/<consent_id:int>/accept")
@endpoint(summary="Accept a proposal: the livestreamer may tie the SKU in within its terms", roles=MERCHANT,
          body=DecisionIn, response=ConsentOut, tags=TAGS, errors=(404, 409, 422))
async def accept(request: Request, principal, consent_id: int, body: DecisionIn):
    return await consent.accept(principal, consent_id, body)


@_merchant.post("/<consent_id:int>/decline")
@endpoint(summary="Decline a proposal (or end an accepted consent for tie-ins to come)", roles=MERCHANT,
          body=DecisionIn, response=ConsentOut, tags=TAGS, errors=(404, 409, 422))
async def decline(request: Request, principal, consent_id: int, body: DecisionIn):
    return await consent.decline(principal, consent_id, body)


bp = Blueprint.group(_live, _merchant)
