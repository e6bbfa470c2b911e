"""Statement documents: the payees' names as people know them, and a statement as a PDF (the printed
statement page: HTML rendered here, printed by headless Chromium, server/integrations/chromium.py)."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from tortoise.expressions import RawSQL

from server.integrations import chromium
from server.kit import clock
from server.kit.auth import Principal
from server.kit.db import id_page
from server.kit.money import yuan
from server.kit.schemas import Page
from server.models.accounts import User
from server.models.live import LivestreamerProfile
from server.models.merchants import Merchant
from server.models.settlement import Statement
from server.models.stations import Station
from server.settlement import service as settlement
from server.settlement.schemas import StatementOut, StatementsQuery

_env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                   autoescape=select_autoescape(default=True))
KINDS = {"merchant": "商户", "station": "服务站", "livestreamer": "主播"}


async def payee_names(pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """{(account_type, account_id): name} for statements' payees (a merchant's or station's name, a
    livestreamer's display name or nickname)."""
    ids = {k: [i for t, i in pairs if t == k] for k in KINDS}
    out: dict[tuple[str, int], str] = {}
    # A kind with no payee on the page costs no round trip (most pages list merchants only).
    if ids["merchant"]:
        for mid, name in await Merchant.filter(id__in=ids["merchant"]).values_list("id", "name"):
            out[("merchant", mid)] = name
    if ids["station"]:
        for sid, name in await Station.filter(id__in=ids["station"]).values_list("id", "name"):
            out[("station", sid)] = name
    if ids["livestreamer"]:
        for uid, name in await User.filter(id__in=ids["livestreamer"]).values_list("id", "nickname"):
            out[("livestreamer", uid)] = name or ""
        for uid, name in await LivestreamerProfile.filter(user_id__in=ids["livestreamer"]).values_list(
                "user_id", "display_name"):
            out[("livestreamer", uid)] = name
    return out


def _payee_name_sql() -> RawSQL:
    """payee_names' name of a statement's payee as a subquery of the statement's own row ('' when none)."""
    t = Statement._meta.db_table
    of = f"{t}.account_id"
    return RawSQL(
        f"COALESCE(CASE {t}.account_type"
        f" WHEN 'merchant' THEN (SELECT x.name FROM {Merchant._meta.db_table} x WHERE x.id = {of})"
        f" WHEN 'station' THEN (SELECT x.name FROM {Station._meta.db_table} x WHERE x.id = {of})"
        f" WHEN 'livestreamer' THEN COALESCE("
        f"(SELECT x.display_name FROM {LivestreamerProfile._meta.db_table} x WHERE x.user_id = {of}),"
        f" (SELECT x.nickname FROM {User._meta.db_table} x WHERE x.id = {of})) END, '')")


async def named_statements(principal: Principal, query: StatementsQuery
                           ) -> tuple[Page[StatementOut], dict[tuple[str, int], str]]:
    """settlement.list_statements and payee_names of its payees in one statement (the console's list:
    the names read after the rows were one more event-loop turn under load)."""
    qs = settlement.statements_query(principal, query).annotate(payee_name=_payee_name_sql())
    rows, next_cursor = await id_page(qs, query.cursor, query.limit, newest_first=True)
    return (Page[StatementOut](items=[StatementOut.model_validate(r) for r in rows], next_cursor=next_cursor),
            {(r.account_type, r.account_id): r.payee_name for r in rows})


def _local(t) -> str:
    return t.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else ""


async def statement_html(principal: Principal, statement_id: int) -> str:
    """The printable statement page (self-contained: inline styles, no external files)."""
    st = await settlement.get_statement(principal, statement_id)
    name = (await payee_names({(st.account_type, st.account_id)})).get((st.account_type, st.account_id), "")
    return _env.get_template("statement_print.html").render(
        st=st, title=name or f"{KINDS[st.account_type]} #{st.account_id}", kind=KINDS[st.account_type],
        start=_local(st.period_start), end=_local(st.period_end), printed=_local(clock.now()), yuan=yuan,
        local=_local)


async def statement_pdf(principal: Principal, statement_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of one statement in the principal's scope (404 outside it)."""
    html = await statement_html(principal, statement_id)
    return f"statement-{statement_id}.pdf", await chromium.print_pdf(html)
