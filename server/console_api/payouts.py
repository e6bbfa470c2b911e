"""The office's payout desk: payee details and their pending changes (maker–checker), balances due,
payout batches (prepare, approve or reject by another user, bank file out, bank result in)."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.media.upload import read_upload
from server.payouts import bank, payees, withdrawals
from server.payouts import service as payouts
from server.payouts.schemas import (BalanceOut, BatchDetailOut, BatchesQuery, BatchIn, BatchOut, ChangesQuery,
                                    DecideIn, ImportResultOut, PayeeBalancesOut, PayeeChangeOut, PayeeIn,
                                    WithdrawalOut, WithdrawalRejectIn, WithdrawalsOut)
from server.settlement.schemas import XLSX_CONTENT, XLSX_TYPE

bp = Blueprint("console_payouts", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: payouts",)
SHEET = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "the bank's result file (.xlsx)"}}}}}


@bp.post("/payee-changes")
@endpoint(summary="Enter a payee's new details (pending until another office user approves; audited)",
          roles=ADMIN, body=PayeeIn, response=PayeeChangeOut, status=201, tags=TAGS, errors=(404, 422))
async def request_change(request: Request, principal, body: PayeeIn):
    return await payees.request_change(body, actor_id=principal.user_id)


@bp.get("/payee-changes")
@endpoint(summary="Payee changes (default: pending), masked, newest first", roles=ADMIN, query=ChangesQuery,
          response=Page[PayeeChangeOut], tags=TAGS, errors=(422,))
async def list_changes(request: Request, principal, query: ChangesQuery):
    return await payees.list_changes(query)


@bp.get("/payee-changes/<change_id:int>")
@endpoint(summary="One payee change in full, to check it before deciding", roles=ADMIN, response=PayeeChangeOut,
          tags=TAGS, errors=(404,))
async def get_change(request: Request, principal, change_id: int):
    return await payees.get_change(change_id)


@bp.post("/payee-changes/<change_id:int>/<action:approve|reject>")
@endpoint(summary="Approve or reject a pending payee change (never one's own; audited)", roles=ADMIN, body=DecideIn,
          response=PayeeChangeOut, tags=TAGS, errors=(404, 409))
async def decide_change(request: Request, principal, change_id: int, action: str, body: DecideIn):
    return await payees.decide(change_id, approve=action == "approve", actor_id=principal.user_id, note=body.note)


@bp.get("/payouts/due")
@endpoint(summary="Payees with details in force and a settled, unpaid balance", roles=ADMIN,
          response=PayeeBalancesOut, tags=TAGS)
async def due(request: Request, principal):
    return {"items": [b.model_dump(mode="json") for b in await payouts.due()]}


@bp.get("/payouts/withdrawals")
@endpoint(summary="Pending withdrawal requests of payees, oldest first (prepare a batch with their request_ids)",
          roles=ADMIN, response=WithdrawalsOut, tags=TAGS)
async def pending_withdrawals(request: Request, principal):
    return {"items": [x.model_dump(mode="json") for x in await withdrawals.pending()]}


@bp.post("/payouts/withdrawals/<request_id:int>/reject")
@endpoint(summary="Reject a pending withdrawal request with a reason the payee reads (the money is available "
                  "again; audited)", roles=ADMIN, body=WithdrawalRejectIn, response=WithdrawalOut, tags=TAGS,
          errors=(404, 409, 422))
async def reject_withdrawal(request: Request, principal, request_id: int, body: WithdrawalRejectIn):
    return await withdrawals.reject(principal.user_id, request_id, body)


@bp.get("/payouts/balances/<account_type:merchant|station|livestreamer>/<account_id:int>")
@endpoint(summary="One payee's balance: settled, paid, held, available", roles=ADMIN, response=BalanceOut, tags=TAGS)
async def balance(request: Request, principal, account_type: str, account_id: int):
    return await payouts.balance(account_type, account_id)


@bp.post("/payout-batches")
@endpoint(summary="Prepare a payout batch (maker): amounts held out of the balances at once", roles=ADMIN,
          body=BatchIn, response=BatchDetailOut, status=201, tags=TAGS, errors=(409, 422))
async def prepare(request: Request, principal, body: BatchIn):
    return await payouts.prepare(body, actor_id=principal.user_id)


@bp.get("/payout-batches")
@endpoint(summary="Payout batches, newest first", roles=ADMIN, query=BatchesQuery, response=Page[BatchOut],
          tags=TAGS, errors=(422,))
async def batches(request: Request, principal, query: BatchesQuery):
    return await payouts.list_batches(query)


@bp.get("/payout-batches/<batch_id:int>")
@endpoint(summary="A payout batch with each line's outcome", roles=ADMIN, response=BatchDetailOut, tags=TAGS,
          errors=(404,))
async def batch(request: Request, principal, batch_id: int):
    return await payouts.get_batch(batch_id)


@bp.post("/payout-batches/<batch_id:int>/<action:approve|reject>")
@endpoint(summary="Approve (money goes out) or reject (money back) a batch: never one's own (checker; audited)",
          roles=ADMIN, body=DecideIn, response=BatchDetailOut, tags=TAGS, errors=(404, 409))
async def decide(request: Request, principal, batch_id: int, action: str, body: DecideIn):
    return await payouts.decide(batch_id, approve=action == "approve", actor_id=principal.user_id, note=body.note)


@bp.get("/payout-batches/<batch_id:int>/xlsx")
@endpoint(summary="An approved bank batch as the bank's xlsx (the configured column template)", roles=ADMIN,
          response_content=XLSX_CONTENT, tags=TAGS, errors=(404, 409), session_ok=True)
async def export(request: Request, principal, batch_id: int):
    name, body = await bank.export_xlsx(batch_id, actor_id=principal.user_id)
    return HTTPResponse(body, content_type=XLSX_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/payout-batches/<batch_id:int>/result")
@endpoint(summary="Import the bank's result file: each line's outcome, all or nothing", roles=ADMIN,
          request_content=SHEET, response=ImportResultOut, tags=TAGS, errors=(404, 409, 422))
async def import_result(request: Request, principal, batch_id: int):
    data, _ = read_upload(request)
    return await bank.import_result(batch_id, data, actor_id=principal.user_id)
