"""The office's settlement desk: fee terms per merchant and station, the settlement run, and every
payee's statements (admin, audited)."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.settlement import documents
from server.settlement import service as settlement
from server.settlement import terms
from server.settlement.schemas import (PDF_CONTENT, XLSX_CONTENT, XLSX_TYPE, FeeTermIn, FeeTermOut, FeeTermsOut,
                                       FeeTermsQuery, SettleIn, SettleOut, StatementDetailOut, StatementOut, StatementsQuery)

bp = Blueprint("console_settlement", url_prefix="/api/v1/console")
ADMIN = (Role.admin,)
TAGS = ("console: settlement",)


@bp.post("/fee-terms")
@endpoint(summary="Set a merchant's platform fee or a station's service fee from a date (now or later)",
          roles=ADMIN, body=FeeTermIn, response=FeeTermOut, status=201, tags=TAGS, errors=(404, 409, 422))
async def set_term(request: Request, principal, body: FeeTermIn):
    return await terms.set_term(body, actor_id=principal.user_id)


@bp.get("/fee-terms")
@endpoint(summary="A merchant's or station's fee terms and the fee in force now", roles=ADMIN,
          query=FeeTermsQuery, response=FeeTermsOut, tags=TAGS, errors=(404, 422))
async def list_terms(request: Request, principal, query: FeeTermsQuery):
    return await terms.list_terms(query.party_type, query.party_id)


@bp.post("/settlement/run")
@endpoint(summary="Run the settlement of a period (idempotent, audited; default: the last ended period)", roles=ADMIN,
          body=SettleIn, response=SettleOut, tags=TAGS, errors=(422,))
async def run(request: Request, principal, body: SettleIn):
    return await settlement.run(body.period_end, actor_id=principal.user_id)


@bp.get("/settlement/statements")
@endpoint(summary="Every payee's statements, newest first", roles=ADMIN, query=StatementsQuery,
          response=Page[StatementOut], tags=TAGS, errors=(422,))
async def statements(request: Request, principal, query: StatementsQuery):
    return await settlement.list_statements(principal, query)


@bp.get("/settlement/statements/<statement_id:int>")
@endpoint(summary="A statement with its lines (each traceable to its order line and ledger entries)",
          roles=ADMIN, response=StatementDetailOut, tags=TAGS, errors=(404,))
async def statement(request: Request, principal, statement_id: int):
    return await settlement.get_statement(principal, statement_id)


@bp.get("/settlement/statements/<statement_id:int>/xlsx")
@endpoint(summary="A statement as an xlsx workbook", roles=ADMIN, response_content=XLSX_CONTENT, tags=TAGS,
          errors=(404,), session_ok=True)
async def statement_xlsx(request: Request, principal, statement_id: int):
    name, body = await settlement.statement_xlsx(principal, statement_id)
    return HTTPResponse(body, content_type=XLSX_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/settlement/statements/<statement_id:int>/pdf")
@endpoint(summary="A statement as a PDF (the printed statement page)", roles=ADMIN, response_content=PDF_CONTENT,
          tags=TAGS, errors=(404, 503), session_ok=True)
async def statement_pdf(request: Request, principal, statement_id: int):
    name, body = await documents.statement_pdf(principal, statement_id)
    return HTTPResponse(body, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
