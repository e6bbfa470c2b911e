"""Statement pages of the console (结算单, #23): the office sees every payee's (filter by payee kind and
period), a payee its own (merchant members their merchants', station staff their stations', a
livestreamer theirs: the settlement service scopes them); each statement's lines name the order line
and ledger entries they settle; downloads as xlsx and PDF. And the office's fee terms (费率) per
merchant and station, with effective dates."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request

from server.console_web import pickers
from server.console_web.cash import hundredths
from server.console_web.web import ADMIN, Ctx, field_errors, filters, next_url, page, parse
from server.kit import clock
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema
from server.settlement import documents, terms
from server.settlement import service as settlement
from server.settlement.schemas import XLSX_TYPE, FeeTermIn, StatementsQuery

bp = Blueprint("console_web_statements", url_prefix="/console")
PAYEES = (*ADMIN, "merchant", "livestreamer", "station_staff")


class StatementFilter(QuerySchema):
    account_type: Literal["merchant", "station", "livestreamer"] | None = None
    period: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="period end, a date")
    cursor: str | None = Field(None, max_length=200)


@bp.get("/statements")
@page(roles=PAYEES)
async def statement_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, StatementFilter)
    period_end = None
    if f.period:
        try:
            period_end = settlement.parse_period_end(f.period)
        except ValueError:
            errors["period"] = "请输入日期，如 2026-12-07。"
    result, names = await documents.named_statements(ctx.principal, StatementsQuery(
        account_type=f.account_type, period_end=period_end, cursor=f.cursor, limit=20))
    return ctx.render("statements.html", f=f, errors=errors, rows=result.items, names=names, kinds=documents.KINDS,
                      next_href=next_url(result.next_cursor, request))


@bp.get("/statements/<statement_id:int>")
@page(roles=PAYEES)
async def statement_detail(request: Request, ctx: Ctx, statement_id: int):
    st = await settlement.get_statement(ctx.principal, statement_id)
    names = await documents.payee_names({(st.account_type, st.account_id)})
    return ctx.render("statement.html", st=st, name=names.get((st.account_type, st.account_id), ""),
                      kinds=documents.KINDS)


def _download(name: str, body: bytes, content_type: str) -> HTTPResponse:
    return HTTPResponse(body, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/statements/<statement_id:int>/xlsx")
@page(roles=PAYEES)
async def statement_xlsx(request: Request, ctx: Ctx, statement_id: int):
    return _download(*await settlement.statement_xlsx(ctx.principal, statement_id), XLSX_TYPE)


@bp.get("/statements/<statement_id:int>/pdf")
@page(roles=PAYEES)
async def statement_pdf(request: Request, ctx: Ctx, statement_id: int):
    return _download(*await documents.statement_pdf(ctx.principal, statement_id), "application/pdf")


# ---- fee terms (the office) -----------------------------------------------------------------------
PARTY_KINDS = {"merchant": "商户（平台服务费）", "station": "服务站（站点服务费）"}
TERM_HINTS = {"fee": "请填写 0–100 之间的百分比（最多两位小数），如 5 表示 5%。",
              "effective_from": "请填写生效时间（北京时间，不早于现在），留空表示立即生效。",
              "note": "备注最多 200 个字。"}


class TermsFilter(QuerySchema):
    party_type: Literal["merchant", "station"] = "merchant"
    party: str | None = Field(None, max_length=64)


async def _terms_page(ctx: Ctx, f: TermsFilter, errors: dict, form: dict | None = None,
                      form_errors: dict | None = None, notice: str = ""):
    found = None
    if f.party and "party" not in errors:
        try:
            pid = await (pickers.merchant if f.party_type == "merchant" else pickers.station)(f.party, "party")
            found = await terms.list_terms(f.party_type, pid)
        except ValidationFailed as exc:
            errors = {**errors, **field_errors(exc)}
    return ctx.render("fee_terms.html", f=f, errors=errors, found=found, kinds=PARTY_KINDS, form=form or {},
                      form_errors=form_errors or {}, notice=notice)


@bp.get("/fee-terms")
@page()
async def fee_terms(request: Request, ctx: Ctx):
    f, errors = filters(ctx, TermsFilter)
    return await _terms_page(ctx, f, errors)


def _local_time(text: str) -> str | None:
    """A datetime-local value (Asia/Shanghai) as an aware ISO time; blank: now."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=clock.SHANGHAI).isoformat()
    except ValueError:
        raise ValidationFailed.field("effective_from", TERM_HINTS["effective_from"]) from None


@bp.post("/fee-terms")
@page()
async def fee_term_add(request: Request, ctx: Ctx):
    form = ctx.form()
    f = TermsFilter(party_type=form.get("party_type") if form.get("party_type") in PARTY_KINDS else "merchant",
                    party=form.get("party", "")[:64] or None)
    try:
        pid = await (pickers.merchant if f.party_type == "merchant" else pickers.station)(f.party, "party")
        body = parse(FeeTermIn, {"party_type": f.party_type, "party_id": str(pid), "note": form.get("note", ""),
                                 **hundredths(form, "fee", "fee_bp", TERM_HINTS["fee"]),
                                 **({"effective_from": t} if (t := _local_time(form.get("effective_from", ""))) else {})})
        term = await terms.set_term(body, actor_id=ctx.user_id)
    except ValidationFailed as exc:
        errors = {{"fee_bp": "fee"}.get(k, k): v for k, v in field_errors(exc, {**TERM_HINTS, "fee_bp": TERM_HINTS["fee"]}).items()}
        return await _terms_page(ctx, f, {}, form, errors)
    return await _terms_page(ctx, f, {}, notice=f"已设置：{term.fee_bp / 100:.2f}%，自 "
                                               f"{term.effective_from.astimezone(clock.SHANGHAI):%Y-%m-%d %H:%M} 起生效。")
