"""A payee's own settlement statements (结算单): merchant members their merchants', station staff
their stations', a livestreamer theirs; anyone else's is a 404."""
from sanic import Blueprint, HTTPResponse, Request

from server.kit.auth import Role
from server.kit.http import endpoint
from server.kit.schemas import Page
from server.settlement import documents
from server.settlement import service as settlement
from server.settlement.schemas import PDF_CONTENT, XLSX_CONTENT, XLSX_TYPE, StatementDetailOut, StatementOut, StatementsQuery

bp = Blueprint("mp_settlement", url_prefix="/api/v1/statements")
PAYEES = (Role.merchant, Role.station_staff, Role.livestreamer)
TAGS = ("settlement",)


@bp.get("")
@endpoint(summary="My statements, newest first", roles=PAYEES, query=StatementsQuery, response=Page[StatementOut],
          tags=TAGS, errors=(422,))
async def my_statements(request: Request, principal, query: StatementsQuery):
    return await settlement.list_statements(principal, query)


@bp.get("/<statement_id:int>")
@endpoint(summary="One of my statements with its lines", roles=PAYEES, response=StatementDetailOut, tags=TAGS,
          errors=(404,))
async def my_statement(request: Request, principal, statement_id: int):
    return await settlement.get_statement(principal, statement_id)


@bp.get("/<statement_id:int>/xlsx")
@endpoint(summary="One of my statements as an xlsx workbook", roles=PAYEES, response_content=XLSX_CONTENT,
          tags=TAGS, errors=(404,), session_ok=True)
async def my_statement_xlsx(request: Request, principal, statement_id: int):
    name, body = await settlement.statement_xlsx(principal, statement_id)
    return HTTPResponse(body, content_type=XLSX_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/<statement_id:int>/pdf")
@endpoint(summary="One of my statements as a PDF (the printed statement page)", roles=PAYEES,
          response_content=PDF_CONTENT, tags=TAGS, errors=(404, 503), session_ok=True)
async def my_statement_pdf(request: Request, principal, statement_id: int):
    name, body = await documents.statement_pdf(principal, statement_id)
    return HTTPResponse(body, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
