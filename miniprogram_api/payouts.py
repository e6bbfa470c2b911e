"""A payee's own money (merchant members their merchants', station staff their stations', a
livestreamer theirs): balances, payouts, the confirmation of a WeChat transfer, and requests to
change the payee details (approved by the office); withdrawal requests (提现申请) the office pays
in a batch, cancellable while pending."""
from sanic import Blueprint, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.payouts import payees, withdrawals
from server.payouts import service as payouts
from server.payouts.schemas import (ConfirmParamsOut, MyPayeeIn, PayeeBalancesOut, PayeeChangeOut, PayeeChangesOut,
                                    PayoutLinesOut, WithdrawalIn, WithdrawalOut, WithdrawalsOut)

bp = Blueprint("mp_payouts", url_prefix="/api/v1/payouts")
PAYEES = (Role.merchant, Role.station_staff, Role.livestreamer)
TAGS = ("payouts",)


@bp.get("/balances")
@endpoint(summary="My balances: settled, paid out, held, available (and my payee details, masked)", roles=PAYEES,
          response=PayeeBalancesOut, tags=TAGS)
async def my_balances(request: Request, principal):
    return {"items": [b.model_dump(mode="json") for b in await payouts.my_balances(principal)]}


@bp.get("/lines")
@endpoint(summary="My payouts, newest first", roles=PAYEES, response=PayoutLinesOut, tags=TAGS)
async def my_lines(request: Request, principal):
    return {"items": [x.model_dump(mode="json") for x in await payouts.my_lines(principal)]}


@bp.get("/lines/<line_id:int>/confirm")
@endpoint(summary="What wx.requestMerchantTransfer needs to take one of my transfers", roles=PAYEES,
          response=ConfirmParamsOut, tags=TAGS, errors=(404, 409))
async def confirm_params(request: Request, principal, line_id: int):
    return await payouts.confirm_params(principal, line_id)


@bp.post("/payee")
@endpoint(summary="Ask for my payee details (my WeChat, or a bank account): pending until the office approves",
          roles=PAYEES, body=MyPayeeIn, response=PayeeChangeOut, status=201, tags=TAGS, errors=(404, 422))
async def request_payee(request: Request, principal, body: MyPayeeIn):
    return await payees.request_own_change(principal, body)


@bp.get("/payee-changes")
@endpoint(summary="My payee change requests, newest first (masked)", roles=PAYEES, response=PayeeChangesOut,
          tags=TAGS)
async def my_changes(request: Request, principal):
    return {"items": [x.model_dump(mode="json") for x in await payees.my_changes(principal)]}


@bp.post("/withdrawals")
@endpoint(summary="Ask to be paid an amount of my available balance (held until the office pays or I cancel)",
          roles=PAYEES, body=WithdrawalIn, response=WithdrawalOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def request_withdrawal(request: Request, principal, body: WithdrawalIn):
    return await withdrawals.request(principal, body)


@bp.get("/withdrawals")
@endpoint(summary="My withdrawal requests, newest first, with their payout's outcome", roles=PAYEES,
          response=WithdrawalsOut, tags=TAGS)
async def my_withdrawals(request: Request, principal):
    return {"items": [x.model_dump(mode="json") for x in await withdrawals.mine(principal)]}


@bp.post("/withdrawals/<request_id:int>/cancel")
@endpoint(summary="Cancel my pending withdrawal request (the money is available again)", roles=PAYEES,
          response=WithdrawalOut, tags=TAGS, errors=(404, 409))
async def cancel_withdrawal(request: Request, principal, request_id: int):
    return await withdrawals.cancel(principal, request_id)
